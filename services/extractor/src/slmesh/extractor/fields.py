"""A schema's properties read as fields: what type each takes, and what its value looks like.

The extractor never asks a model to write a value it can find by its shape, so each
field is given a *kind* (a date, an amount, an IBAN, a person's name, ...) from its
type, format, name and description; the kind says which spans of the document can
be its value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

Kind = Literal[
    "date",
    "amount",
    "currency",
    "iban",
    "postcode",
    "country",
    "email",
    "phone",
    "card_last4",
    "identifier",
    "organisation",
    "person",
    "place",
    "number",
    "boolean",
    "choice",
    "text",
]

# Words of a field's name or description that say what its value looks like, in the
# order they are tried: the first kind with a word present wins ("customer_name" is a
# person before it is anything a customer has; "account_number" an identifier before
# a number).
_KIND_WORDS: Final[tuple[tuple[Kind, tuple[str, ...]], ...]] = (
    ("iban", ("iban",)),
    ("card_last4", ("last4", "last_4", "last four", "card ending", "last digits")),
    ("email", ("email", "e-mail", "mail address")),
    ("phone", ("phone", "telephone", "mobile", "fax")),
    ("postcode", ("postcode", "postal", "zip", "plz")),
    ("currency", ("currency", "4217")),
    ("country", ("country",)),
    ("date", ("date", "day", "deadline", "period_start", "period_end", "when", "birthday")),
    (
        "identifier",
        ("number", "_no", "ref", "reference", "code", "id", "account", "contract", "policy"),
    ),
    (
        "organisation",
        (
            "supplier", "company", "merchant", "vendor", "seller", "sender", "shop", "store",
            "issuer", "creditor", "payee", "provider", "biller", "organisation",
            "organization", "employer", "bank", "firm", "business", "retailer",
        ),
    ),
    (
        "person",
        (
            "name", "person", "people", "customer", "client", "holder", "recipient",
            "addressee", "signatory", "signer", "tenant", "patient", "employee", "author",
        ),
    ),
    ("place", ("place", "city", "town", "location", "address", "where")),
    (
        "amount",
        ("amount", "total", "price", "cost", "sum", "fee", "balance", "owed", "paid", "charge"),
    ),
)  # fmt: skip

_WORDS: Final = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class FieldSpec:
    """One property of the target schema, as the extractor uses it."""

    name: str
    schema: dict[str, Any]
    types: frozenset[str]
    nullable: bool
    kind: Kind
    # A list of values (of `kind`) rather than one value.
    many: bool = False
    choices: tuple[Any, ...] = ()
    date_format: bool = False
    description: str = ""
    words: frozenset[str] = field(default_factory=frozenset)

    @property
    def as_written(self) -> bool:
        """Whether the schema asks for the value as the document writes it."""
        return "as written" in self.description.lower() or "as the text writes" in (
            self.description.lower()
        )

    @property
    def phrase(self) -> str:
        """How a question names the field: its description, else its name in words."""
        return self.description or " ".join(self.name.replace("-", "_").split("_"))


def _types(schema: dict[str, Any]) -> frozenset[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(t for t in declared if isinstance(t, str))
    if "enum" in schema:
        return frozenset(_json_type(v) for v in schema["enum"])
    return frozenset({"string"})


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _kind_from_words(text: str) -> Kind | None:
    spaced = " " + " ".join(_WORDS.findall(text)) + " "
    joined = text.lower()
    for kind, cues in _KIND_WORDS:
        for cue in cues:
            if cue.startswith("_"):
                if joined.endswith(cue) or f"{cue}_" in joined:
                    return kind
            elif f" {cue} " in spaced or (cue in joined and "_" in cue) or f" {cue}s " in spaced:
                return kind
    return None


def _kind(name: str, schema: dict[str, Any], types: frozenset[str], description: str) -> Kind:
    if "enum" in schema:
        return "choice"
    if schema.get("format") in ("date", "date-time"):
        return "date"
    if schema.get("format") == "email":
        return "email"
    value_types = types - {"null"}
    if value_types == {"boolean"}:
        return "boolean"
    # The name decides before the description: "iban" described as "the account it is
    # paid from" is still an IBAN.
    named = _kind_from_words(name.replace("-", "_").replace("_", " ") + " " + name.lower())
    described = _kind_from_words(description)
    kind = named or described
    if value_types and value_types <= {"number", "integer"}:
        if kind in ("amount", "card_last4", "postcode", "identifier", "phone"):
            return kind if kind != "identifier" else "number"
        return "amount" if "number" in value_types and kind != "date" else "number"
    if kind == "amount" and "string" in value_types:
        return "amount"
    return kind or "text"


def read_field(name: str, schema: Any) -> FieldSpec:
    node: dict[str, Any] = schema if isinstance(schema, dict) else {}
    types = _types(node)
    description = str(node.get("description") or "")[:200]
    many = "array" in types
    target = node
    if many:
        items = node.get("items")
        target = items if isinstance(items, dict) else {"type": "string"}
        types = _types(target) | (types & {"null"}) | {"array"}
    item_types = _types(target)
    kind = _kind(name, target, item_types, description)
    choices = tuple(target.get("enum") or ())
    words = frozenset(_WORDS.findall(f"{name.replace('_', ' ')} {description}".lower()))
    return FieldSpec(
        name=name,
        schema=node,
        types=types,
        nullable="null" in types or (not many and "null" in item_types),
        kind=kind,
        many=many,
        choices=choices,
        date_format=target.get("format") in ("date", "date-time"),
        description=description,
        words=words,
    )


def read_fields(schema: dict[str, Any]) -> list[FieldSpec]:
    properties = schema.get("properties") or {}
    return [read_field(name, sub) for name, sub in properties.items()]

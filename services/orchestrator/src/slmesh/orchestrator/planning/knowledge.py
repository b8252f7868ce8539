"""What the planner knows about each micromodel, in one table.

For each micromodel it has rules for: the keywords that route a clause to it
without the model, how its arguments are read off a clause, whether it needs
the request's payload, how a later round feeds it an earlier round's
results, and whether the model names fields rather than writing arguments
from its schema. Beside the table: the routing prompt's examples and the
extractor's field-naming prompt.

A micromodel missing here is still planned for: routed by its name or by the
model, its arguments written by the model from its announced input schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from slmesh.orchestrator.planning.countries import MEMBER_STATES, asks_for_all, mentioned_countries
from slmesh.orchestrator.planning.decomposition import NO_COUNTRY, NO_TEXT, Clause, named_tools

VAT_MICROMODEL = "vat-rates"

Arguments = list[dict[str, Any]] | str

_CHOICES = re.compile(r"\b([\w-]+(?:,\s*[\w-]+)*,?\s+or\s+[\w-]+)\b")
_FIELDS = re.compile(
    r"\b(?:extract|pull|get)\s+(?:out\s+)?(.+?)(?:\s+(?:from|out of)\b|$)", re.IGNORECASE
)
_SENTIMENT = re.compile(r"\b(sentiment|tone|mood)\b", re.IGNORECASE)
_WORDS = re.compile(r"\b(?:in|to|within)\s+(\d{1,3})\s+words\b", re.IGNORECASE)
_NUMERIC_FIELD = re.compile(r"amount|total|price|cost|sum|fee|vat|tax|quantity|number")


@dataclass(frozen=True)
class Known:
    """What the planner knows about one micromodel."""

    # A clause that matches is routed to it without the model.
    keywords: re.Pattern[str]
    # Its calls' arguments read off a clause (one call per item), or why the clause
    # does not give them. Called with a payload when `needs_payload`.
    read: Callable[[Clause], Arguments]
    # Whether its arguments need the text the request is about.
    needs_payload: bool = True
    # How a later round gives it an earlier round's results: as more words of its
    # clause (a country the results name), or as the text it works on.
    results_as: Literal["clause", "payload"] = "payload"
    # The model names the fields and the argument is built from them: the
    # extractor's own argument is a JSON Schema, too open for a grammar to make right.
    model_names_fields: bool = False


def _vat_rates(clause: Clause) -> Arguments:
    codes = list(MEMBER_STATES) if asks_for_all(clause.text) else mentioned_countries(clause.text)
    if not codes:
        return NO_COUNTRY
    return [{"country": code} for code in codes]


def _summarizer(clause: Clause) -> Arguments:
    args: dict[str, Any] = {"text": clause.payload}
    if words := _WORDS.search(clause.text):
        args["max_words"] = max(3, min(200, int(words.group(1))))
    return [args]


def _classifier(clause: Clause) -> Arguments:
    choices = _CHOICES.findall(clause.text)
    if not choices and _SENTIMENT.search(clause.text):
        choices = ["positive, negative or neutral"]
    if not choices:
        return "names no labels to choose from"
    labels = [x.strip().lower() for x in re.split(r",|\bor\b", choices[-1]) if x.strip()]
    if len(set(labels)) < 2:
        return "names fewer than two labels"
    return [{"text": clause.payload, "labels": list(dict.fromkeys(labels))}]


def _pii(clause: Clause) -> Arguments:
    return [{"text": clause.payload}]


def _extractor(clause: Clause) -> Arguments:
    found = _FIELDS.search(clause.text)
    names = _field_names(found.group(1)) if found else []
    if not names:
        return "names no fields to extract"
    return [{"text": clause.payload, "schema": object_schema(names)}]


# In this order a clause's keyword matches are listed.
KNOWN: dict[str, Known] = {
    VAT_MICROMODEL: Known(
        keywords=re.compile(
            r"\b(vat|value[- ]added[- ]tax|tax rates?|sales tax|mwst|tva|iva|btw|moms)\b",
            re.IGNORECASE,
        ),
        read=_vat_rates,
        needs_payload=False,
        results_as="clause",
    ),
    "summarizer": Known(
        keywords=re.compile(
            r"\b(summar\w*|tl;?dr|condense|shorten|gist|in short)\b", re.IGNORECASE
        ),
        read=_summarizer,
    ),
    "classifier": Known(
        keywords=re.compile(
            r"\b(classif\w*|categori\w*|category|route|label|sentiment|is this \w+ \w+ or \w+)\b",
            re.IGNORECASE,
        ),
        read=_classifier,
    ),
    "extractor": Known(
        keywords=re.compile(r"\b(extract\w*|pull .+ out of|get the .+|fields?)\b", re.IGNORECASE),
        read=_extractor,
        model_names_fields=True,
    ),
    # Asked in so many words to redact or find personal data: no model needs to read the
    # request (nor see the data) to know where it goes.
    "pii": Known(
        keywords=re.compile(
            r"\b(redact\w*|anonymi[sz]\w*|pseudonymi[sz]\w*|personal (?:data|information|details)"
            r"|pii|personenbezogene\w*|schwärz\w*|anonymisier\w*)\b",
            re.IGNORECASE,
        ),
        read=_pii,
    ),
}

# The routing prompt's examples, in the prompt's order; NONE: no tool does it.
NONE = "none"
ROUTING_SHOTS = [
    ("Summarize the quarterly report", "summarizer"),
    ("Write a haiku about autumn", NONE),
    ("What VAT applies in Greece", VAT_MICROMODEL),
    ("Which team should handle this email", "classifier"),
    ("Find the IBAN in this letter", "extractor"),
    ("Who signed this contract and when does it end", "extractor"),
    ("When is this invoice due", "extractor"),
    ("What is the mood of this email", "classifier"),
    ("Play some music", NONE),
]

# The field names the model may give where it names the fields (the extractor).
FIELD_NAMES: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string", "pattern": "^[a-z][a-z_]{0,29}$"},
    "minItems": 1,
    "maxItems": 6,
}
FIELD_SHOTS = [
    ("what is the due date on this bill", ["due_date"]),
    ("who sent this letter and when", ["sender", "date"]),
    ("find the IBAN and the account holder", ["iban", "account_holder"]),
    ("how much do I owe and to whom", ["amount", "creditor"]),
]


def keyword_tools(clause: str, tools: set[str]) -> list[str]:
    found = [
        name for name, known in KNOWN.items() if name in tools and known.keywords.search(clause)
    ]
    return found or named_tools(clause, tools - set(KNOWN))


def arguments(tool: str, clause: Clause, whole_request: str) -> Arguments:
    """The calls' arguments for `tool`, or why the clause does not give them."""
    known = KNOWN.get(tool)
    if (known is None or known.needs_payload) and clause.payload is None:
        return NO_TEXT
    if known is None:
        return f"has no argument rules for {tool}"
    return known.read(clause)


def fed_by_results(tool: str, clause: str, results: str) -> Clause:
    """A deferred clause with an earlier round's results as `tool` takes them."""
    known = KNOWN.get(tool)
    if known is not None and known.results_as == "clause":
        return Clause(f"{clause} {results}", None)
    return Clause(clause, results or None)


def model_names_fields(tool: str) -> bool:
    known = KNOWN.get(tool)
    return known is not None and known.model_names_fields


def _field_names(phrase: str) -> list[str]:
    parts = re.split(r",|\band\b", phrase)
    names = []
    for part in parts:
        words = re.sub(r"\b(the|a|an|this|its|their)\b", " ", part.lower()).split()
        if words:
            names.append("_".join(re.sub(r"[^a-z0-9]", "", w) for w in words))
    return [n for n in dict.fromkeys(names) if n]


def object_schema(fields: list[str]) -> dict[str, Any]:
    """The extractor's target schema for named fields: amounts are numbers, the rest text."""
    return {
        "type": "object",
        "properties": {
            name: {"type": "number" if _NUMERIC_FIELD.search(name) else "string"} for name in fields
        },
        "required": fields,
        "additionalProperties": False,
    }

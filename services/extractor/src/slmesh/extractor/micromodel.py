"""extractor: document text and a target JSON Schema in, JSON valid against that schema out.

Extraction by choosing: a small base model asked to write a bill's fields copies its
example and runs away on digits, so values are not written but chosen. Each field's
candidates are spans of the document found by their shape (candidates), ranked by the
words that label them (ranking), and where the best few are close the model chooses
among them (choosing); a value is therefore always the document's own, typed as the
schema asks (extraction). Only a field that no span can fill is written by
grammar-constrained decoding, with every string bounded so generation ends, and its
value is dropped where the document does not hold it.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from slmesh.extractor.choosing import document_text
from slmesh.extractor.extraction import DOCUMENT_CHARS, fits, read_document
from slmesh.extractor.fields import FieldSpec, read_fields
from slmesh.extractor.routing import ROUTING
from slmesh.runtime.llm import ModelSession, template, untrusted
from slmesh.runtime.micromodel import Micromodel

MAX_STRING = 80
MAX_ITEMS = 20
# The fallback's strings are shorter: a name or a number no span held, not a text.
FALLBACK_STRING = 48
# Tokens the fallback may write per field it fills: a string of FALLBACK_STRING
# characters is at most that many tokens, and its key and punctuation take the rest.
FALLBACK_TOKENS_PER_FIELD = FALLBACK_STRING + 24
# Kinds whose value has a shape: where no span of the document has it, the document
# holds no such value, and decoding would only invent one.
_SHAPED = frozenset(
    {"date", "amount", "iban", "email", "phone", "postcode", "currency", "country", "card_last4"}
)


class ExtractionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=8000, description="The document's text.")
    json_schema: dict[str, JsonValue] = Field(
        alias="schema",
        description="JSON Schema of the object to extract: type object with properties.",
        examples=[
            {
                "type": "object",
                "properties": {"name": {"type": "string"}, "amount": {"type": "number"}},
                "required": ["name", "amount"],
            }
        ],
    )

    @field_validator("json_schema")
    @classmethod
    def _object_schema(cls, schema: dict[str, JsonValue]) -> dict[str, JsonValue]:
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from exc
        properties = schema.get("properties")
        if schema.get("type") != "object" or not isinstance(properties, dict) or not properties:
            raise ValueError("the schema must be of type object with properties")
        if len(properties) > 30:
            raise ValueError("at most 30 properties")
        return schema


class Extraction(BaseModel):
    data: dict[str, JsonValue] = Field(
        description="The extracted object, valid against the schema."
    )


def _has_type(node: dict[str, Any], name: str) -> bool:
    declared = node.get("type")
    return declared == name or (isinstance(declared, list) and name in declared)


def bounded(schema: Any, max_string: int = MAX_STRING) -> Any:
    """A copy of `schema` whose strings have a maxLength and arrays a maxItems, so that
    generation always ends (a nullable string, type [string, null], is a string too)."""
    schema = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if _has_type(node, "string") and "enum" not in node and "const" not in node:
                # A caller's longer bound would outrun the token budget; a shorter value
                # is still valid (down to the caller's minLength).
                longest = min(node.get("maxLength", max_string), max_string)
                node["maxLength"] = max(longest, node.get("minLength", 0))
            if _has_type(node, "array") and "maxItems" not in node:
                node["maxItems"] = MAX_ITEMS
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return schema


def in_document(value: Any, text: str) -> bool:
    """Whether a decoded value is the document's own (ignoring case and spacing)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, list):
        return all(in_document(item, text) for item in value)
    written = " ".join(str(value).casefold().split())
    return bool(written) and written in " ".join(text.casefold().split())


def decode_rest(
    request: ExtractionRequest, missing: list[FieldSpec], model: ModelSession
) -> dict[str, Any]:
    """Fields no candidate fills, by grammar-constrained decoding; a value the document
    does not hold is dropped (null) where the field allows null."""
    properties = request.json_schema.get("properties")
    assert isinstance(properties, dict)
    schema = bounded(
        {
            "type": "object",
            "properties": {spec.name: properties[spec.name] for spec in missing},
            "required": [spec.name for spec in missing],
            "additionalProperties": False,
        },
        FALLBACK_STRING,
    )
    document = untrusted(document_text(request.text, DOCUMENT_CHARS))
    prompt = template("Document:\n") + document + template("\n\nIts fields as JSON: ")
    budget = FALLBACK_TOKENS_PER_FIELD * len(missing) + 16
    try:
        data = model.complete_json(prompt, schema, max_tokens=budget)
    except ValueError:
        # Only a number can outrun its budget (a grammar bounds no digits): whatever
        # allows null is given none rather than a guess.
        if not all(fits(spec.schema, None) for spec in missing):
            raise
        data = {}
    kept: dict[str, Any] = {}
    for spec in missing:
        value = data.get(spec.name) if isinstance(data, dict) else None
        if not in_document(value, request.text) and fits(spec.schema, None):
            value = None
        kept[spec.name] = value
    return kept


def extract(request: ExtractionRequest, model: ModelSession) -> Extraction:
    specs = read_fields(request.json_schema)
    data = read_document(request.text, specs, model)
    missing: list[FieldSpec] = []
    for spec in specs:
        if spec.name in data:
            continue
        if fits(spec.schema, None) and spec.kind in _SHAPED:
            # No span has the field's shape: the document does not give it.
            data[spec.name] = None
        else:
            missing.append(spec)
    if missing:
        data.update(decode_rest(request, missing, model))
    data = {spec.name: data[spec.name] for spec in specs if spec.name in data}
    # Each value was checked against its own schema; the object is checked once more
    # for what spans fields (required, additionalProperties).
    jsonschema.validate(data, request.json_schema)
    return Extraction(data=data)


def build() -> Micromodel[ExtractionRequest, Extraction]:
    return Micromodel(
        name="extractor",
        description="Extracts a JSON object valid against a given JSON Schema from a document.",
        input_model=ExtractionRequest,
        output_model=Extraction,
        infer=extract,
        routing=ROUTING,
    )

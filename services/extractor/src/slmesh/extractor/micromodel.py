"""extractor: document text and a target JSON Schema in, JSON valid against that schema out.

Decoding is constrained by a grammar built from the schema, so even a small
base model writes parseable JSON with the right keys and types. Strings get
a length bound before the grammar is built: an unbounded string can run past
the token budget and leave the JSON unfinished.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from slmesh.extractor.routing import ROUTING
from slmesh.runtime.llm import ModelSession, template, untrusted
from slmesh.runtime.micromodel import Micromodel

MAX_STRING = 80

EXAMPLE = """Document:
Invoice 2211 from Nordlicht GmbH to Jana Weber, Lindenweg 4, Hamburg. Total 59.90 EUR, \
payable by 2026-03-01.
JSON: {"name": "Jana Weber", "address": "Lindenweg 4, Hamburg", "amount": 59.9, \
"due_date": "2026-03-01"}

"""


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


def bounded(schema: Any) -> Any:
    """A copy of `schema` whose strings have a maxLength, so generation always ends."""
    schema = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and "enum" not in node and "maxLength" not in node:
                node["maxLength"] = MAX_STRING
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return schema


def extract(request: ExtractionRequest, model: ModelSession) -> Extraction:
    schema = bounded(request.json_schema)
    document = untrusted(" ".join(request.text.split()))
    prompt = template(f"{EXAMPLE}Document:\n") + document + template("\nJSON: ")
    data = model.complete_json(prompt, schema, max_tokens=512)
    # The grammar makes this hold; checking it costs little and catches a grammar gap.
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

"""Grammars that hold a model to a JSON Schema or to GBNF rules (llama_cpp loads on first use)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from llama_cpp.llama_grammar import LlamaGrammar


@functools.lru_cache(maxsize=64)
def _grammar(schema_json: str) -> LlamaGrammar:
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema_json, verbose=False)


@functools.lru_cache(maxsize=16)
def gbnf_grammar(rules: str) -> LlamaGrammar:
    """A grammar written in llama.cpp's GBNF (cached)."""
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_string(rules, verbose=False)


def grammar_for(schema: dict[str, Any]) -> LlamaGrammar:
    """A grammar that only lets the model write JSON valid against `schema` (cached)."""
    return _grammar(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS).decode())

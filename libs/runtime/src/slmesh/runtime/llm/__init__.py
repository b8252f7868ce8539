"""Local small language models: a GGUF file run by llama.cpp, one per process.

A model is named by one setting: a file path, `package:<module>` for a model
shipped in a Python package, or `hf:<repo>/<file>` for a hub id when online.
A prompt is a `Prompt`: the template's text and the untrusted text slotted into
it (`template(...) + untrusted(...)`), so that only the template can hold
control tokens (prompt).

Importing this package loads neither numpy nor llama_cpp: `LocalModel`
(slmesh.runtime.llm.model) loads them when it is first asked for, so a
deterministic micromodel, which never loads a model, does without both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slmesh.runtime.llm.errors import ContextOverflowError, ModelLoadError
from slmesh.runtime.llm.grammar import gbnf_grammar, grammar_for
from slmesh.runtime.llm.prompt import Prompt, template, untrusted
from slmesh.runtime.llm.session import ModelSession
from slmesh.runtime.llm.settings import DEFAULT_MODEL, ModelSettings
from slmesh.runtime.llm.source import resolve_model
from slmesh.runtime.llm.usage import Generation, Usage

if TYPE_CHECKING:
    from slmesh.runtime.llm.model import LocalModel

__all__ = [
    "DEFAULT_MODEL",
    "ContextOverflowError",
    "Generation",
    "LocalModel",
    "ModelLoadError",
    "ModelSession",
    "ModelSettings",
    "Prompt",
    "Usage",
    "gbnf_grammar",
    "grammar_for",
    "resolve_model",
    "template",
    "untrusted",
]


def __getattr__(name: str) -> Any:
    # Only where a model is used: `from slmesh.runtime.llm import LocalModel`.
    if name == "LocalModel":
        from slmesh.runtime.llm.model import LocalModel

        return LocalModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

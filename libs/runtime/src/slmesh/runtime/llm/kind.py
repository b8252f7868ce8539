"""What the SDK needs of a model, whichever kind it is: a local GGUF model run by llama.cpp
(slmesh.runtime.llm.model) or a remote OpenAI-compatible endpoint
(slmesh.runtime.llm.remote).

Every call blocks: the SDK runs them in the service's worker threads, `concurrency` at
once (one for llama.cpp, whose context runs one completion at a time), and admits
`admitted` tasks while they run; the rest wait in Kafka, where they cost nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from slmesh.runtime.llm.prompt import Prompt
from slmesh.runtime.llm.usage import Generation

if TYPE_CHECKING:
    from llama_cpp.llama_grammar import LlamaGrammar

    from slmesh.schemas import Locality, ModelPrice


class Model(Protocol):
    """A model a ModelSession runs: its id and where it runs, completions, and scores."""

    @property
    def id(self) -> str:
        """The model's id, as replies and cards name it."""
        ...

    @property
    def locality(self) -> Locality:
        """Where its inference runs: on-premise, or at a remote provider."""
        ...

    @property
    def provider(self) -> str | None:
        """Who runs a remote model (None on-premise)."""
        ...

    @property
    def price(self) -> ModelPrice | None:
        """What its tokens cost (None: free)."""
        ...

    @property
    def concurrency(self) -> int:
        """Calls it runs at once."""
        ...

    @property
    def admitted(self) -> int:
        """Tasks a service admits at once for it (running and waiting)."""
        ...

    def count_tokens(self, prompt: Prompt | str) -> int: ...

    def complete(
        self,
        prompt: Prompt | str,
        *,
        max_tokens: int | None = None,
        grammar: LlamaGrammar | None = None,
        stop: list[str] | None = None,
    ) -> Generation: ...

    def complete_json(
        self, prompt: Prompt | str, schema: dict[str, Any], *, max_tokens: int | None = None
    ) -> Generation:
        """A completion that is JSON valid against `schema` (unless cut short)."""
        ...

    def score_options(self, prompt: Prompt | str, options: list[str]) -> list[float]: ...

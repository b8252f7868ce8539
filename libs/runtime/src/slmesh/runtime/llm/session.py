"""A task's view of the model: its completions are counted for the reply."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from slmesh.runtime.llm.prompt import Prompt
from slmesh.runtime.llm.usage import Generation, Usage
from slmesh.runtime.tracing import model_call

if TYPE_CHECKING:
    from llama_cpp.llama_grammar import LlamaGrammar

    from slmesh.runtime.concurrency import Worker
    from slmesh.runtime.llm.kind import Model

T = TypeVar("T")


@dataclass
class ModelSession:
    """A task's view of the model: its completions are counted for the reply."""

    model: Model
    usage: Usage = field(default_factory=Usage)

    async def run_in(
        self,
        worker: Worker,
        work: Callable[[], T],
        *,
        step: str | None = None,
        micromodel: str | None = None,
        version: str | None = None,
    ) -> T:
        """Run `work` (completions of this session) on the model's thread, as one
        model-call span that carries the tokens they spent."""
        prompt, completion = self.usage.prompt_tokens, self.usage.completion_tokens
        remote = self.model.locality == "remote"
        with model_call(
            self.model.id,
            # A remote endpoint is asked for chat completions; llama.cpp completes text.
            operation="chat" if remote else "text_completion",
            provider=self.model.provider if remote else None,
            step=step,
            micromodel=micromodel,
            version=version,
        ) as spent:
            try:
                return await worker.run(work)
            finally:
                spent(self.usage.prompt_tokens - prompt, self.usage.completion_tokens - completion)

    def complete(
        self,
        prompt: Prompt | str,
        *,
        max_tokens: int | None = None,
        grammar: LlamaGrammar | None = None,
        stop: list[str] | None = None,
    ) -> Generation:
        generation = self.model.complete(prompt, max_tokens=max_tokens, grammar=grammar, stop=stop)
        self.usage.add(generation)
        return generation

    def score_options(self, prompt: Prompt | str, options: list[str]) -> list[float]:
        started = time.perf_counter()
        scores = self.model.score_options(prompt, options)
        self.usage.add(
            Generation(
                text="",
                prompt_tokens=self.model.count_tokens(prompt),
                completion_tokens=0,
                seconds=time.perf_counter() - started,
                finish_reason="scored",
            )
        )
        return scores

    def complete_json(
        self, prompt: Prompt | str, schema: dict[str, Any], *, max_tokens: int | None = None
    ) -> Any:
        """JSON valid against `schema` by construction (unless cut short): a grammar on a
        local model, the endpoint's JSON-schema response format on a remote one."""
        generation = self.model.complete_json(prompt, schema, max_tokens=max_tokens)
        self.usage.add(generation)
        try:
            return orjson.loads(generation.text)
        except orjson.JSONDecodeError as exc:
            raise ValueError(
                f"the model's JSON was cut short at {generation.completion_tokens} tokens "
                f"({generation.finish_reason}): {generation.text[-80:]!r}"
            ) from exc

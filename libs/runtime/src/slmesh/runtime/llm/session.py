"""A task's view of the model: its completions are counted for the reply."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from slmesh.runtime.llm.grammar import grammar_for
from slmesh.runtime.llm.prompt import Prompt
from slmesh.runtime.llm.usage import Generation, Usage
from slmesh.runtime.tracing import model_call

if TYPE_CHECKING:
    from llama_cpp.llama_grammar import LlamaGrammar

    from slmesh.runtime.concurrency import Worker
    from slmesh.runtime.llm.model import LocalModel

T = TypeVar("T")


@dataclass
class ModelSession:
    """A task's view of the model: its completions are counted for the reply."""

    model: LocalModel
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
        with model_call(self.model.id, step=step, micromodel=micromodel, version=version) as spent:
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
        """Grammar-constrained JSON: parseable and valid by construction (unless cut short)."""
        generation = self.complete(prompt, max_tokens=max_tokens, grammar=grammar_for(schema))
        try:
            return orjson.loads(generation.text)
        except orjson.JSONDecodeError as exc:
            raise ValueError(
                f"the model's JSON was cut short at {generation.completion_tokens} tokens "
                f"({generation.finish_reason}): {generation.text[-80:]!r}"
            ) from exc

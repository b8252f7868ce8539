"""What a model's generation cost, and the sum over a task's generations."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Generation:
    """A model's generated text (empty for scored options) and what generating it cost."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str


@dataclass
class Usage:
    """What the model's generations for one task cost; travels in its reply."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    completions: int = 0

    def add(self, generation: Generation) -> None:
        self.prompt_tokens += generation.prompt_tokens
        self.completion_tokens += generation.completion_tokens
        self.seconds += generation.seconds
        self.completions += 1

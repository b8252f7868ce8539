"""What a completion cost, and the sum over a task's completions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str


@dataclass
class Usage:
    """What the completions of one task cost; travels in its reply."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    completions: int = 0

    def add(self, completion: Completion) -> None:
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.seconds += completion.seconds
        self.completions += 1

"""A remote model as planning sees it, for unit tests of what the orchestrator does with a
remote planner's answers. Its HTTP is tested against a real server in
tests/integration/test_remote_planner.py."""

from __future__ import annotations

from typing import Any

from slmesh.runtime.llm import Generation


class PlanningEndpoint:
    """A remote model that answers every plan with `answer` (raises it, if an exception),
    and keeps what it was asked."""

    id = "big-model"
    locality = "remote"
    provider = "cloud.example"
    price = None
    concurrency = 1
    admitted = 1

    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def complete_json(
        self, prompt: Any, schema: dict[str, Any], *, max_tokens: int | None = None
    ) -> Generation:
        self.asked.append(prompt.text)
        if isinstance(self.answer, Exception):
            raise self.answer
        return Generation(self.answer, 300, 20, 0.01, "stop")

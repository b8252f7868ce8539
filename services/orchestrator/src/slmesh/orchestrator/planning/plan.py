"""What a planner returns, and the `Planner` protocol the orchestrator depends on.

A plan may defer a clause whose arguments only an earlier call's result can
give; the orchestrator asks `follow_up` for it once that round is answered.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from slmesh.schemas import CallOutcome

if TYPE_CHECKING:
    # A type only: what depends on a plan (outcomes) loads no model package.
    from slmesh.runtime.llm import Usage


@dataclass(frozen=True)
class PlannedCall:
    micromodel: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Deferred:
    """A clause whose call needs an earlier call's result for its arguments."""

    clause: str
    micromodel: str


@dataclass(frozen=True)
class Plan:
    """The calls to make, and what planned them. No calls means the planner found none."""

    planner: str
    calls: list[PlannedCall] = field(default_factory=list)
    reason: str = ""
    steps: list[str] = field(default_factory=list)
    deferred: list[Deferred] = field(default_factory=list)
    # What the planner's model did for this plan; None when it was not asked.
    model: str | None = None
    work: Usage | None = None


class Planner(Protocol):
    async def plan(self, text: str, micromodels: Collection[str]) -> Plan: ...

    async def follow_up(
        self, deferred: list[Deferred], results: list[CallOutcome], micromodels: Collection[str]
    ) -> Plan:
        """The next round's calls for deferred clauses, their arguments from `results`."""
        ...

"""The planner's port: the `Planner` protocol the orchestrator depends on, what it plans
with (`ToolView`, one per live micromodel) and what it returns (`Plan`).

A plan may defer a clause whose arguments only an earlier call's result can
give; the orchestrator asks `follow_up` for it once that round is answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from slmesh.schemas import CallOutcome, Routing

if TYPE_CHECKING:
    # A type only: what depends on a plan (outcomes) loads no model package.
    from slmesh.runtime.llm import Usage
    from slmesh.runtime.micromodel import Micromodel


@dataclass(frozen=True)
class ToolView:
    """A live micromodel as a planner sees it: what it does, the arguments it takes, and
    whether a model answers it.

    Read from the registry when a plan is asked for (app.tool_views), and
    frozen: a planner never sees the registry's own records, which change as
    announcements come.
    """

    name: str
    description: str
    # The JSON Schema of its arguments, as announced.
    input_schema: dict[str, Any]
    # Whether its answers come from a model.
    runs_model: bool
    # How its card says it is routed to and its arguments read; None: by name and model.
    routing: Routing | None = None
    # The tool it is an alternative for ("summarizer-cloud" serves "summarizer"); None: its own.
    serves: str | None = None
    # A declared pipeline offered as a tool: a request planned to it runs the pipeline.
    pipeline: bool = False

    @classmethod
    def of(cls, micromodel: Micromodel[Any, Any]) -> ToolView:
        """A declared micromodel as its card would show it live (tests, evaluations)."""
        return cls(
            micromodel.name,
            micromodel.description,
            micromodel.input_model.model_json_schema(by_alias=True),
            micromodel.uses_model,
            micromodel.routing,
        )


@dataclass(frozen=True)
class PlannedCall:
    micromodel: str
    arguments: dict[str, Any]
    # The version the caller pinned the call to (explicit calls); None: the mesh's split.
    version: str | None = None


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
    # Clauses of the request no live micromodel answers: named in the response.
    unplaced: list[str] = field(default_factory=list)


def for_planning(tools: Mapping[str, ToolView]) -> dict[str, ToolView]:
    """One view a tool: an alternative ("summarizer-cloud" serves "summarizer") is where a
    call may go, which routing decides (policy.routing), not a tool of its own to plan
    for. It stands for its tool, under the tool's name, only where the tool is not live."""
    views = {name: tool for name, tool in tools.items() if tool.serves is None}
    for tool in sorted(tools.values(), key=lambda t: t.name):
        if tool.serves is not None and tool.serves not in views:
            views[tool.serves] = replace(tool, name=tool.serves, serves=None)
    return views


def call_key(micromodel: str, arguments: dict[str, Any]) -> str:
    """What makes two calls the same call: the micromodel and its arguments."""
    return micromodel + orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS).decode()


def once(calls: list[PlannedCall]) -> list[PlannedCall]:
    """Each call (micromodel and arguments) once, in the order first planned: a request
    that asks the same thing twice gets one answer for it."""
    seen: set[str] = set()
    kept = []
    for call in calls:
        key = call_key(call.micromodel, call.arguments)
        if key not in seen:
            seen.add(key)
            kept.append(call)
    return kept


class Planner(Protocol):
    @property
    def name(self) -> str:
        """The planner, as a response names it when planning did not finish in time."""
        ...

    async def plan(self, text: str, tools: Mapping[str, ToolView]) -> Plan:
        """The calls that answer `text`, each to one of the live `tools` (by name)."""
        ...

    async def follow_up(
        self, deferred: list[Deferred], results: list[CallOutcome], tools: Mapping[str, ToolView]
    ) -> Plan:
        """The next round's calls for deferred clauses, their arguments from `results`."""
        ...

"""The gather state of one request, typed: what any replica needs to dispatch, gather and answer.

Stored as JSON in the request's Redis hash (gather.store): the `request`
field is a `GatherState`, `calls` a list of `GatherCall`, and each result a
`StoredReply`. The models read and write the keys the orchestrator has
always written; fields a state may lack have the defaults the orchestrator
has always assumed, so a state written by an earlier version still loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from slmesh.schemas import (
    CallRouting,
    Classification,
    ModelPrice,
    ModelWork,
    TaskCompleted,
    TaskFailed,
)
from slmesh.schemas.pipelines import Pipeline


class _Stored(BaseModel):
    # Unknown keys (a newer writer's) are ignored, not an error: the state is ours, not a contract.
    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_json(self) -> bytes:
        # orjson over the plain dump: the same bytes the dicts of earlier versions gave.
        return orjson.dumps(self.model_dump())


class DeferredClause(_Stored):
    """A clause waiting for an earlier round's results (planning.plan.Deferred, stored)."""

    clause: str
    micromodel: str


class Unresolved(DeferredClause):
    """A deferred clause that was never called, and why."""

    reason: str


class SettledStep(_Stored):
    """A pipeline step that made no call: a branch not taken, not run, or mapped over nothing."""

    status: Literal["skipped", "not_run", "ok"]
    reason: str


class PipelineRun(_Stored):
    """A pipeline's progress within its request's gather state: any replica continues it.

    The definition is kept as the request found it: a replica whose pipeline files
    changed meanwhile still runs the request as it began.
    """

    definition: Pipeline
    arguments: dict[str, Any]
    # Task id -> the step label that made the call (extract, summarise[2]).
    tasks: dict[str, str] = Field(default_factory=dict)
    settled: dict[str, SettledStep] = Field(default_factory=dict)


class GatherCall(_Stored):
    """One call of a request: its task id is `<request id>:<n>`, n from 1 over all rounds."""

    task_id: str
    micromodel: str
    arguments: dict[str, Any]
    dispatched_ms: float
    # Where its data went and why (policy.routing); a call failed there is never sent.
    routing: CallRouting | None = None
    # What the micromodel it went to charges for its tokens (its card's, when routed).
    price: ModelPrice | None = None
    # The version it went to, where the micromodel's card says one (policy.versions).
    version: str | None = None

    @model_serializer(mode="wrap")
    def _as_before_when_unrouted(self, dump: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A call without routing or price is stored as earlier versions stored it: the same
        # bytes, readable by a replica that predates them (a rolling upgrade).
        dumped: dict[str, Any] = dump(self)
        for name in ("routing", "price", "version"):
            if dumped.get(name) is None:
                dumped.pop(name, None)
        return dumped


class GatherState(_Stored):
    """What a request needs after it was taken in: where to answer, what was planned, when."""

    # The RequestSubmitted's id: the causation of every task and of the response.
    event_id: str
    reply_topic: str
    metadata: dict[str, str] = Field(default_factory=dict)
    classification: Classification = "internal"
    # Kept for the composer and later rounds; bounded by the event size limit.
    input: str = ""
    # The calls were given in the request, not planned.
    explicit: bool = False
    planner: str
    # The plan's steps as the response shows them (outcomes.shown).
    plan: list[str] = Field(default_factory=list)
    # The planner model's work, all rounds.
    planning: ModelWork | None = None
    # Clauses waiting for this round's results; never run, when the round expires.
    deferred: list[DeferredClause] = Field(default_factory=list)
    unresolved: list[Unresolved] = Field(default_factory=list)
    # Parts of the request no live micromodel answers (outcomes.unplaced_parts).
    unplaced: list[str] = Field(default_factory=list)
    # The versions the request pinned micromodels to, for later rounds' calls too.
    versions: dict[str, str] = Field(default_factory=dict)
    round: int = 1
    deadline_ms: int
    received_ms: float
    # Whether a model-written opening sentence is written for the answer (opening_sentence).
    opening: bool = False
    # The W3C trace context of the request's handling: a replica that answers
    # with no record to continue (the deadline passed) answers in its trace.
    traceparent: str | None = None
    # A pipeline's run, when the request named one (pipelines.run decides its rounds).
    pipeline: PipelineRun | None = None

    @classmethod
    def from_json(cls, raw: bytes) -> GatherState:
        return cls.model_validate_json(raw)

    def to_json(self) -> bytes:
        dumped = self.model_dump()
        if dumped["traceparent"] is None:
            # Without a trace, the bytes earlier versions wrote.
            del dumped["traceparent"]
        if dumped["pipeline"] is None:
            del dumped["pipeline"]
        for name in ("unplaced", "versions"):
            if not dumped[name]:
                del dumped[name]
        return orjson.dumps(dumped)


class StoredReply(_Stored):
    """A micromodel's reply as gathered: the event's bytes as they came, and when."""

    event: Annotated[TaskCompleted | TaskFailed, Field(discriminator="type")]
    received_ms: float

    @staticmethod
    def encode(event: bytes, received_ms: float) -> bytes:
        """The stored form of a reply: its validated bytes kept as they came, not re-serialized."""
        return orjson.dumps({"event": orjson.Fragment(event), "received_ms": received_ms})


@dataclass(frozen=True)
class GatherSnapshot:
    """A request's gather state at one moment: its state, its calls, the replies in."""

    request: GatherState
    calls: list[GatherCall]
    results: dict[str, StoredReply]

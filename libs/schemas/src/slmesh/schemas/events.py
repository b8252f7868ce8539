"""The five slmesh events: a request, a task per micromodel call, its reply, the response.

Events are named in the past tense: each records something that happened.
Every data model forbids unknown fields, so a typo in a producer is an error
it hears about instead of a silently ignored field.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, JsonValue, model_validator

from slmesh.schemas.envelope import Contract, Envelope
from slmesh.schemas.routing import Routing

MAX_INPUT_CHARS = 32_000
# Calls one request may make: given explicitly, or planned (the orchestrator's default cap).
MAX_CALLS = 64
MAX_ERROR_CHARS = 4000
_TOPIC_PATTERN = r"^[A-Za-z0-9._\-]{1,249}$"
# A task id is its request id, scoped to its caller, and its call's number.
_TASK_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,240}$"
_TOPIC = re.compile(_TOPIC_PATTERN)
_TASK_ID = re.compile(_TASK_ID_PATTERN)


def is_valid_topic(value: object) -> bool:
    return isinstance(value, str) and _TOPIC.match(value) is not None


def is_valid_task_id(value: object) -> bool:
    return isinstance(value, str) and _TASK_ID.match(value) is not None


_NAME_PATTERN = r"^[a-z][a-z0-9\-]{0,62}$"

Classification = Literal["public", "internal", "confidential", "restricted"]
# Where a micromodel's inference runs: on the enterprise's own machines, or at a provider's
# endpoint the payload travels to.
Locality = Literal["on-premise", "remote"]
# What the orchestrator does when a payload bound for a micromodel carries personal data:
# sends the call to a local alternative, sends the text redacted, or refuses the call.
PiiAction = Literal["local", "redact", "refuse"]

ErrorCode = Literal[
    "malformed_event",
    "unknown_event_type",
    "unsupported_schema_version",
    "invalid_event",
    "payload_too_large",
    "unknown_micromodel",
    "invalid_arguments",
    "no_plan",
    "deadline_exceeded",
    "handler_error",
    "invalid_output",
    "context_overflow",
    "run_time_exceeded",
    "state_lost",
    "too_many_calls",
    "unknown_reply_topic",
    # Where data may go: a payload above what every micromodel serving its call may
    # receive, or carrying personal data its micromodel refuses.
    "classification_denied",
    "pii_refused",
    # Trust: a record whose writer is not proven, or who may not do what it asks.
    "unauthenticated_request",
    "unauthenticated_task",
    "unauthenticated_reply",
    "unauthenticated_card",
    "wrong_micromodel",
    "output_schema_violation",
    "forbidden_reply_topic",
    "forbidden_micromodel",
    "too_many_requests",
    # Remote models: an endpoint that did not answer in time, at all, or refused the call;
    # said after the micromodel's own retries are spent.
    "remote_unavailable",
    "remote_timeout",
    "remote_rate_limited",
    "remote_error",
    # Pipelines: a request naming none this mesh runs; a step not called because what it
    # reads is not there (a step before it failed, a pointer found nothing).
    "unknown_pipeline",
    "step_not_run",
]

CallStatus = Literal["ok", "failed", "missing"]
ResponseStatus = Literal["ok", "partial", "failed"]

MicromodelName = Annotated[
    str,
    Field(
        pattern=_NAME_PATTERN,
        description="Name of a micromodel; its tasks go to topic slmesh.tasks.<name>.",
        examples=["vat-rates"],
    ),
]
PipelineName = Annotated[
    str,
    Field(
        pattern=_NAME_PATTERN,
        description="Name of a declared pipeline; a request runs it by this name.",
        examples=["bill-to-data"],
    ),
]
Arguments = Annotated[
    dict[str, JsonValue],
    Field(
        description="Arguments of the call, valid against the micromodel's input schema.",
        examples=[{"country": "DE"}],
    ),
]


class ErrorInfo(Contract):
    code: ErrorCode = Field(description="Machine-readable reason.", examples=["invalid_arguments"])
    message: str = Field(
        max_length=MAX_ERROR_CHARS,
        description="What went wrong, in words a person can act on.",
        examples=["country: Input should be 'AT', 'BE', ... or 'all'"],
    )
    retryable: bool = Field(
        default=False, description="Whether sending the same thing again may succeed."
    )

    @classmethod
    def about(cls, code: ErrorCode, message: str, *, retryable: bool = False) -> ErrorInfo:
        """An error whose message is cut to the contract's limit (a plan of many steps,
        an exception quoting its input): the error itself must never fail validation."""
        if len(message) > MAX_ERROR_CHARS:
            message = message[: MAX_ERROR_CHARS - 20] + f" ... ({len(message)} chars)"
        return cls(code=code, message=message, retryable=retryable)


# A micromodel's version, as its card announces it and a request pins it.
Version = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z][0-9A-Za-z.+\-]{0,63}$")
]


class CallSpec(Contract):
    micromodel: MicromodelName
    arguments: Arguments
    version: Version | None = Field(
        default=None,
        description="Pin the call to this version of the micromodel; unset: the mesh's "
        "split (its default version, and a canary's share).",
        examples=["0.2.0"],
    )


class TokenUsage(Contract):
    prompt: int = Field(ge=0, description="Prompt tokens.")
    completion: int = Field(ge=0, description="Completion tokens.")


# --- RequestSubmitted -------------------------------------------------------------


class RequestSubmittedData(Contract):
    input: str = Field(
        min_length=1,
        max_length=MAX_INPUT_CHARS,
        description="The request in natural language.",
        examples=["What are the VAT rates in Germany, France and Italy?"],
    )
    reply_topic: str | None = Field(
        default=None,
        pattern=_TOPIC_PATTERN,
        description="Topic for the response: only the caller's own response topic "
        "(slmesh.responses.<caller>), where it is answered when this is absent; any other "
        "is refused (forbidden_reply_topic).",
        examples=["slmesh.responses.erp"],
    )
    timeout_ms: int | None = Field(
        default=None,
        ge=100,
        le=3_600_000,
        description="Time budget. When it passes, the mesh answers with what it has "
        "(status partial) and names the missing calls.",
        examples=[30000],
    )
    classification: Classification = Field(
        default="internal",
        description="Data classification of the input; travels with every task.",
    )
    metadata: dict[str, str] = Field(
        default_factory=dict,
        max_length=32,
        description="Opaque key/values echoed back in the response.",
        examples=[{"tenant": "acme"}],
    )
    calls: list[CallSpec] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_CALLS,
        description="Explicit micromodel calls. When given, the planner is skipped and "
        "exactly these calls are made.",
    )
    versions: dict[MicromodelName, Version] = Field(
        default_factory=dict,
        max_length=32,
        description="Pin micromodels to a version for every call of this request (planned "
        "or explicit); a call's own version wins.",
        examples=[{"summarizer": "0.2.0"}],
    )
    pipeline: PipelineName | None = Field(
        default=None,
        description="Run this declared pipeline instead of planning: its steps are the "
        "calls. Not with `calls`.",
    )
    arguments: dict[str, JsonValue] | None = Field(
        default=None,
        description="The pipeline's arguments (/input), valid against its input schema; "
        "absent: {text: input}. Only with `pipeline`.",
        examples=[{"text": "Invoice 42 ..."}],
    )

    @model_validator(mode="after")
    def _pipeline_or_calls(self) -> RequestSubmittedData:
        if self.pipeline is not None and self.calls is not None:
            raise ValueError("give calls or a pipeline, not both")
        if self.arguments is not None and self.pipeline is None:
            raise ValueError("arguments are a pipeline's: give the pipeline too")
        return self


class RequestSubmitted(Envelope):
    """An enterprise system asks the mesh something."""

    type: Literal["slmesh.RequestSubmitted"]
    dataschema: Literal["urn:slmesh:RequestSubmitted:v1"]
    data: RequestSubmittedData


# --- TaskRequested ----------------------------------------------------------------


class TaskRequestedData(Contract):
    task_id: str = Field(
        pattern=_TASK_ID_PATTERN,
        description="Unique id of this call; the Kafka key on task topics.",
    )
    micromodel: MicromodelName
    arguments: Arguments
    deadline: datetime = Field(description="The task is worthless after this instant.")
    classification: Classification = "internal"
    reply_topic: str = Field(
        pattern=_TOPIC_PATTERN, description="Where the micromodel sends its reply."
    )


class TaskRequested(Envelope):
    """The orchestrator asked a micromodel for one call."""

    type: Literal["slmesh.TaskRequested"]
    dataschema: Literal["urn:slmesh:TaskRequested:v1"]
    data: TaskRequestedData


# --- TaskCompleted / TaskFailed ---------------------------------------------------


class TaskCompletedData(Contract):
    task_id: str = Field(max_length=240)
    micromodel: MicromodelName
    output: dict[str, JsonValue] = Field(
        description="The result, valid against the micromodel's output schema."
    )
    summary: str | None = Field(
        default=None,
        max_length=20_000,
        description="The result in words, written deterministically by the micromodel; "
        "composers quote it verbatim.",
    )
    model: str = Field(
        description="Model that produced the result; 'deterministic' for plain handlers.",
        examples=["deterministic", "gemma-3-270m-q4_k_m"],
    )
    tokens: TokenUsage | None = None
    latency_ms: float = Field(ge=0, description="Time the micromodel spent on the task.")
    replica: str = Field(max_length=256, description="Replica that ran the task.")


class TaskCompleted(Envelope):
    """A micromodel answered a task."""

    type: Literal["slmesh.TaskCompleted"]
    dataschema: Literal["urn:slmesh:TaskCompleted:v1"]
    data: TaskCompletedData


class TaskFailedData(Contract):
    task_id: str = Field(max_length=240)
    micromodel: str = Field(max_length=64)
    error: ErrorInfo
    latency_ms: float = Field(ge=0)
    replica: str = Field(max_length=256)


class TaskFailed(Envelope):
    """A micromodel could not answer a task."""

    type: Literal["slmesh.TaskFailed"]
    dataschema: Literal["urn:slmesh:TaskFailed:v1"]
    data: TaskFailedData


# --- RequestCompleted -------------------------------------------------------------


RoutingDecision = Literal["sent", "rerouted", "redacted", "refused", "denied"]


class CallRouting(Contract):
    """Where a call's data went, and why: decided before its task was published."""

    requested: str = Field(
        max_length=64, description="The micromodel the plan (or the caller) named for the call."
    )
    locality: Locality = Field(description="Where the micromodel the call went to runs.")
    provider: str | None = Field(
        default=None, max_length=128, description="Who runs it, when it is remote."
    )
    classification: Classification = Field(
        description="The payload's classification as it went (or would have gone): the "
        "request's, raised where the call's arguments carry personal data."
    )
    pii: dict[str, int] = Field(
        default_factory=dict,
        description="Kinds of personal data found in the call's arguments, with counts; "
        "never the data. Looked for where the call may leave the premises.",
        examples=[{"email": 1, "iban": 1}],
    )
    decision: RoutingDecision = Field(
        description="sent: to the micromodel named; rerouted: to another serving the same "
        "tool; redacted: sent with its personal data replaced; refused: not sent, it carries "
        "personal data its micromodel refuses; denied: not sent, no micromodel serving the "
        "tool may receive its classification."
    )
    reason: str | None = Field(default=None, max_length=2000, description="Why, in words.")


class CostReport(Contract):
    """What a request's models did and cost: its calls', its planner's and its composer's."""

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    total: float = Field(ge=0, description="Cost of every model's tokens for the request.")
    tokens: TokenUsage = Field(description="Tokens of every model, summed.")
    by_model: dict[str, float] = Field(default_factory=dict, description="Cost per model id.")
    remote_calls: int = Field(ge=0, description="Calls answered by a remote model.")
    local_share: float = Field(
        ge=0,
        le=1,
        description="Share of the request's answered calls answered without any remote "
        "model (1.0: nothing left the premises).",
    )


class CallOutcome(Contract):
    task_id: str
    micromodel: str
    arguments: dict[str, JsonValue]
    status: CallStatus = Field(
        description="ok: answered; failed: the micromodel reported an error; "
        "missing: no reply before the deadline."
    )
    output: dict[str, JsonValue] | None = None
    summary: str | None = None
    error: ErrorInfo | None = None
    model: str | None = None
    tokens: TokenUsage | None = None
    latency_ms: float | None = Field(default=None, description="Micromodel's own time.")
    elapsed_ms: float | None = Field(
        default=None, description="From the task's dispatch to its reply, as the mesh saw it."
    )
    routing: CallRouting | None = Field(
        default=None, description="Where the call's data went; none before routing existed."
    )
    cost: float | None = Field(
        default=None, ge=0, description="What the call's tokens cost, at its card's price."
    )
    version: Version | None = Field(
        default=None,
        description="The version of the micromodel the call went to; none before versions "
        "were told apart.",
    )
    step: str | None = Field(
        default=None,
        max_length=64,
        description="The pipeline step that made the call (with its item, step[n], where "
        "the step maps over a list); none outside a pipeline.",
        examples=["extract", "summarise[2]"],
    )


class ModelWork(Contract):
    """What the orchestrator's own model did for a request (planning or composing)."""

    model: str = Field(description="Model id.")
    tokens: TokenUsage
    latency_ms: float = Field(ge=0, description="Model time, summed over its completions.")


class RequestCompletedData(Contract):
    status: ResponseStatus = Field(
        description="ok: every call answered; partial: some calls failed or are missing; "
        "failed: no answer could be given (see error)."
    )
    answer: str = Field(description="The composed answer.")
    calls: list[CallOutcome] = Field(default_factory=list)
    error: ErrorInfo | None = None
    planner: str = Field(
        description="What produced the plan: 'rules', 'explicit', or the planner with its model.",
        examples=["rules", "decomposition+gemma-3-270m-q4_k_m"],
    )
    plan: list[str] = Field(
        default_factory=list, description="The planner's steps: each decision, in order."
    )
    unplaced: list[str] = Field(
        default_factory=list,
        max_length=MAX_CALLS,
        description="Parts of the request no live micromodel answers, quoted; the rest was "
        "answered (status partial).",
    )
    steps: int = Field(
        default=1,
        ge=0,
        description="Rounds of calls: more than one when a later call needed "
        "an earlier one's result.",
    )
    planning: ModelWork | None = Field(
        default=None, description="The planner model's work, all rounds; none for rules alone."
    )
    composer: str = Field(
        default="template", description="What wrote the answer: 'template' or 'template+<model>'."
    )
    composing: ModelWork | None = Field(default=None, description="The composer model's work.")
    classification: Classification | None = Field(
        default=None,
        description="The request's classification as the mesh handled it: the caller's, "
        "raised where its input carries personal data.",
    )
    cost: CostReport | None = Field(
        default=None, description="Tokens and cost per model and in total; where it ran."
    )
    metadata: dict[str, str] = Field(default_factory=dict)
    pipeline: str | None = Field(
        default=None, max_length=200, description="The pipeline run (name@version), if any."
    )
    output: dict[str, JsonValue] | None = Field(
        default=None,
        description="A pipeline's shaped output, valid against its output schema; none "
        "outside a pipeline, or when a step it needs did not run.",
    )
    elapsed_ms: float = Field(ge=0, description="From the request's arrival to this response.")


class RequestCompleted(Envelope):
    """The mesh answered a request: exactly one per request."""

    type: Literal["slmesh.RequestCompleted"]
    dataschema: Literal["urn:slmesh:RequestCompleted:v1"]
    data: RequestCompletedData


# --- MicromodelAnnounced ------------------------------------------------------------


# A price per million tokens above this is a typo, not a price.
MAX_PRICE_PER_MTOK = 1_000_000.0


class ModelPrice(Contract):
    """What a model's tokens cost, per million; a card without one is free."""

    input_per_mtok: float = Field(
        ge=0,
        le=MAX_PRICE_PER_MTOK,
        allow_inf_nan=False,
        description="Price of a million prompt tokens.",
        examples=[0.15],
    )
    output_per_mtok: float = Field(
        ge=0,
        le=MAX_PRICE_PER_MTOK,
        allow_inf_nan=False,
        description="Price of a million completion tokens.",
        examples=[0.6],
    )
    currency: str = Field(
        default="USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code.", examples=["EUR"]
    )


class MicromodelAnnouncedData(Contract):
    name: MicromodelName
    version: str = Field(
        max_length=64,
        description="Its version. Two versions serve side by side on task topics of their "
        "own (the one with the plain topic, and others on <topic>.v<version>).",
        examples=["0.1.0"],
    )
    description: str = Field(max_length=2000, description="What the micromodel does (tool text).")
    input_schema: dict[str, JsonValue] = Field(description="JSON Schema of its arguments.")
    output_schema: dict[str, JsonValue] = Field(description="JSON Schema of its output.")
    topic: str = Field(pattern=_TOPIC_PATTERN, description="Its task topic.")
    model: str = Field(description="Model id, or 'deterministic'.")
    replica: str = Field(max_length=256, description="The announcing replica.")
    status: Literal["up", "down"] = Field(
        description="up: serving (repeated as a heartbeat); down: stopped on purpose."
    )
    heartbeat_s: float = Field(
        gt=0, le=3600, description="Seconds between heartbeats; missing three means gone."
    )
    # Where it runs and what data it may receive: what the orchestrator routes by. All
    # have defaults, so a card from before these fields reads as an on-premise micromodel
    # that may receive anything, as every micromodel then was.
    locality: Locality = Field(
        default="on-premise",
        description="on-premise: inference runs on the enterprise's machines; remote: the "
        "payload goes to the provider's endpoint.",
    )
    provider: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Who runs a remote model (e.g. 'openai', or the endpoint's host); none "
        "on-premise.",
        examples=["api.openai.com"],
    )
    max_classification: Classification = Field(
        default="restricted",
        description="The highest data classification it may receive "
        "(public < internal < confidential < restricted).",
    )
    on_pii: PiiAction = Field(
        default="local",
        description="When a payload bound for it carries personal data: local: the call "
        "goes to a local alternative; redact: it is sent redacted; refuse: it is refused.",
    )
    serves: MicromodelName | None = Field(
        default=None,
        description="The tool it is an alternative for (a 'summarizer-cloud' serves "
        "'summarizer'); none: its own name.",
    )
    price: ModelPrice | None = Field(default=None, description="What its tokens cost; none: free.")
    routing: Routing | None = Field(
        default=None,
        description="How the planner routes requests to it and reads its arguments; none: "
        "by its name, description and input schema alone.",
    )


class MicromodelAnnounced(Envelope):
    """A micromodel replica says it is serving (or stopped): the live registry."""

    type: Literal["slmesh.MicromodelAnnounced"]
    dataschema: Literal["urn:slmesh:MicromodelAnnounced:v1"]
    data: MicromodelAnnouncedData


class PipelineStepCard(Contract):
    """A pipeline's step as its card shows it: which micromodel it calls, and how."""

    id: str = Field(max_length=40, description="The step's name in its pipeline.")
    micromodel: MicromodelName
    maps: bool = Field(default=False, description="Whether it calls once per list item.")
    switched: bool = Field(
        default=False, description="Whether it runs only when an earlier output says so."
    )


class PipelineAnnouncedData(Contract):
    name: PipelineName
    version: Version
    description: str = Field(max_length=2000, description="What the pipeline does (tool text).")
    input_schema: dict[str, JsonValue] = Field(description="JSON Schema of its arguments.")
    output_schema: dict[str, JsonValue] = Field(
        description="JSON Schema of its shaped output; {} when it declares none."
    )
    steps: list[PipelineStepCard] = Field(
        min_length=1, max_length=24, description="Its steps, in the order they are declared."
    )
    digest: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the whole definition as loaded: two replicas running "
        "different files under one name are told apart by it.",
    )
    replica: str = Field(max_length=256, description="The announcing orchestrator replica.")
    status: Literal["up", "down"] = Field(
        description="up: runnable here (repeated as a heartbeat); down: stopped on purpose."
    )
    heartbeat_s: float = Field(
        gt=0, le=3600, description="Seconds between heartbeats; missing three means gone."
    )
    routing: Routing | None = Field(
        default=None, description="How the planner routes requests to it, if it is offered."
    )


class PipelineAnnounced(Envelope):
    """An orchestrator replica says it runs a declared pipeline (or stopped): the registry
    lists pipelines beside micromodels, under keys pipeline:<name>/<replica>."""

    type: Literal["slmesh.PipelineAnnounced"]
    dataschema: Literal["urn:slmesh:PipelineAnnounced:v1"]
    data: PipelineAnnouncedData


EVENT_TYPES: tuple[type[Envelope], ...] = (
    RequestSubmitted,
    TaskRequested,
    TaskCompleted,
    TaskFailed,
    RequestCompleted,
    MicromodelAnnounced,
    PipelineAnnounced,
)

Reply = TaskCompleted | TaskFailed
Event = RequestSubmitted | TaskRequested | TaskCompleted | TaskFailed | RequestCompleted

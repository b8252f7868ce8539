"""What a response says, from the gather state and the replies: pure functions, no I/O.

Each call's outcome, the calls that never ran, the deadline's error, the
response's status, the response of an answered request (its answer's text
from composition), a failed response, the response that replaces one too
large to send, and a model's work (the planner's over rounds, the composer's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slmesh.orchestrator.composition import Composition
from slmesh.orchestrator.gather.state import GatherSnapshot, GatherState
from slmesh.orchestrator.planning.plan import Plan
from slmesh.orchestrator.policy.cost import cost_of, cost_report
from slmesh.schemas import (
    CallOutcome,
    ErrorCode,
    ErrorInfo,
    ModelPrice,
    ModelWork,
    RequestCompleted,
    ResponseStatus,
    TaskCompleted,
    TokenUsage,
)

if TYPE_CHECKING:
    from slmesh.runtime.llm import Usage

# Steps of a plan a response shows: a request of thousands of clauses is said in brief.
MAX_PLAN_STEPS = 100
# How many unplaced parts a response names, and how much of each it quotes.
MAX_UNPLACED = 16
MAX_UNPLACED_CHARS = 160


def outcomes(snapshot: GatherSnapshot) -> list[CallOutcome]:
    """Each call of the request as answered, failed, or missing (no reply yet)."""
    result = []
    run = snapshot.request.pipeline
    steps = run.tasks if run is not None else {}
    for call in snapshot.calls:
        base: dict[str, Any] = {
            "task_id": call.task_id,
            "micromodel": call.micromodel,
            "arguments": call.arguments,
            "routing": call.routing,
            "version": call.version,
            "step": steps.get(call.task_id),
        }
        stored = snapshot.results.get(call.task_id)
        if stored is None:
            result.append(CallOutcome(status="missing", **base))
            continue
        event = stored.event
        elapsed = round(stored.received_ms - call.dispatched_ms, 3)
        if isinstance(event, TaskCompleted):
            result.append(
                CallOutcome(
                    status="ok",
                    output=event.data.output,
                    summary=event.data.summary,
                    model=event.data.model,
                    tokens=event.data.tokens,
                    cost=cost_of(event.data.tokens, call.price),
                    latency_ms=event.data.latency_ms,
                    elapsed_ms=elapsed,
                    **base,
                )
            )
        else:
            result.append(
                CallOutcome(
                    status="failed",
                    error=event.data.error,
                    latency_ms=event.data.latency_ms,
                    elapsed_ms=elapsed,
                    **base,
                )
            )
    return result


def not_run(rid: str, state: GatherState) -> list[CallOutcome]:
    """Deferred calls that never ran: missing at the deadline, failed when nothing fed them."""
    never = [("deferred", d, None) for d in state.deferred] + [
        ("unresolved", d, f"{d.clause!r}: {d.reason}") for d in state.unresolved
    ]
    return [
        CallOutcome(
            task_id=f"{rid}:{kind}-{i}",
            micromodel=d.micromodel,
            arguments={},
            status="missing" if why is None else "failed",
            error=None if why is None else ErrorInfo.about("invalid_arguments", why),
        )
        for i, (kind, d, why) in enumerate(never, start=1)
    ]


def deadline_error(
    calls: list[CallOutcome], lost: str | None = None, lost_code: ErrorCode = "state_lost"
) -> ErrorInfo | None:
    """The response's error when calls are missing: the deadline passed before their replies,
    or (`lost`: why, `lost_code`) they were lost (by the broker, say, or a reply that could
    not be gathered)."""
    missing = [c.task_id for c in calls if c.status == "missing"]
    if not missing:
        return None
    if lost is not None:
        return ErrorInfo.about(
            lost_code,
            f"{lost}; no reply for {len(missing)} call(s): {', '.join(missing)}",
            retryable=True,
        )
    return ErrorInfo.about(
        "deadline_exceeded",
        f"no reply before the deadline for {len(missing)} call(s): {', '.join(missing)}",
        retryable=True,
    )


def response_status(calls: list[CallOutcome], unplaced: list[str] | None = None) -> ResponseStatus:
    """ok: every call answered and every part of the request placed; partial: some of it
    answered; failed: none of it."""
    answered = sum(c.status == "ok" for c in calls)
    if answered == len(calls):
        return "partial" if unplaced and answered else "ok"
    return "partial" if answered else "failed"


def unplaced_parts(parts: list[str]) -> list[str]:
    """The parts of a request no micromodel answers, as a response names them: each cut to
    MAX_UNPLACED_CHARS, at most MAX_UNPLACED of them."""
    cut = [
        p if len(p) <= MAX_UNPLACED_CHARS else p[: MAX_UNPLACED_CHARS - 3] + "..." for p in parts
    ]
    return list(dict.fromkeys(cut))[:MAX_UNPLACED]


def with_unplaced(answer: str, unplaced: list[str]) -> str:
    """The answer, and what it does not answer: the caller learns which part to ask elsewhere."""
    if not unplaced:
        return answer
    named = "; ".join(repr(p) for p in unplaced)
    return f"{answer}\nNot answered (no live micromodel does this): {named}"


def answered(
    source: str,
    request_id: str,
    state: GatherState,
    calls: list[CallOutcome],
    composition: Composition,
    *,
    elapsed_ms: float,
    lost: str | None = None,
    lost_code: ErrorCode = "state_lost",
    prices: tuple[ModelPrice | None, ModelPrice | None] = (None, None),
    output: dict[str, Any] | None = None,
) -> RequestCompleted:
    """The response of a request whose calls were gathered (or whose deadline passed, or
    whose missing calls were lost: `lost` says why, `lost_code` names it), under the
    caller's own `request_id`. `prices`: of the planner's and the composer's models;
    `output`: a pipeline's shaped output."""
    status = response_status(calls, state.unplaced)
    run = state.pipeline
    if run is not None and run.definition.output and output is None and status == "ok":
        # Every call answered, but the output it declares could not be made: not all of it.
        status = "partial"
    return RequestCompleted.create(
        data={
            "status": status,
            "pipeline": None if run is None else f"{run.definition.name}@{run.definition.version}",
            "output": output,
            "answer": with_unplaced(composition.answer, state.unplaced),
            "unplaced": state.unplaced,
            "calls": calls,
            "planner": state.planner,
            "plan": state.plan,
            "steps": state.round,
            "planning": state.planning,
            "composer": composition.composer,
            "composing": composition.work,
            "classification": state.classification,
            "cost": cost_report(
                calls,
                planning=state.planning,
                composing=composition.work,
                planning_price=prices[0],
                composing_price=prices[1],
            ),
            "metadata": state.metadata,
            "elapsed_ms": elapsed_ms,
            "error": deadline_error(calls, lost, lost_code),
        },
        source=source,
        request_id=request_id,
        causation_id=state.event_id,
    )


def failed(
    source: str,
    request_id: str,
    error: ErrorInfo,
    answer: str,
    causation_id: str | None = None,
    **data: Any,
) -> RequestCompleted:
    """A failed response: nothing was (or could be) gathered for the request (`request_id`:
    the caller's own)."""
    return RequestCompleted.create(
        data={
            "status": "failed",
            "answer": answer,
            "error": error,
            "planner": "none",
            "elapsed_ms": 0.0,
            **data,
        },
        source=source,
        request_id=request_id,
        causation_id=causation_id,
    )


def plan_failure(plan: Plan) -> dict[str, Any]:
    """What a failed response says of the plan that could not be run."""
    return {
        "planner": plan.planner,
        "plan": shown(plan.steps),
        "planning": planning_work(plan),
        "unplaced": unplaced_parts(plan.unplaced),
    }


def too_large_message(response: RequestCompleted, exc: Exception) -> str:
    return (
        f"the answer of {len(response.data.calls)} call(s) is larger than a response may be "
        f"({exc}); ask for less at once"
    )


def too_large(response: RequestCompleted, message: str) -> RequestCompleted:
    """The failed response sent instead of one the broker refused as too large."""
    data = response.data
    return failed(
        response.source,
        response.requestid,
        ErrorInfo.about("payload_too_large", message),
        f"The answer could not be sent: {message}",
        response.causationid,
        planner=data.planner,
        plan=data.plan,
        steps=data.steps,
        metadata=data.metadata,
        elapsed_ms=data.elapsed_ms,
    )


def shown(steps: list[str]) -> list[str]:
    """A plan's steps as a response shows them: at most MAX_PLAN_STEPS."""
    if len(steps) <= MAX_PLAN_STEPS:
        return steps
    return [*steps[: MAX_PLAN_STEPS - 1], f"... and {len(steps) - MAX_PLAN_STEPS + 1} more steps"]


def planning_work(plan: Plan) -> ModelWork | None:
    """What the planner's model did for a plan; None when it was not asked."""
    if plan.model is None or plan.work is None:
        return None
    return model_work(plan.model, plan.work)


def model_work(model: str, usage: Usage) -> ModelWork:
    """What a model did for a request, as the response reports it (planning, composing)."""
    return ModelWork(
        model=model,
        tokens=TokenUsage(prompt=usage.prompt_tokens, completion=usage.completion_tokens),
        latency_ms=round(usage.seconds * 1000, 3),
    )


def add_work(a: ModelWork | None, b: ModelWork | None) -> ModelWork | None:
    """The model's work over two rounds of planning."""
    if a is None:
        return b
    if b is None:
        return a
    return ModelWork(
        model=a.model,
        tokens=TokenUsage(
            prompt=a.tokens.prompt + b.tokens.prompt,
            completion=a.tokens.completion + b.tokens.completion,
        ),
        latency_ms=round(a.latency_ms + b.latency_ms, 3),
    )

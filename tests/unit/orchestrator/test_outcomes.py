"""The pure functions a response is made of: outcomes, calls never run, errors, failed responses."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError

from slmesh.orchestrator.composition import Composition
from slmesh.orchestrator.gather.state import (
    DeferredClause,
    GatherCall,
    GatherSnapshot,
    GatherState,
    StoredReply,
    Unresolved,
)
from slmesh.orchestrator.outcomes import (
    MAX_PLAN_STEPS,
    add_work,
    answered,
    deadline_error,
    failed,
    not_run,
    outcomes,
    plan_failure,
    planning_work,
    shown,
    too_large,
    too_large_message,
)
from slmesh.orchestrator.planning.plan import Plan
from slmesh.runtime.llm import Usage
from slmesh.schemas import ErrorInfo, ModelWork, TaskCompleted, TaskFailed, TokenUsage, encode

RID = "req-7"


def state(**fields: Any) -> GatherState:
    return GatherState(
        event_id="ev-7",
        reply_topic="slmesh.responses",
        planner="rules",
        deadline_ms=2_000,
        received_ms=1_000.0,
        **fields,
    )


def call(n: int, country: str) -> GatherCall:
    return GatherCall(
        task_id=f"{RID}:{n}",
        micromodel="vat-rates",
        arguments={"country": country},
        dispatched_ms=1_000.0,
    )


def completed(n: int) -> StoredReply:
    event = TaskCompleted.create(
        data={
            "task_id": f"{RID}:{n}",
            "micromodel": "vat-rates",
            "output": {"standard": 19.0},
            "summary": "Germany: 19%",
            "model": "deterministic",
            "tokens": {"prompt": 3, "completion": 4},
            "latency_ms": 0.5,
            "replica": "vat-1",
        },
        source="/test",
        request_id=RID,
    )
    return StoredReply.model_validate({"event": event, "received_ms": 1_012.25})


def failed_reply(n: int) -> StoredReply:
    event = TaskFailed.create(
        data={
            "task_id": f"{RID}:{n}",
            "micromodel": "vat-rates",
            "error": {"code": "invalid_arguments", "message": "country: no such country"},
            "latency_ms": 0.25,
            "replica": "vat-1",
        },
        source="/test",
        request_id=RID,
    )
    return StoredReply.model_validate({"event": event, "received_ms": 1_020.0})


def test_each_call_is_ok_failed_or_missing() -> None:
    snapshot = GatherSnapshot(
        request=state(),
        calls=[call(1, "DE"), call(2, "XX"), call(3, "FR")],
        results={f"{RID}:1": completed(1), f"{RID}:2": failed_reply(2)},
    )
    ok, bad, missing = outcomes(snapshot)
    assert ok.status == "ok"
    assert ok.output == {"standard": 19.0}
    assert ok.summary == "Germany: 19%"
    assert ok.tokens == TokenUsage(prompt=3, completion=4)
    assert ok.latency_ms == 0.5
    # From dispatch to reply, as the orchestrator saw it.
    assert ok.elapsed_ms == 12.25
    assert bad.status == "failed"
    assert bad.error is not None
    assert bad.error.code == "invalid_arguments"
    assert bad.elapsed_ms == 20.0
    assert missing.status == "missing"
    assert missing.arguments == {"country": "FR"}
    assert [c.task_id for c in (ok, bad, missing)] == [f"{RID}:1", f"{RID}:2", f"{RID}:3"]

    error = deadline_error([ok, bad, missing])
    assert error is not None
    assert error.code == "deadline_exceeded"
    assert error.retryable
    assert error.message == f"no reply before the deadline for 1 call(s): {RID}:3"
    assert deadline_error([ok, bad]) is None


def test_deferred_calls_never_run_are_missing_and_unresolved_ones_failed() -> None:
    never = not_run(
        RID,
        state(
            deferred=[DeferredClause(clause="summarize it", micromodel="summarizer")],
            unresolved=[Unresolved(clause="classify it", micromodel="classifier", reason="why")],
        ),
    )
    assert [(c.task_id, c.micromodel, c.status) for c in never] == [
        (f"{RID}:deferred-1", "summarizer", "missing"),
        (f"{RID}:unresolved-2", "classifier", "failed"),
    ]
    assert never[1].error == ErrorInfo.about("invalid_arguments", "'classify it': why")


def test_an_answered_request_says_what_its_state_and_calls_say() -> None:
    snapshot = GatherSnapshot(request=state(), calls=[call(1, "DE")], results={})
    calls = outcomes(snapshot)
    work = ModelWork(model="m", tokens=TokenUsage(prompt=1, completion=2), latency_ms=3.0)
    response = answered(
        "/slmesh/orchestrator/o-1",
        RID,
        state(plan=["VAT rule: DE"], round=2, planning=work, metadata={"k": "v"}),
        calls,
        Composition("No answer.", "template"),
        elapsed_ms=42.0,
    )
    data = response.data
    assert response.causationid == "ev-7"
    assert response.requestid == RID
    assert data.status == "failed"
    assert data.plan == ["VAT rule: DE"]
    assert data.steps == 2
    assert data.planning == work
    assert data.metadata == {"k": "v"}
    assert data.elapsed_ms == 42.0
    assert data.error is not None
    assert data.error.code == "deadline_exceeded"


def test_a_failed_response_and_the_one_that_replaces_a_too_large_answer() -> None:
    plan = Plan("rules", reason="nothing matches", steps=["a", "b"])
    response = failed(
        "/slmesh/orchestrator/o-1",
        RID,
        ErrorInfo.about("no_plan", plan.reason),
        "The mesh cannot answer this request: nothing matches",
        "ev-7",
        **plan_failure(plan),
        elapsed_ms=1.5,
    )
    assert response.data.status == "failed"
    assert response.data.planner == "rules"
    assert response.data.plan == ["a", "b"]
    assert response.data.planning is None
    assert response.causationid == "ev-7"

    message = too_large_message(response, MessageSizeTooLargeError())
    assert message.startswith("the answer of 0 call(s) is larger than a response may be")
    smaller = too_large(response, message)
    assert smaller.data.error is not None
    assert smaller.data.error.code == "payload_too_large"
    assert smaller.data.answer == f"The answer could not be sent: {message}"
    assert smaller.data.plan == ["a", "b"]
    assert smaller.data.elapsed_ms == 1.5
    assert len(encode(smaller)) < 2_000


def test_a_long_plan_is_shown_in_brief() -> None:
    steps = [f"step {i}" for i in range(250)]
    brief = shown(steps)
    assert len(brief) == MAX_PLAN_STEPS
    assert brief[-1] == f"... and {250 - MAX_PLAN_STEPS + 1} more steps"
    assert shown(steps[:3]) == steps[:3]


def test_the_planner_models_work_adds_up_over_rounds() -> None:
    usage = Usage(prompt_tokens=10, completion_tokens=2, seconds=0.0125)
    first = planning_work(Plan("p", model="m", work=usage))
    assert first == ModelWork(
        model="m", tokens=TokenUsage(prompt=10, completion=2), latency_ms=12.5
    )
    assert planning_work(Plan("rules")) is None
    both = add_work(first, first)
    assert both == ModelWork(model="m", tokens=TokenUsage(prompt=20, completion=4), latency_ms=25.0)
    assert add_work(None, first) == first
    assert add_work(first, None) == first
    assert add_work(None, None) is None


def test_what_a_response_says_loads_no_model_broker_or_store() -> None:
    """Outcomes sit below the composer and the verbs: pure, so any of them may use outcomes."""
    forbidden = (
        "slmesh.runtime",
        "slmesh.orchestrator.composer",
        "aiokafka",
        "faststream",
        "redis",
        "llama_cpp",
        "numpy",
    )
    probe = (
        "import sys\nimport slmesh.orchestrator.outcomes\n"
        f"print(','.join(sorted(m for m in sys.modules if m.startswith({forbidden!r}))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""

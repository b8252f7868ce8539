"""The typed gather state reads what earlier versions wrote, and writes the same JSON."""

from __future__ import annotations

import orjson

from slmesh.orchestrator.gather.state import GatherCall, GatherState, StoredReply, Unresolved
from slmesh.schemas import TaskCompleted, TaskFailed, encode

# A request's state exactly as the orchestrator wrote it before it was typed
# (orjson.dumps of its dict, keys in the order it built them).
OLD_STATE = (
    b'{"event_id":"3f1c2a9e8d7b4c6a","reply_topic":"erp.slmesh-responses",'
    b'"metadata":{"erp-ref":"INV-42"},"classification":"confidential",'
    b'"input":"VAT in Germany, then summarize this: the pass closed on Friday night.",'
    b'"explicit":false,"planner":"decomposition+gemma-3-270m-q4_k_m",'
    b'"plan":["\'VAT in Germany\' -> vat-rates (rule): 1 call(s)"],'
    b'"planning":{"model":"gemma-3-270m-q4_k_m","tokens":{"prompt":312,"completion":9},'
    b'"latency_ms":84.125},'
    b'"deferred":[{"clause":"summarize the result","micromodel":"summarizer"}],'
    b'"unresolved":[],"round":1,"deadline_ms":1764300030000,'
    b'"received_ms":1764300000000.125,"opening":true}'
)
# Its second round as written after a follow-up left a clause unresolved.
OLD_NEXT_ROUND = (
    b'{"event_id":"e1","reply_topic":"slmesh.responses","metadata":{},'
    b'"classification":"internal","input":"x","explicit":false,"planner":"rules",'
    b'"plan":["a","round 2: b"],"planning":null,"deferred":[],'
    b'"unresolved":[{"clause":"classify it","micromodel":"classifier",'
    b'"reason":"no argument for it in the request or the results"}],'
    b'"round":2,"deadline_ms":1764300030000,"received_ms":1764300000000.5,"opening":false}'
)
OLD_CALLS = (
    b'[{"task_id":"req-1:1","micromodel":"vat-rates","arguments":{"country":"DE"},'
    b'"dispatched_ms":1764300000001.25},'
    b'{"task_id":"req-1:2","micromodel":"summarizer","arguments":{"text":"t","max_words":12},'
    b'"dispatched_ms":1764300000001.5}]'
)


def test_a_state_written_by_the_old_code_loads_and_dumps_to_the_same_bytes() -> None:
    state = GatherState.from_json(OLD_STATE)
    assert state.classification == "confidential"
    assert state.planning is not None
    assert state.planning.tokens.prompt == 312
    assert state.deferred[0].micromodel == "summarizer"
    assert state.opening is True
    assert list(orjson.loads(state.to_json())) == list(orjson.loads(OLD_STATE))
    assert state.to_json() == OLD_STATE

    later = GatherState.from_json(OLD_NEXT_ROUND)
    assert later.unresolved == [
        Unresolved(
            clause="classify it",
            micromodel="classifier",
            reason="no argument for it in the request or the results",
        )
    ]
    assert later.to_json() == OLD_NEXT_ROUND


def test_keys_the_old_reader_defaulted_have_the_same_defaults() -> None:
    state = GatherState.from_json(
        b'{"event_id":"e","reply_topic":"r","metadata":{},"classification":"internal",'
        b'"planner":"rules","deadline_ms":1,"received_ms":0.5}'
    )
    assert state.plan == []
    assert state.planning is None
    assert state.deferred == []
    assert state.unresolved == []
    assert state.round == 1
    assert state.opening is False


def test_calls_written_by_the_old_code_load_and_dump_to_the_same_bytes() -> None:
    calls = [GatherCall.model_validate(c) for c in orjson.loads(OLD_CALLS)]
    assert calls[1].arguments == {"text": "t", "max_words": 12}
    assert orjson.dumps([c.model_dump() for c in calls]) == OLD_CALLS


def test_a_reply_is_stored_as_its_bytes_and_read_back_typed() -> None:
    completed = TaskCompleted.create(
        data={
            "task_id": "req-1:1",
            "micromodel": "vat-rates",
            "output": {"country": "DE", "standard": 19.0},
            "summary": "Germany: 19%",
            "model": "deterministic",
            "latency_ms": 0.4,
            "replica": "vat-1",
        },
        source="/slmesh/vat-rates/vat-1",
        request_id="req-1",
    )
    raw = encode(completed)
    stored = StoredReply.encode(raw, 1764300000002.75)
    # As the old code stored it: the event's bytes untouched, then the time.
    assert stored == b'{"event":' + raw + b',"received_ms":1764300000002.75}'
    reply = StoredReply.model_validate(orjson.loads(stored))
    assert reply.event == completed
    assert reply.received_ms == 1764300000002.75

    failed = TaskFailed.create(
        data={
            "task_id": "req-1:2",
            "micromodel": "vat-rates",
            "error": {"code": "invalid_arguments", "message": "country: bad"},
            "latency_ms": 0.0,
            "replica": "vat-1",
        },
        source="/slmesh/vat-rates/vat-1",
        request_id="req-1",
    )
    back = StoredReply.model_validate(orjson.loads(StoredReply.encode(encode(failed), 1.5)))
    assert isinstance(back.event, TaskFailed)
    assert back.event.data.error.code == "invalid_arguments"


def test_a_traced_request_keeps_its_trace_context_and_an_untraced_one_writes_no_key() -> None:
    traced = GatherState.from_json(OLD_STATE).model_copy(
        update={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    )
    assert GatherState.from_json(traced.to_json()) == traced
    assert b'"traceparent":"00-0af7' in traced.to_json()
    assert b"traceparent" not in GatherState.from_json(OLD_STATE).to_json()

"""What `slmesh tail`, `lag` and `registry` print, from values alone (no broker)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from slmesh.cli.commands.lag.report import GroupLag, LagReport, format_lags
from slmesh.cli.commands.registry.replicas import RefusedRow, ReplicaRow, format_registry
from slmesh.cli.commands.tail.lines import gist, matcher, pretty
from slmesh.cli.records import Seen, topic_name
from slmesh.schemas import RequestSubmitted, encode
from tests.support.binary_mode import binary_mode

RID = "req-9"


def record(value: Any, *, topic: str = "slmesh.replies", key: str | None = RID) -> Seen:
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = None
    event = parsed if isinstance(parsed, dict) else None
    return Seen(topic, 2, 17, 1_700_000_000_123, key, {}, raw, event)


def event(kind: str, data: Any, rid: str = RID) -> dict[str, Any]:
    return {"type": f"slmesh.{kind}", "requestid": rid, "data": data}


# --- tail --------------------------------------------------------------------------------


def test_topic_names_take_the_short_form() -> None:
    assert topic_name("requests") == "slmesh.requests"
    assert topic_name("tasks.vat-rates") == "slmesh.tasks.vat-rates"
    assert topic_name("slmesh.replies") == "slmesh.replies"


def test_each_kind_of_event_has_its_gist() -> None:
    request = record(event("RequestSubmitted", {"input": "VAT  in\nDE?"}), topic="slmesh.requests")
    assert gist(request) == "VAT in DE?"
    task = record(
        event(
            "TaskRequested",
            {"micromodel": "vat-rates", "task_id": f"{RID}:1", "arguments": {"country": "DE"}},
        )
    )
    assert gist(task) == f'vat-rates {RID}:1 {{"country":"DE"}}'
    completed = {
        "micromodel": "summarizer",
        "task_id": f"{RID}:2",
        "model": "gemma",
        "latency_ms": 12.34,
        "tokens": {"prompt": 40, "completion": 9},
    }
    assert gist(record(event("TaskCompleted", completed))) == (
        f"summarizer {RID}:2 ok gemma, 12.3 ms, 40+9 tokens"
    )
    failed = {
        "micromodel": "vat-rates",
        "task_id": f"{RID}:3",
        "error": {"code": "invalid_arguments", "message": "country: 'XX' is not one of"},
    }
    assert gist(record(event("TaskFailed", failed))) == (
        f"vat-rates {RID}:3 failed invalid_arguments: country: 'XX' is not one of"
    )
    response = {"status": "ok", "elapsed_ms": 30, "answer": "Germany (DE): 19%\nFrance (FR): 20%"}
    assert gist(record(event("RequestCompleted", response))) == "ok in 30.0 ms: Germany (DE): 19%"


def test_a_line_says_when_where_what_and_whose() -> None:
    line = pretty(record(event("RequestSubmitted", {"input": "hi"}), topic="slmesh.requests"))
    assert line == f"22:13:20.123 slmesh.requests[2]@17 RequestSubmitted {RID} hi"


@pytest.mark.parametrize(
    "value",
    [
        b"\xff\xfe\x00 garbage",
        b"",
        b"[1, 2]",
        event("TaskCompleted", {"latency_ms": None}),
        event("TaskCompleted", {"latency_ms": 1, "tokens": [1, 2]}),
        event("TaskFailed", {"error": "boom"}),
        event("RequestCompleted", {"elapsed_ms": "soon"}),
        event("TaskRequested", "not an object"),
        {"type": 5, "requestid": ["x"], "data": None},
    ],
)
def test_garbage_and_malformed_events_are_shown_never_raised(value: Any) -> None:
    seen = record(value)
    line = pretty(seen)
    assert "slmesh.replies[2]@17" in line
    # The JSON form always encodes.
    assert orjson.loads(orjson.dumps(seen.as_json()))["offset"] == 17


def test_bytes_that_are_no_json_say_so() -> None:
    assert gist(record(b"\xff\xfe\x00 garbage")).startswith("(not JSON: 11 bytes")
    assert gist(record(event("TaskFailed", {"error": "boom"}))).startswith("(malformed event")


def test_filters_by_request_id_and_by_type_long_or_short() -> None:
    completed = record(event("TaskCompleted", {}))
    other = record(event("TaskCompleted", {}, rid="req-other"), key="req-other")
    # A value without a request id: its key is its request.
    garbage = record(b"\x00\x01")
    assert matcher(RID, None)(completed)
    assert not matcher(RID, None)(other)
    assert matcher(RID, None)(garbage)
    assert matcher(None, "TaskCompleted")(completed)
    assert matcher(None, "slmesh.TaskCompleted")(completed)
    assert not matcher(None, "TaskFailed")(completed)
    assert not matcher(RID, "TaskCompleted")(garbage)
    assert matcher(None, None)(garbage)


# --- lag ---------------------------------------------------------------------------------


def lag_row(group: str, committed: int, end: int, members: int | None = 1) -> GroupLag:
    return GroupLag(group, "slmesh.tasks.vat-rates", committed, end, members)


def test_lag_is_end_less_committed_and_a_micromodels_group_is_named() -> None:
    vat = lag_row("slmesh.micromodel.vat-rates", 5, 8)
    assert (vat.lag, vat.micromodel) == (3, "vat-rates")
    orchestrator = lag_row("slmesh.orchestrator.requests", 4, 4)
    assert (orchestrator.lag, orchestrator.micromodel) == (0, None)


def test_the_lag_table_has_a_row_per_group_and_topic() -> None:
    out = format_lags(
        LagReport(
            [lag_row("slmesh.micromodel.vat-rates", 5, 8), lag_row("slmesh.shadow.vat-rates", 0, 8)]
        )
    )
    header, vat, shadow = out.splitlines()
    assert header.split() == [
        "group",
        "topic",
        "committed",
        "end",
        "lag",
        "members",
        "micromodel",
    ]
    assert vat.split() == [
        "slmesh.micromodel.vat-rates",
        "slmesh.tasks.vat-rates",
        "5",
        "8",
        "3",
        "1",
        "vat-rates",
    ]
    assert shadow.split() == [
        "slmesh.shadow.vat-rates",
        "slmesh.tasks.vat-rates",
        "0",
        "8",
        "8",
        "1",
    ]


def test_what_the_broker_would_not_answer_is_said() -> None:
    out = format_lags(
        LagReport(
            [lag_row("slmesh.micromodel.ghost", 0, 3, members=None)],
            listed=False,
            unreadable=["slmesh.odd"],
        )
    )
    lines = out.splitlines()
    assert lines[1].split()[5] == "?"
    assert lines[2].startswith("members ?: the broker would not describe the group")
    assert lines[3].startswith("note: the broker would not list its consumer groups")
    assert lines[4] == "note: the broker would not give the committed offsets of slmesh.odd"
    assert format_lags(LagReport([])) == "no consumer group of the mesh has committed anything yet"


# --- registry ----------------------------------------------------------------------------


def test_the_registry_lists_each_micromodel_with_its_replicas() -> None:
    rows = [
        ReplicaRow("vat-rates", "0.1.0", "deterministic", "vat-rates-1", "live", 1.25),
        ReplicaRow("vat-rates", "0.1.0", "deterministic", "vat-rates-2", "gone", 61.0),
        ReplicaRow("summarizer", "0.2.0", "gemma-3-270m", "summarizer-1", "down", 5.0),
    ]
    lines = format_registry(rows).splitlines()
    assert lines[0].split() == ["micromodel", "version", "replicas", "model"]
    # By name; the replica count is of the live ones.
    assert lines[1].split() == ["summarizer", "0.2.0", "0", "gemma-3-270m"]
    assert lines[2].split() == ["summarizer-1", "down", "heard", "5.0", "s", "ago"]
    assert lines[3].split() == ["vat-rates", "0.1.0", "1", "deterministic"]
    assert lines[4].split() == ["vat-rates-1", "live", "heard", "1.2", "s", "ago"]
    assert lines[5].split() == ["vat-rates-2", "gone", "heard", "61.0", "s", "ago"]
    assert "no micromodel has announced itself" in format_registry([])


def test_refused_cards_are_listed_apart_with_who_signed_them_and_why() -> None:
    rows = [ReplicaRow("vat-rates", "0.1.0", "deterministic", "vat-rates-1", "live", 1.25)]
    refused = [
        RefusedRow("vat-rates/rogue-1", "echo", "signed by 'echo', which does not serve", 2.0),
        RefusedRow("translator/x", None, "the record carries no proof of its writer", 0.5),
    ]
    lines = format_registry(rows, refused).splitlines()
    # The replicas' table is as before; a blank line ends it.
    assert lines[1].split() == ["vat-rates", "0.1.0", "1", "deterministic"]
    assert lines[3:5] == ["", "refused cards (in no catalogue):"]
    assert lines[5].split() == [
        "vat-rates/rogue-1",
        "refused",
        "signed",
        "by",
        "echo,",
        "heard",
        "2.0",
        "s",
        "ago",
    ]
    assert lines[6].strip() == "signed by 'echo', which does not serve"
    assert lines[7].split()[:4] == ["translator/x", "refused", "not", "proven,"]
    assert lines[8].strip() == "the record carries no proof of its writer"
    # Refused cards and nothing announced: both said.
    alone = format_registry([], refused[1:])
    assert "no micromodel has announced itself" in alone
    assert "translator/x" in alone


def test_a_binary_mode_record_is_read_as_its_whole_event() -> None:
    """`tail`, `trace` and `replay` read a binary-mode record (ce_* headers, value = data)
    as the event it is, not as its data alone."""
    request = RequestSubmitted.create(
        data={"input": "VAT in Germany"}, source="/erp", request_id="req-binary-1"
    )
    value, headers = binary_mode(request)
    data = orjson.loads(encode(request))["data"]
    raw = ConsumerRecord(
        "slmesh.requests",
        0,
        5,
        1_700_000_000_000,
        0,
        b"req-binary-1",
        value,
        None,
        12,
        len(value),
        headers,
    )
    seen = Seen.of(raw)
    assert seen.type == "slmesh.RequestSubmitted"
    assert seen.request_id == "req-binary-1"
    assert seen.data == data
    assert seen.as_json()["value"]["id"] == request.id


def test_a_header_without_a_value_is_read_as_empty() -> None:
    """Kafka allows a header with no value; reading such a record must not fail."""
    raw = ConsumerRecord(
        "slmesh.requests",
        0,
        6,
        1_700_000_000_000,
        0,
        None,
        b"{}",
        None,
        0,
        2,
        [("x-empty", None), ("content-type", b"application/json")],
    )
    seen = Seen.of(raw)
    assert seen.headers == {"x-empty": "", "content-type": "application/json"}

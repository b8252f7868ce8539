"""What `slmesh replay` picks, how it marks what it publishes, and how it compares answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from slmesh.cli.commands.replay.republishing import REPLAY, REPLAY_SOURCE, replay_headers
from slmesh.cli.commands.replay.requests import as_new_request, compare
from slmesh.cli.commands.replay.selection import Selection, parse_time
from slmesh.cli.records import Seen

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def record(
    kind: str = "TaskCompleted", rid: str = "req-1", offset: int = 5, at: datetime = NOW
) -> Seen:
    event = {
        "type": f"slmesh.{kind}",
        "id": "e1",
        "requestid": rid,
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "data": {"micromodel": "vat-rates", "input": "VAT?", "reply_topic": "erp.answers"},
    }
    return Seen(
        "slmesh.replies",
        2,
        offset,
        int(at.timestamp() * 1000),
        rid,
        {"content-type": "application/cloudevents+json", "traceparent": "00-x"},
        orjson.dumps(event),
        event,
    )


def test_times_are_iso_or_relative_to_now() -> None:
    assert parse_time("10m", NOW) == NOW - timedelta(minutes=10)
    assert parse_time("1.5h", NOW) == NOW - timedelta(hours=1.5)
    assert parse_time("2026-11-28T07:00:00") == datetime(2026, 11, 28, 7, tzinfo=UTC)
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_time("yesterday")


def test_every_criterion_given_must_hold() -> None:
    seen = record()
    assert Selection().matches(seen)
    assert Selection(partition=2, from_offset=5, to_offset=5).matches(seen)
    assert not Selection(partition=1).matches(seen)
    assert not Selection(to_offset=4).matches(seen)
    assert Selection(since=NOW - timedelta(seconds=1), until=NOW).matches(seen)
    assert not Selection(since=NOW + timedelta(seconds=1)).matches(seen)
    assert Selection(request_ids=frozenset({"req-1", "req-2"})).matches(seen)
    assert not Selection(request_ids=frozenset({"req-2"})).matches(seen)
    assert Selection(kind="TaskCompleted").matches(seen)
    assert Selection(kind="slmesh.TaskCompleted", micromodel="vat-rates").matches(seen)
    assert not Selection(kind="TaskFailed").matches(seen)
    assert not Selection(micromodel="summarizer").matches(seen)


def test_a_republished_record_keeps_its_headers_and_says_where_it_came_from() -> None:
    headers = dict(replay_headers(record()))
    assert headers[REPLAY] == b"true"
    assert headers[REPLAY_SOURCE] == b"slmesh.replies/2/5"
    assert headers["traceparent"] == b"00-x"


def test_a_request_replayed_as_new_has_new_ids_no_trace_and_answers_its_caller_alone() -> None:
    new_id, body = as_new_request(
        record("RequestSubmitted"), "req-replay-1", reply_topic="slmesh.responses.erp"
    )
    event = orjson.loads(body)
    assert (new_id, event["requestid"]) == ("req-replay-1", "req-replay-1")
    assert event["id"] != "e1"
    assert "traceparent" not in event
    # The record's own reply topic ("erp.answers") is not where the replay is answered.
    assert event["data"]["reply_topic"] == "slmesh.responses.erp"
    assert event["data"]["input"] == "VAT?"
    with pytest.raises(ValueError, match="no RequestSubmitted"):
        as_new_request(record("TaskCompleted"), reply_topic="slmesh.responses.erp")


def test_compare_marks_what_changed() -> None:
    call = {"micromodel": "vat-rates", "arguments": {"country": "DE"}, "status": "ok"}
    old = {"status": "ok", "answer": "Germany 19%", "calls": [call], "elapsed_ms": 9.0}
    new = {"status": "partial", "answer": "Germany 19%", "calls": [call], "elapsed_ms": 7.0}
    lines = compare(old, new).splitlines()
    assert next(ln for ln in lines if "status" in ln).startswith("* ")
    assert next(ln for ln in lines if "answer" in ln).startswith("  ")
    assert next(ln for ln in lines if "elapsed ms" in ln).startswith("  ")
    assert "-" in compare(None, new)


def test_compare_shows_each_calls_tokens_and_latency_and_marks_changed_output() -> None:
    def call(rates: list[int], tokens: int, latency: float) -> dict[str, object]:
        return {
            "micromodel": "vat-rates",
            "arguments": {"country": "DE"},
            "status": "ok",
            "model": "deterministic",
            "output": {"rates": rates},
            "tokens": {"prompt": tokens, "completion": 1},
            "latency_ms": latency,
            "elapsed_ms": latency * 10,
        }

    old = {"status": "ok", "answer": "a", "calls": [call([19], 3, 0.5)]}
    new = {"status": "ok", "answer": "a", "calls": [call([19, 7], 4, 0.25), call([1], 0, 1)]}
    lines = compare(old, new).splitlines()
    first = lines.index(next(ln for ln in lines if ln[2:].startswith("call 1")))
    call_1, tokens, latency, call_2, tokens_2 = lines[first : first + 5]
    assert call_1.startswith("* ")
    assert 'vat-rates(country=DE) ok deterministic {"rates":[19]}' in call_1
    assert tokens.startswith("* ")
    assert tokens.split()[-2:] == ["3+1", "4+1"]
    # Times are shown, never marked: they differ on every run.
    assert latency.startswith("  ")
    assert "0.50 ms in model 5.0 ms in mesh" in latency
    assert "0.25 ms in model 2.5 ms in mesh" in latency
    assert call_2.startswith("* ")
    assert call_2.split()[3] == "-"
    assert tokens_2.split()[-2:] == ["-", "0+1"]
    assert next(ln for ln in lines if "status" in ln).startswith("  ")

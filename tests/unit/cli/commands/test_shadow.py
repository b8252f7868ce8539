"""How a shadow run judges a candidate's replies against the recorded ones."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from slmesh.cli.commands.shadow.evaluation import (
    SHADOW_REPLIES,
    Pair,
    ShadowReport,
    format_report,
    judge,
    shadow_task,
)
from slmesh.cli.records import Seen
from slmesh.schemas import is_valid_task_id

SCHEMA = {
    "type": "object",
    "properties": {"rates": {"type": "array"}},
    "required": ["rates"],
}


def ok(output: object, latency: float = 1.0, tokens: int = 0) -> dict[str, object]:
    return {"output": output, "latency_ms": latency, "tokens": {"prompt": tokens, "completion": 0}}


def test_matches_changes_failures_and_schema_validity_are_counted() -> None:
    same = Pair("req-1:1", {"country": "DE"}, ok({"rates": [19]}), True, ok({"rates": [19]}), True)
    changed = Pair(
        "req-2:1",
        {"country": "FR"},
        ok({"rates": [20]}, 2.0, 10),
        True,
        ok({"x": 1}, 4.0, 15),
        True,
    )
    failed = Pair(
        "req-3:1",
        {"country": "XX"},
        ok({"rates": []}),
        True,
        {"error": {"code": "handler_error", "message": "boom"}, "latency_ms": 3.0},
        False,
    )
    silent = Pair("req-4:1", {"country": "IT"}, ok({"rates": [22]}), True)
    judge([same, changed, failed, silent], SCHEMA)
    assert (same.schema_valid, changed.schema_valid, failed.schema_valid) == (True, False, False)
    report = ShadowReport("vat-rates", "slmesh.shadow.vat-rates", [same, changed, failed, silent])
    report.has_schema = True
    summary = report.summary()
    assert (summary["tasks"], summary["answered"]) == (4, 3)
    assert (summary["exact_matches"], summary["changed"], summary["candidate_failed"]) == (1, 2, 1)
    assert summary["schema_valid"] == 1
    # Per task: 0, +2 and +2 ms.
    assert summary["latency_p50_ms"] == {"recorded": 1.0, "candidate": 3.0, "delta": 2.0}
    assert summary["tokens"] == {"recorded": 10, "candidate": 15, "delta": 5}
    shown = format_report(report)
    assert "exact matches     1" in shown
    assert "schema-valid      1" in shown
    assert "recorded 1.0 ms, candidate 3.0 ms; per task p50 +2.000 ms" in shown
    assert "recorded 10, candidate 15 (+5)" in shown
    assert "changed: req-2:1" in shown
    assert "candidate: failed handler_error: boom" in shown
    assert "no answer from the candidate for req-4:1" in shown
    # Both sides of a change, one under the other.
    lines = shown.splitlines()
    at = lines.index(next(ln for ln in lines if ln.startswith("changed: req-2:1")))
    assert lines[at + 1] == '  recorded:  {"rates":[20]}'
    assert lines[at + 2] == '  candidate: {"x":1}'


def test_failures_alike_are_a_match_and_without_a_schema_validity_is_not_judged() -> None:
    failure = {"error": {"code": "unknown_country", "message": "?"}, "latency_ms": 1.0}
    both_failed = Pair("req-5:1", {"country": "ZZ"}, failure, False, dict(failure), False)
    fixed = Pair("req-6:1", {"country": "ZZ"}, failure, False, ok({"rates": []}), True)
    judge([both_failed, fixed], None)
    assert both_failed.same
    assert not fixed.same
    report = ShadowReport("vat-rates", "t", [both_failed, fixed])
    summary = report.summary()
    assert (summary["exact_matches"], summary["changed"], summary["schema_valid"]) == (1, 1, None)
    assert "schema-valid      no announced schema" in format_report(report)
    assert format_report(ShadowReport("vat-rates", "t")).startswith("no recorded task")


def test_a_shadow_task_has_its_own_id_and_reply_topic() -> None:
    event = {
        "type": "slmesh.TaskRequested",
        "id": "e1",
        "requestid": "req-1",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "data": {"task_id": "req-1:2", "reply_topic": "slmesh.replies", "arguments": {}},
    }
    seen = Seen("slmesh.tasks.x", 0, 0, 0, "req-1:2", {}, orjson.dumps(event), event)
    new_id, body = shadow_task(seen, "ab12", datetime(2026, 11, 28, tzinfo=UTC))
    sent = orjson.loads(body)
    assert new_id == "req-1:2:shadow-ab12" == sent["data"]["task_id"]
    assert sent["data"]["reply_topic"] == SHADOW_REPLIES
    assert sent["id"] != "e1"
    assert sent["requestid"] == "req-1"
    assert sent["data"]["deadline"] == "2026-11-28T00:00:00+00:00"
    # The candidate's work is a trace of its own, not part of the recorded request's.
    assert "traceparent" not in sent
    assert is_valid_task_id(new_id)

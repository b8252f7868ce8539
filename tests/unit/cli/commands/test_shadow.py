"""How a shadow run judges a candidate's replies against the recorded ones, and what it may
copy where."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from slmesh.cli.commands.shadow.admission import (
    admit,
    candidate_topic_refusal,
    is_restricted,
    may_create_topics,
)
from slmesh.cli.commands.shadow.evaluation import (
    Pair,
    ShadowReport,
    format_report,
    judge,
    shadow_task,
)
from slmesh.cli.records import Seen
from slmesh.runtime.kafka.topics import SHADOW_REPLIES
from slmesh.runtime.settings import MeshSettings
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


def task(task_id: str, classification: str | None) -> Seen:
    data: dict[str, object] = {"task_id": task_id, "arguments": {"text": "payroll"}}
    if classification is not None:
        data["classification"] = classification
    event = {"type": "slmesh.TaskRequested", "id": task_id, "requestid": "req-1", "data": data}
    return Seen("slmesh.tasks.x", 0, 0, 0, task_id, {}, orjson.dumps(event), event)


def test_restricted_tasks_are_left_out_unless_included() -> None:
    tasks = [
        task("req-1:1", "public"),
        task("req-1:2", "restricted"),
        task("req-1:3", None),  # the contract's default: internal
        task("req-1:4", "confidential"),
    ]
    assert [is_restricted(t) for t in tasks] == [False, True, False, False]
    admission = admit(tasks)
    assert [t.key for t in admission.copied] == ["req-1:1", "req-1:3", "req-1:4"]
    assert [t.key for t in admission.restricted] == ["req-1:2"]
    every = admit(tasks, include_restricted=True)
    assert (every.copied, every.restricted) == (tasks, [])


def test_skipped_restricted_tasks_are_counted_and_said() -> None:
    pair = Pair("req-1:1", {}, ok({"rates": [19]}), True, ok({"rates": [19]}), True)
    report = ShadowReport("vat-rates", "slmesh.shadow.vat-rates", [pair], restricted_skipped=2)
    assert report.summary()["restricted_skipped"] == 2
    shown = format_report(report).splitlines()
    assert shown[1] == (
        "  skipped 2 restricted task(s): their data is not copied to a candidate "
        "(--include-restricted copies it)"
    )
    only_restricted = format_report(ShadowReport("vat-rates", "t", restricted_skipped=1))
    assert only_restricted.startswith("no recorded task of vat-rates matches the selection; ")
    assert "skipped 1 restricted task(s)" in only_restricted
    assert "skipped" not in format_report(ShadowReport("vat-rates", "t", [pair]))


@pytest.mark.parametrize(
    ("topic", "refused"),
    [
        ("slmesh.shadow.vat-rates", False),
        ("slmesh.shadow.vat-rates.ab12", False),
        ("slmesh.shadow.", True),
        ("slmesh.shadow.replies", True),
        ("slmesh.tasks.vat-rates", True),
        ("slmesh.requests", True),
        ("vat-rates", True),
    ],
)
def test_a_candidate_topic_is_a_shadow_topic(topic: str, refused: bool) -> None:
    assert (candidate_topic_refusal(topic, SHADOW_REPLIES) is not None) is refused


def test_topics_are_made_in_dev_only() -> None:
    assert may_create_topics(MeshSettings())
    assert not may_create_topics(MeshSettings(create_topics=False))
    assert not may_create_topics(MeshSettings(deployment="production"))
    # In production, whatever else is set: topics there are the operators'.
    assert not may_create_topics(MeshSettings(deployment="production", create_topics=True))

"""The waterfall of `slmesh trace`, built from records alone."""

from __future__ import annotations

from typing import Any

import orjson

from slmesh.cli.commands.tail.lines import gist, pretty
from slmesh.cli.commands.trace.waterfall import as_json, build, render
from slmesh.cli.records import Seen

RID = "req-1"
_offsets: dict[str, int] = {}


def seen(topic: str, at_ms: int, kind: str | None, data: dict[str, Any] | None = None) -> Seen:
    offset = _offsets[topic] = _offsets.get(topic, -1) + 1
    event = None if kind is None else {"type": f"slmesh.{kind}", "requestid": RID, "data": data}
    value = orjson.dumps(event) if event is not None else b"\xff\x00garbage"
    return Seen(topic, 0, offset, at_ms, RID, {}, value, event)


def task(n: int, at_ms: int, country: str) -> Seen:
    return seen(
        "slmesh.tasks.vat-rates",
        at_ms,
        "TaskRequested",
        {"task_id": f"{RID}:{n}", "micromodel": "vat-rates", "arguments": {"country": country}},
    )


def done(n: int, at_ms: int, latency_ms: float = 1.0, **extra: Any) -> Seen:
    data = {"task_id": f"{RID}:{n}", "micromodel": "vat-rates", "model": "deterministic"}
    return seen(
        "slmesh.replies", at_ms, "TaskCompleted", {**data, "latency_ms": latency_ms, **extra}
    )


def request(at_ms: int = 1000) -> Seen:
    return seen("slmesh.requests", at_ms, "RequestSubmitted", {"input": "VAT in DE, FR, IT?"})


def response(at_ms: int, status: str = "ok", **extra: Any) -> Seen:
    data = {"status": status, "answer": "x", "elapsed_ms": 30.0, "planner": "rules"}
    return seen("slmesh.responses", at_ms, "RequestCompleted", {**data, **extra})


def test_a_fan_out_is_one_round_with_its_queue_and_work_times() -> None:
    records = [
        response(1030),
        done(2, 1020, 2.0),
        done(1, 1018),
        task(1, 1005, "DE"),
        task(2, 1005, "FR"),
        request(),
    ]
    tree = build(RID, records)
    assert [c.task_id for c in tree.calls] == [f"{RID}:1", f"{RID}:2"]
    assert {c.round for c in tree.calls} == {1}
    first = tree.calls[0]
    assert (first.status, first.model, first.queue_ms) == ("ok", "deterministic", 12.0)
    shown = render(tree)
    assert "#1 vat-rates(country=DE)" in shown
    assert "request → first task 5 ms" in shown
    assert "last reply → response 10 ms" in shown
    assert as_json(tree)["calls"][1]["queue_ms"] == 13.0


def test_a_call_sent_after_every_reply_opens_the_next_round() -> None:
    extract = seen(
        "slmesh.tasks.extractor",
        1005,
        "TaskRequested",
        {"task_id": f"{RID}:1", "micromodel": "extractor", "arguments": {"text": "Berlin"}},
    )
    extracted = seen(
        "slmesh.replies",
        1400,
        "TaskCompleted",
        {
            "task_id": f"{RID}:1",
            "micromodel": "extractor",
            "model": "gemma",
            "latency_ms": 380.0,
            "tokens": {"prompt": 90, "completion": 12},
        },
    )
    planning = {"model": "gemma", "tokens": {"prompt": 300, "completion": 0}, "latency_ms": 80.0}
    tree = build(
        RID,
        [
            request(),
            extract,
            extracted,
            task(2, 1410, "DE"),
            done(2, 1420),
            response(1430, steps=2, planning=planning),
        ],
    )
    assert [c.round for c in tree.calls] == [1, 2]
    shown = render(tree)
    assert "round 2" in shown
    assert "90+12 tokens" in shown
    assert "round 1's last reply → round 2's first task 10 ms" in shown
    assert "planning: gemma, 300+0 tokens, 80.0 ms" in shown


def test_failed_missing_and_duplicate_replies_are_said() -> None:
    failed = seen(
        "slmesh.replies",
        1020,
        "TaskFailed",
        {
            "task_id": f"{RID}:2",
            "micromodel": "vat-rates",
            "latency_ms": 0.5,
            "error": {"code": "invalid_arguments", "message": "no such country"},
        },
    )
    tree = build(
        RID,
        [
            request(),
            *(task(n, 1005, country) for n, country in ((1, "DE"), (2, "XX"), (3, "IT"))),
            done(1, 1015),
            done(1, 1016),
            failed,
            response(1040, status="partial"),
        ],
    )
    one, two, three = tree.calls
    assert one.duplicates == 1
    assert (two.status, two.code) == ("failed", "invalid_arguments")
    assert three.status == "missing"
    shown = render(tree)
    assert "(+1 duplicate reply)" in shown
    assert "failed invalid_arguments" in shown
    assert f"no reply on the topics for {RID}:3" in shown


def test_tail_lines_say_what_each_record_is_and_survive_garbage() -> None:
    assert gist(done(1, 1000, 1.25)) == f"vat-rates {RID}:1 ok deterministic, 1.2 ms"
    line = pretty(task(1, 1000, "DE"))
    assert f"TaskRequested {RID} vat-rates {RID}:1" in line
    garbage = seen("slmesh.requests", 1000, None)
    assert gist(garbage).startswith("(not JSON: 9 bytes")
    assert garbage.as_json()["value"] == "\ufffd\x00garbage"


def test_a_single_call_has_its_hops_bar_and_header() -> None:
    tree = build(
        RID,
        [request(), task(1, 1004, "DE"), done(1, 1010, 2.5), response(1012, composer="template")],
    )
    [call] = tree.calls
    assert (call.round, call.status, call.queue_ms, call.latency_ms) == (1, "ok", 3.5, 2.5)
    lines = render(tree, width=12).splitlines()
    header = f"request {RID}: ok in 30.0 ms (planner rules, composer template, 1 round(s))"
    assert lines[0] == header
    assert lines[1] == "input: VAT in DE, FR, IT?"
    [row] = [ln for ln in lines if ln.startswith("#1 vat-rates(country=DE)")]
    # Sent at 4 of 12 ms, replied at 10: the bar spans that part of the width.
    assert "|   ███████  |      4    3.5    2.5  ok, deterministic" in row
    assert lines.index(row) > lines.index(next(ln for ln in lines if ln.startswith("request rec")))
    assert "gaps: request → first task 4 ms; last reply → response 2 ms" in lines
    assert tree.unpublished == []


def test_calls_only_the_response_names_are_shown_as_never_published() -> None:
    refused = {
        "task_id": f"{RID}:2",
        "micromodel": "vat-rates",
        "arguments": {"country": "XX"},
        "status": "failed",
        "error": {"code": "invalid_arguments", "message": "country: not a member state"},
    }
    tree = build(
        RID,
        [
            request(),
            task(1, 1005, "DE"),
            done(1, 1010),
            response(1020, status="partial", calls=[{"task_id": f"{RID}:1"}, refused]),
        ],
    )
    assert [c.task_id for c in tree.calls] == [f"{RID}:1"]
    assert tree.unpublished == [refused]
    shown = render(tree)
    assert "never on a task topic (refused before publishing, or not run):" in shown
    assert (
        f"  {RID}:2 vat-rates(country=XX): failed invalid_arguments: country: not a member state"
        in shown
    )
    assert as_json(tree)["unpublished"] == [refused]


def test_a_missing_reply_waits_to_the_response_and_long_work_fits_its_column() -> None:
    tree = build(
        RID,
        [
            request(),
            task(1, 1000, "DE"),
            task(2, 1000, "FR"),
            done(1, 17_000, 15_999.6),
            response(21_000, status="partial"),
        ],
    )
    lines = render(tree, width=10).splitlines()
    answered = next(ln for ln in lines if ln.startswith("#1 "))
    missing = next(ln for ln in lines if ln.startswith("#2 "))
    assert "|████████  |      0    0.4  16000  ok" in answered
    assert missing.endswith("|░░░░░░░░░░|      0      -      -  missing")


def test_a_pipelines_calls_are_labelled_with_their_steps() -> None:
    steps = [
        {"task_id": f"{RID}:1", "step": "rates[0]"},
        {"task_id": f"{RID}:2", "step": "rates[1]"},
    ]
    records = [
        request(),
        task(1, 1005, "DE"),
        task(2, 1005, "FR"),
        done(1, 1010),
        done(2, 1011),
        response(1020, calls=steps, pipeline="vat-compare@1.0.0"),
    ]
    shown = render(build(RID, records))
    assert "#1 [rates[0]] vat-rates(country=DE)" in shown
    assert "#2 [rates[1]] vat-rates(country=FR)" in shown

"""`slmesh trace <request-id>` as a user runs it, against the suite's running mesh.

test_inspection.py holds the first trace tests (a fan-out's rows, an unknown
request's exit code 6, no broker's 4); these add what each row and the JSON say
of queue and work times and gaps, a call that failed, one left unanswered, one
answered twice, one never published, and a request of two rounds.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from slmesh.runtime.client import MeshClient
from slmesh.runtime.settings import MeshSettings
from tests.support.kit import (
    GHOST,
    WAIT_S,
    RawProducer,
    TopicTap,
    ghost_tasks_of,
    mesh_id,
    reply_as_ghost,
)

FAN_OUT = "What are the VAT rates in Germany, France and Italy?"


async def trace(settings: MeshSettings, *args: str) -> tuple[int, str]:
    """The installed `slmesh trace`, its output (stdout and stderr) and exit code."""
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "slmesh"),
        "trace",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={
            **os.environ,
            "SLMESH_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "COLUMNS": "140",
        },
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    # Shown with `pytest -s`: what a user of the command sees.
    print(out.decode())
    return proc.returncode, out.decode()


def row(out: str, start: str) -> str:
    [line] = [ln for ln in out.splitlines() if ln.startswith(start)]
    return line


async def as_json(settings: MeshSettings, rid: str) -> dict[str, Any]:
    code, out = await trace(settings, rid, "--json")
    assert code == 0, out
    tree = orjson.loads(out)
    assert isinstance(tree, dict)
    return tree


async def test_a_fan_outs_rows_say_queue_and_work_times_and_the_gaps_between_hops(
    settings: MeshSettings, mesh: MeshClient
) -> None:
    response = await mesh.ask(FAN_OUT, timeout_s=60)
    assert response.data.status == "ok", response.data.answer
    rid = response.requestid
    code, out = await trace(settings, rid)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(f"request {rid}: ok in ")
    assert f"planner {response.data.planner}" in lines[0]
    assert lines[1] == f"input: {FAN_OUT}"
    assert "round 1" in lines
    assert "round 2" not in lines
    received, published = row(out, "request received"), row(out, "response published")
    rows = [row(out, f"#{n} vat-rates(country={c})") for n, c in ((1, "DE"), (2, "FR"), (3, "IT"))]
    # In time order: the request, its three calls, the response.
    assert [lines.index(r) for r in (received, *rows, published)] == sorted(
        lines.index(r) for r in (received, *rows, published)
    )
    for line in rows:
        at, queue, work = line.split("|")[2].split()[:3]
        assert int(at) >= 0
        assert float(queue) >= 0
        assert float(work) >= 0
        assert line.endswith("ok, deterministic")
    gaps = row(out, "gaps: ")
    assert "request → first task" in gaps
    assert "last reply → response" in gaps

    tree = await as_json(settings, rid)
    calls = tree["calls"]
    assert [c["arguments"]["country"] for c in calls] == ["DE", "FR", "IT"]
    assert {(c["status"], c["model"], c["round"]) for c in calls} == {("ok", "deterministic", 1)}
    assert all(c["queue_ms"] is not None and c["latency_ms"] is not None for c in calls)
    assert tree["response"]["status"] == "ok"
    assert tree["unpublished"] == []


async def test_a_failed_a_missing_a_duplicated_and_a_refused_call_are_each_said(
    settings: MeshSettings, mesh: MeshClient, raw: RawProducer, ghost_tasks: TopicTap
) -> None:
    request = mesh.request(
        "two ghost calls, one vat-rates call for no country",
        calls=[
            {"micromodel": GHOST, "arguments": {"n": 1}},
            {"micromodel": GHOST, "arguments": {"n": 2}},
            {"micromodel": "vat-rates", "arguments": {"country": "XX"}},
        ],
        # The second ghost call is never answered: the deadline ends the request.
        timeout_ms=3000,
    )
    future = await mesh.submit(request)
    first, _ = await ghost_tasks_of(ghost_tasks, request.requestid, 2)
    # The first call answered twice, as a re-run would: the mesh counts it once.
    await reply_as_ghost(raw, first, {"n": 1})
    await reply_as_ghost(raw, first, {"n": 1})
    response = await asyncio.wait_for(future, WAIT_S)
    assert response.data.status == "partial", response.data.answer
    rid = request.requestid

    code, out = await trace(settings, rid)
    assert code == 0, out
    assert out.startswith(f"request {rid}: partial")
    answered = row(out, f"#1 {GHOST}(n=1)")
    assert "ok, deterministic" in answered
    assert "(+1 duplicate reply)" in answered
    assert row(out, f"#2 {GHOST}(n=2)").endswith("missing")
    assert f"no reply on the topics for {mesh_id(rid)}:2" in out
    # Arguments failing vat-rates' input schema: refused before publishing (the
    # orchestrator knows the schema from the registry), or failed by vat-rates.
    assert "vat-rates(country=XX): failed invalid_arguments" in out or (
        "failed invalid_arguments" in row(out, "#3 vat-rates(country=XX)")
    )

    tree = await as_json(settings, rid)
    by_id = {c["task_id"]: c for c in tree["calls"]}
    assert by_id[f"{mesh_id(rid)}:1"]["duplicates"] == 1
    assert by_id[f"{mesh_id(rid)}:2"]["status"] == "missing"
    refused = by_id.get(f"{mesh_id(rid)}:3") or next(
        c for c in tree["unpublished"] if c["task_id"] == f"{mesh_id(rid)}:3"
    )
    assert refused["status"] == "failed"

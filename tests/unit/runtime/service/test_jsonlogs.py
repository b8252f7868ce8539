"""JSON log lines carry what they are about: request, task, trace."""

from __future__ import annotations

import asyncio
import logging

import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider

from slmesh.runtime.service.jsonlogs import JsonFormatter
from slmesh.runtime.service.logcontext import about
from slmesh.runtime.tracing import consumed, setup


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("vat-rates", "host-1"))
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(orjson.loads(self.format(record)))


async def test_every_line_about_a_request_carries_its_ids_and_its_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(setup, "_TRACER", TracerProvider().get_tracer("slmesh"))
    monkeypatch.setattr(setup, "_recording", True)
    lines = Lines()
    log = logging.getLogger("slmesh.test.jsonlogs")
    log.addHandler(lines)
    log.setLevel(logging.INFO)
    record = type("R", (), {"topic": "t", "partition": 0, "offset": 1, "key": b"k"})()

    async def handle() -> None:
        with consumed(record):
            about(request_id="req-1", task_id="req-1:1")
            log.info("answered %s", "req-1:1")

    try:
        await asyncio.create_task(handle())
        # Outside the record's task: nothing bound.
        log.warning("idle")
    finally:
        log.removeHandler(lines)
    about_it, idle = lines.lines
    assert about_it["message"] == "answered req-1:1"
    assert (about_it["service"], about_it["replica"], about_it["level"]) == (
        "vat-rates",
        "host-1",
        "INFO",
    )
    assert (about_it["request_id"], about_it["task_id"]) == ("req-1", "req-1:1")
    assert len(str(about_it["trace_id"])) == 32
    assert "request_id" not in idle
    assert "trace_id" not in idle

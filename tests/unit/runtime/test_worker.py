"""The worker threads: one call at a time by default, several for a remote model, each in its
caller's context."""

from __future__ import annotations

import asyncio
import threading
import time
from contextvars import ContextVar

from slmesh.runtime.concurrency import Worker

_about: ContextVar[str] = ContextVar("about", default="nothing")


async def test_one_thread_runs_one_call_at_a_time() -> None:
    worker = Worker("local")
    started = time.monotonic()
    try:
        await asyncio.gather(*(worker.run(lambda: time.sleep(0.2)) for _ in range(3)))
    finally:
        worker.shutdown()
    assert time.monotonic() - started >= 0.6


async def test_threads_run_calls_side_by_side() -> None:
    worker = Worker("remote", threads=3)
    running: set[int] = set()
    most = 0
    lock = threading.Lock()

    def call() -> None:
        nonlocal most
        with lock:
            running.add(threading.get_ident())
            most = max(most, len(running))
        time.sleep(0.2)
        with lock:
            running.discard(threading.get_ident())

    started = time.monotonic()
    try:
        await asyncio.gather(*(worker.run(call) for _ in range(3)))
    finally:
        worker.shutdown()
    assert most == 3
    assert time.monotonic() - started < 0.5


async def test_a_call_runs_in_its_callers_context() -> None:
    """So a model call's spans nest under the task's, and its log lines name the task."""
    worker = Worker("remote", threads=2)

    async def as_task(name: str) -> str:
        _about.set(name)
        return await worker.run(_about.get)

    try:
        found = await asyncio.gather(as_task("task-1"), as_task("task-2"))
        assert list(found) == ["task-1", "task-2"]
    finally:
        worker.shutdown()


async def test_busy_for_is_the_longest_running_calls_time() -> None:
    worker = Worker("remote", threads=2)
    try:
        first = asyncio.create_task(worker.run(lambda: time.sleep(0.4)))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(worker.run(lambda: time.sleep(0.1)))
        await asyncio.sleep(0.05)
        assert worker.busy_for() >= 0.2
        await asyncio.gather(first, second)
        assert worker.busy_for() == 0.0
    finally:
        worker.shutdown()

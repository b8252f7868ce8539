"""Supervision: a dead service is reported, restarted with backoff, and given up when hopeless.

The services are tiny Python children; the policies' delays are short, and
no test asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from slmesh.cli.devstack import (
    SERVICE_RESTARTS,
    DevStack,
    DevStackConfig,
    RestartPolicy,
    ServiceAbandoned,
    ServiceDied,
    ServiceProcess,
    ServiceRestarted,
    ServiceRestarting,
    SupervisionEvent,
    Supervisor,
    describe_exit,
)
from slmesh.runtime.service import MODEL_LOAD_FAILED

# Each test starts real child processes as services.
pytestmark = pytest.mark.processes

E = TypeVar("E", bound=SupervisionEvent)

WAIT_S = 20.0
QUICK = RestartPolicy(first_delay_s=0.05, max_delay_s=0.2, max_deaths=3, ready_timeout_s=10)

# Says it is ready, says something else, and fails.
# Up for a moment before it fails: a child that exits at once can be seen dead
# before it is seen ready, and then its restart never counts as one.
READY_THEN_FAIL = (
    "print('ready', flush=True)\nprint('about to fail', flush=True)\n"
    "import time\ntime.sleep(0.3)\nraise SystemExit(1)"
)

READY_THEN_SLEEP = "print('ready', flush=True)\nimport time\ntime.sleep(60)"


def child(name: str, code: str) -> ServiceProcess:
    return ServiceProcess(name, [sys.executable, "-c", code], {}, ready_pattern="^ready$")


class Events:
    """The supervisor's reports, in order, for a test to wait on."""

    def __init__(self) -> None:
        self.seen: list[SupervisionEvent] = []
        self._queue: asyncio.Queue[SupervisionEvent] = asyncio.Queue()

    def __call__(self, event: SupervisionEvent) -> None:
        self.seen.append(event)
        self._queue.put_nowait(event)

    async def next(self) -> SupervisionEvent:
        return await asyncio.wait_for(self._queue.get(), WAIT_S)

    async def until(self, kind: type[E]) -> E:
        """The next event of `kind`, skipping others."""
        while True:
            event = await self.next()
            if isinstance(event, kind):
                return event

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.seen]


@pytest.fixture
def events() -> Events:
    return Events()


async def stop_all(supervisor: Supervisor, *services: ServiceProcess) -> None:
    await supervisor.stop()
    for service in services:
        await service.stop(timeout=2)


def test_the_delay_doubles_from_the_first_up_to_the_cap() -> None:
    policy = RestartPolicy(first_delay_s=1.0, max_delay_s=30.0)
    assert [policy.delay_after(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_exit_codes_and_signals_read_as_words() -> None:
    assert describe_exit(1) == "exited with code 1"
    assert describe_exit(-signal.SIGILL) == "killed by SIGILL"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"


async def test_a_service_that_keeps_dying_is_restarted_with_backoff_then_given_up(
    events: Events,
) -> None:
    supervisor = Supervisor(QUICK, events)
    service = child("flaky", READY_THEN_FAIL)
    await service.start()
    await service.wait_ready(10)
    watched = supervisor.watch(service)
    try:
        abandoned = await events.until(ServiceAbandoned)
    finally:
        await stop_all(supervisor, service)

    assert events.kinds() == [
        "ServiceDied",
        "ServiceRestarting",
        "ServiceRestarted",
        "ServiceDied",
        "ServiceRestarting",
        "ServiceRestarted",
        "ServiceDied",
        "ServiceAbandoned",
    ]
    deaths = [e for e in events.seen if isinstance(e, ServiceDied)]
    assert all(d.cause == "exited with code 1" for d in deaths)
    # Each death shows the lines of the run that died.
    assert all(d.last_lines == ("ready", "about to fail") for d in deaths)
    assert "flaky died: exited with code 1" in str(deaths[0])
    assert "flaky| about to fail" in str(deaths[0])
    restarting = [e for e in events.seen if isinstance(e, ServiceRestarting)]
    assert [r.delay_s for r in restarting] == [0.05, 0.1]
    assert [r.restart for r in restarting] == [1, 2]
    assert "died 3 times" in abandoned.reason
    assert "giving up on flaky" in str(abandoned)
    assert watched.phase == "given up"
    assert watched.restarts == 2


async def test_an_exit_a_restart_cannot_cure_is_given_up_at_once(events: Events) -> None:
    policy = RestartPolicy(first_delay_s=0.05, hopeless={2: "its model does not load"})
    supervisor = Supervisor(policy, events)
    service = child("no-model", "print('ready', flush=True)\nraise SystemExit(2)")
    await service.start()
    await service.wait_ready(10)
    watched = supervisor.watch(service)
    try:
        abandoned = await events.until(ServiceAbandoned)
    finally:
        await stop_all(supervisor, service)

    assert events.kinds() == ["ServiceDied", "ServiceAbandoned"]
    assert "exited with code 2: its model does not load" in abandoned.reason
    assert "a restart would not change that" in abandoned.reason
    assert watched.restarts == 0


async def test_the_dev_stack_gives_up_at_once_on_a_model_that_does_not_load(
    events: Events,
) -> None:
    stack = DevStack(DevStackConfig(restarts=SERVICE_RESTARTS, on_supervision=events))
    code = f"print('ready', flush=True)\nraise SystemExit({MODEL_LOAD_FAILED})"
    service = stack.services.add(child("summarizer-1", code))
    await service.start()
    await service.wait_ready(10)
    assert stack.supervisor is not None
    stack.supervisor.watch(service)
    try:
        abandoned = await events.until(ServiceAbandoned)
    finally:
        await stack.stop()
    assert events.kinds() == ["ServiceDied", "ServiceAbandoned"]
    assert "its model does not load" in abandoned.reason
    [row] = [(state, detail) for part, state, detail in stack.status() if part == "summarizer-1"]
    assert row == ("dead", f"given up: {abandoned.reason}")


async def test_a_killed_service_comes_back_with_a_new_process(events: Events) -> None:
    supervisor = Supervisor(QUICK, events)
    service = child("steady", READY_THEN_SLEEP)
    await service.start()
    await service.wait_ready(10)
    first_pid = service.pid
    supervisor.watch(service)
    try:
        service.kill()
        died = await events.next()
        assert isinstance(died, ServiceDied)
        assert died.cause == "killed by SIGKILL"
        assert died.pid == first_pid
        back = await events.until(ServiceRestarted)
        assert back.pid == service.pid != first_pid
        assert service.state == "running"
        # Its output is the new run's: the readiness line once, not the old run's too.
        assert service.recent_output() == ["ready"]
    finally:
        await stop_all(supervisor, service)
    # Stopping is not dying.
    assert events.kinds() == ["ServiceDied", "ServiceRestarting", "ServiceRestarted"]


async def test_a_stop_that_was_asked_for_is_not_a_death(events: Events) -> None:
    supervisor = Supervisor(QUICK, events)
    service = child("leaving", READY_THEN_SLEEP)
    await service.start()
    await service.wait_ready(10)
    supervisor.watch(service)
    await service.stop(timeout=2)
    # Time for a wrongly seen death to be reported and restarted.
    await asyncio.sleep(0.5)
    await supervisor.stop()
    assert events.seen == []
    assert service.returncode is not None


async def test_a_restart_that_never_becomes_ready_is_killed_and_counted(
    events: Events, tmp_path: Path
) -> None:
    # The first run is ready and fails; every later run hangs before it is ready.
    marker = tmp_path / "ran-once"
    code = (
        "import pathlib, sys, time\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if marker.exists():\n"
        "    time.sleep(60)\n"
        "marker.touch()\n"
        "print('ready', flush=True)\n"
        "sys.exit(1)"
    )
    policy = RestartPolicy(first_delay_s=0.05, max_deaths=2, ready_timeout_s=0.5)
    supervisor = Supervisor(policy, events)
    service = child("hangs", code)
    await service.start()
    await service.wait_ready(10)
    supervisor.watch(service)
    try:
        await events.until(ServiceAbandoned)
    finally:
        await stop_all(supervisor, service)
    deaths = [e for e in events.seen if isinstance(e, ServiceDied)]
    assert [d.cause for d in deaths] == [
        "exited with code 1",
        "not ready 0.5 s after its restart, so killed",
    ]


async def test_deaths_outside_the_window_do_not_add_up(events: Events) -> None:
    # A clock that jumps past the window between deaths: every death is the first.
    ticks: Iterator[float] = itertools.count(0.0, 1000.0)
    policy = RestartPolicy(first_delay_s=0.05, max_deaths=2, window_s=10)
    supervisor = Supervisor(policy, events, clock=lambda: next(ticks))
    service = child("rarely-fails", READY_THEN_FAIL)
    await service.start()
    await service.wait_ready(10)
    supervisor.watch(service)
    try:
        for _ in range(3):
            await events.until(ServiceRestarted)
    finally:
        await stop_all(supervisor, service)
    assert not any(isinstance(e, ServiceAbandoned) for e in events.seen)
    restarting = [e for e in events.seen if isinstance(e, ServiceRestarting)]
    assert {r.delay_s for r in restarting} == {0.05}


async def test_the_status_table_never_calls_a_dead_service_running(events: Events) -> None:
    """The dev stack's status: dead, restarting (with its count), running again, stopped."""
    policy = RestartPolicy(first_delay_s=0.5, max_delay_s=0.5)
    stack = DevStack(DevStackConfig(restarts=policy, on_supervision=events))
    supervised = stack.services.add(child("supervised", READY_THEN_SLEEP))
    unsupervised = DevStack(DevStackConfig())
    left_dead = unsupervised.services.add(child("left-dead", READY_THEN_SLEEP))
    for service in (supervised, left_dead):
        await service.start()
        await service.wait_ready(10)
    assert stack.supervisor is not None
    stack.supervisor.watch(supervised)

    def row(of: DevStack, name: str) -> tuple[str, str]:
        [found] = [(state, detail) for part, state, detail in of.status() if part == name]
        return found

    try:
        assert row(stack, "supervised") == ("running", f"pid {supervised.pid}")
        supervised.kill()
        left_dead.kill()
        await left_dead.wait(timeout=10)
        assert row(unsupervised, "left-dead") == (
            "dead",
            f"pid {left_dead.pid}, killed by SIGKILL",
        )
        await events.until(ServiceRestarting)
        assert row(stack, "supervised") == ("restarting", "restart 1; last run killed by SIGKILL")
        await events.until(ServiceRestarted)
        assert row(stack, "supervised") == ("running", f"pid {supervised.pid}, restarted 1x")
    finally:
        await stack.stop()
        await unsupervised.stop()
    state, detail = row(stack, "supervised")
    assert state == "stopped"
    assert detail.endswith(describe_exit(-signal.SIGTERM))

"""Child-process supervision for the dev stack and the integration tests.

Every child runs in its own session (and so its own process group) so that a
Ctrl-C in the developer's terminal reaches only the supervisor, which then
stops the children in a defined order instead of letting them race. The price
is that nothing kills the children for us if the supervisor forgets to, so a
module-level registry of live process groups is SIGKILLed at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path
    from types import TracebackType

__all__ = [
    "OutputSink",
    "ProcessGroup",
    "ServiceExitedError",
    "ServiceProcess",
    "describe_exit",
    "kill_tracked_process_groups",
    "process_group_alive",
    "signal_process_group",
    "terminate_popen_group",
    "track_process_group",
    "untrack_process_group",
]

_log = logging.getLogger(__name__)

OutputSink = Callable[[str, str], None]
"""Receives ``(service_name, line)`` for every line a service writes."""

# Lines longer than asyncio's 64 KiB default would make readline() drop them;
# services may log large payloads, so allow much more before giving up.
_STREAM_LIMIT = 1024 * 1024
_POLL_INTERVAL = 0.05

_tracked_lock = threading.Lock()
_tracked_pgids: set[int] = set()


def track_process_group(pgid: int) -> None:
    """Remember *pgid* so that it is SIGKILLed if the interpreter exits first."""
    with _tracked_lock:
        _tracked_pgids.add(pgid)


def untrack_process_group(pgid: int) -> None:
    """Forget *pgid*; call only once the group is known to be gone."""
    with _tracked_lock:
        _tracked_pgids.discard(pgid)


def signal_process_group(pgid: int, sig: signal.Signals) -> bool:
    """Send *sig* to a process group; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        # A group we cannot signal is not ours any more (its id was reused).
        _log.warning("not permitted to signal process group %d", pgid)
        return False
    return True


def process_group_alive(pgid: int) -> bool:
    """Whether any process (zombies included) is still in group *pgid*."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_tracked_process_groups() -> None:
    """SIGKILL every tracked process group; the last-resort cleanup path."""
    with _tracked_lock:
        pgids = sorted(_tracked_pgids)
        _tracked_pgids.clear()
    for pgid in pgids:
        if signal_process_group(pgid, signal.SIGKILL):
            _log.warning("killed leftover process group %d at exit", pgid)


atexit.register(kill_tracked_process_groups)


async def terminate_popen_group(
    proc: subprocess.Popen[bytes], what: str, grace: float = 5.0
) -> int:
    """Stop a ``start_new_session`` Popen child: SIGTERM its group, SIGKILL after *grace* s.

    For servers whose handle must outlive one event loop (test fixtures and
    their cleanup may run on different loops), which rules out asyncio
    subprocesses; the exit is therefore polled.
    """
    pgid = proc.pid
    if proc.poll() is None:
        signal_process_group(pgid, signal.SIGTERM)
        if not await _wait_popen(proc, grace):
            _log.warning(
                "%s (pid %d) ignored SIGTERM for %.1fs; sending SIGKILL", what, pgid, grace
            )
            signal_process_group(pgid, signal.SIGKILL)
            await _wait_popen(proc, None)
    if process_group_alive(pgid):
        signal_process_group(pgid, signal.SIGKILL)
    untrack_process_group(pgid)
    code = proc.returncode
    assert code is not None
    return code


async def _wait_popen(proc: subprocess.Popen[bytes], within: float | None) -> bool:
    deadline = None if within is None else time.monotonic() + within
    while proc.poll() is None:
        if deadline is not None and time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL_INTERVAL)
    return True


def describe_exit(code: int) -> str:
    """An exit status as a person reads it: "exited with code 1", "killed by SIGILL"."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


class ServiceExitedError(RuntimeError):
    """The service exited while something was still waiting for its output."""


class ServiceProcess:
    """One supervised child process whose merged output is captured line by line.

    ``env`` is laid over the supervisor's own environment unless
    ``inherit_env`` is False. ``state`` is ``"starting"`` until the process has
    been spawned and, when ``ready_pattern`` is given, until a line matching it
    has been seen; then ``"running"``; once reaped, ``"exited(<code>)"`` with a
    negative code for a signal (``"exited(-9)"`` after :meth:`kill`).

    Once stopped it may be started again (a restart): the same name, a new
    process, and its output from then on.
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: Mapping[str, str] | None = None,
        *,
        sink: OutputSink | None = None,
        cwd: str | Path | None = None,
        ready_pattern: str | re.Pattern[str] | None = None,
        inherit_env: bool = True,
        history: int = 200,
    ) -> None:
        if not argv:
            raise ValueError(f"service {name!r}: argv must not be empty")
        self.name = name
        self.argv = list(argv)
        self.env = dict(env or {})
        self.cwd = cwd
        self.inherit_env = inherit_env
        self.ready_pattern = _compile(ready_pattern) if ready_pattern is not None else None
        self._sink: OutputSink = sink or _log_line
        self._recent: deque[str] = deque(maxlen=history)
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiters: list[tuple[re.Pattern[str], asyncio.Future[str]]] = []
        self._ready = False
        self._output_closed = False
        # Once the group is confirmed gone its id may be reused by an unrelated
        # process, so it must never be signalled again.
        self._group_gone = False
        # Set before the stop's first signal, so whoever sees the exit can tell
        # a stop that was asked for from a death.
        self._stop_requested = False

    def __repr__(self) -> str:
        return f"<ServiceProcess {self.name} pid={self.pid} {self.state}>"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc is not None else None

    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`stop` was called on the current run (:meth:`kill` does not count)."""
        return self._stop_requested

    @property
    def state(self) -> str:
        if self._proc is None:
            return "starting"
        if self._proc.returncode is not None:
            return f"exited({self._proc.returncode})"
        if self.ready_pattern is not None and not self._ready:
            return "starting"
        return "running"

    def recent_output(self) -> list[str]:
        """The last lines the service wrote (up to ``history``), oldest first."""
        return list(self._recent)

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ) if self.inherit_env else {}
        # Readiness detection reads a pipe; a block-buffered Python child would
        # hold its readiness line back until the buffer fills.
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.update(self.env)
        return env

    async def start(self) -> None:
        """Spawn the process; again (a restart) only once :meth:`stop` has ended the last run."""
        if self._proc is not None:
            if not self._group_gone:
                raise RuntimeError(f"service {self.name!r} was already started")
            self._forget_last_run()
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self._child_env(),
            cwd=self.cwd,
            start_new_session=True,
            limit=_STREAM_LIMIT,
        )
        track_process_group(self._proc.pid)
        _log.info("started %s (pid %d): %s", self.name, self._proc.pid, " ".join(self.argv))
        self._reader = asyncio.create_task(self._pump(), name=f"output:{self.name}")

    def _forget_last_run(self) -> None:
        # The last run's lines go too: its readiness line must not pass for
        # the new run's, and a death report must show the new run's output.
        self._proc = None
        self._reader = None
        self._recent.clear()
        self._ready = False
        self._output_closed = False
        self._group_gone = False
        self._stop_requested = False

    async def _pump(self) -> None:
        proc = self._proc
        assert proc is not None
        assert proc.stdout is not None
        stream = proc.stdout
        try:
            while True:
                try:
                    raw = await stream.readline()
                except ValueError:
                    # asyncio has already discarded the oversized line.
                    self._on_line(f"[slmesh: line longer than {_STREAM_LIMIT} bytes dropped]")
                    continue
                if not raw:
                    break
                self._on_line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
        finally:
            self._output_closed = True
            await self._fail_waiters_after_exit()

    def _on_line(self, line: str) -> None:
        self._recent.append(line)
        try:
            self._sink(self.name, line)
        except Exception:
            # The pump must keep draining the pipe or the child blocks on write.
            _log.exception("output sink failed for %s", self.name)
        if self.ready_pattern is not None and not self._ready and self.ready_pattern.search(line):
            self._ready = True
        for pattern, future in list(self._waiters):
            if not future.done() and pattern.search(line):
                future.set_result(line)

    async def _fail_waiters_after_exit(self) -> None:
        pending = [f for _, f in self._waiters if not f.done()]
        if not pending or self._proc is None:
            return
        # EOF usually precedes the exit status by a moment; report the code.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._proc.wait(), 1.0)
        error = ServiceExitedError(
            f"service {self.name!r} closed its output ({self.state}) "
            f"before the awaited line appeared{self._tail()}"
        )
        for future in pending:
            if not future.done():
                future.set_exception(error)

    def _tail(self, lines: int = 30) -> str:
        recent = list(self._recent)[-lines:]
        if not recent:
            return "; it wrote no output"
        return "; last output:\n" + "\n".join(f"  {self.name}| {line}" for line in recent)

    async def wait_for_line(
        self,
        pattern: str | re.Pattern[str],
        timeout: float,  # noqa: ASYNC109 - the supervisor API takes plain durations
        *,
        include_recent: bool = True,
    ) -> str:
        """Return the first line matching *pattern* (``re.search``).

        Lines already retained in memory count unless ``include_recent`` is
        False, so a readiness line printed before the call is not missed.
        Raises TimeoutError (with the recent output) when no line matches in
        time, or ServiceExitedError as soon as the service's output ends.
        """
        regex = _compile(pattern)
        if include_recent:
            for line in self._recent:
                if regex.search(line):
                    return line
        if self._proc is None:
            raise RuntimeError(f"service {self.name!r} has not been started")
        if self._output_closed:
            raise ServiceExitedError(
                f"service {self.name!r} ({self.state}) never wrote a line matching "
                f"{regex.pattern!r}{self._tail()}"
            )
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        entry = (regex, future)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"service {self.name!r} ({self.state}) wrote no line matching "
                f"{regex.pattern!r} within {timeout:g}s{self._tail()}"
            ) from None
        finally:
            self._waiters.remove(entry)

    async def wait_ready(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait for ``ready_pattern``; returns at once when there is none."""
        if self.ready_pattern is not None and not self._ready:
            await self.wait_for_line(self.ready_pattern, timeout)

    async def wait(self, timeout: float | None = None) -> int:  # noqa: ASYNC109
        """Wait for the process to exit and return its exit code."""
        if self._proc is None:
            raise RuntimeError(f"service {self.name!r} has not been started")
        code = await asyncio.wait_for(self._proc.wait(), timeout)
        await self._finish_output()
        return code

    def kill(self) -> None:
        """SIGKILL the whole process group at once (crash injection)."""
        if self._proc is None or self._group_gone:
            return
        if signal_process_group(self._proc.pid, signal.SIGKILL):
            _log.info("killed %s (pid %d)", self.name, self._proc.pid)

    async def stop(self, timeout: float = 5.0) -> int | None:  # noqa: ASYNC109
        """SIGTERM the process group, then SIGKILL whatever is left after *timeout*.

        Returns the exit code, or None when the service was never started.
        Safe to call repeatedly and after the process has already exited.
        """
        proc = self._proc
        if proc is None:
            return None
        self._stop_requested = True
        if self._group_gone:
            return proc.returncode
        pgid = proc.pid
        deadline = time.monotonic() + timeout
        if proc.returncode is None:
            _log.info("stopping %s (pid %d)", self.name, pgid)
        # Even when the leader has already exited, helpers it spawned may
        # linger in its group.
        signal_process_group(pgid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            _log.warning("%s ignored SIGTERM for %.1fs; sending SIGKILL", self.name, timeout)
            signal_process_group(pgid, signal.SIGKILL)
            await proc.wait()
        # Give the rest of the group the same grace period as the leader; the
        # kernel offers no event for "group empty", so this has to poll.
        while process_group_alive(pgid) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(_POLL_INTERVAL)
        if signal_process_group(pgid, signal.SIGKILL):
            _log.warning("killed leftover processes of %s (group %d)", self.name, pgid)
        self._group_gone = True
        untrack_process_group(pgid)
        await self._finish_output()
        _log.info("%s %s", self.name, self.state)
        return proc.returncode

    async def _finish_output(self) -> None:
        reader = self._reader
        if reader is None or reader.done():
            return
        # A grandchild that left the group can keep the pipe open forever.
        try:
            await asyncio.wait_for(asyncio.shield(reader), 1.0)
        except TimeoutError:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


class ProcessGroup:
    """An ordered set of services started first-to-last and stopped last-to-first."""

    def __init__(self, *, stop_timeout: float = 5.0, ready_timeout: float = 60.0) -> None:
        self.stop_timeout = stop_timeout
        self.ready_timeout = ready_timeout
        self._services: list[ServiceProcess] = []
        self._stopped = asyncio.Event()
        self._stop_task: asyncio.Task[None] | None = None
        self._signal_loop: asyncio.AbstractEventLoop | None = None
        self._signals_seen = 0

    def add(self, service: ServiceProcess) -> ServiceProcess:
        if any(s.name == service.name for s in self._services):
            raise ValueError(f"a service named {service.name!r} is already in the group")
        self._services.append(service)
        return service

    def __getitem__(self, name: str) -> ServiceProcess:
        for service in self._services:
            if service.name == name:
                return service
        raise KeyError(name)

    def __iter__(self) -> Iterator[ServiceProcess]:
        return iter(list(self._services))

    def __len__(self) -> int:
        return len(self._services)

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    async def start_all(self) -> None:
        """Start services in order, each waiting for its readiness line.

        Later services usually depend on earlier ones, so a failure stops
        everything already started and re-raises.
        """
        self._stopped.clear()
        try:
            for service in self._services:
                if service.pid is None:
                    await service.start()
                await service.wait_ready(self.ready_timeout)
        except BaseException:
            await self.stop_all()
            raise

    async def stop_all(self) -> None:
        """Stop every service, last added first; concurrent calls share one stop."""
        if self._stop_task is None or self._stop_task.done():
            self._stop_task = asyncio.create_task(self._stop_all(), name="process-group-stop")
        # Shielded so a cancelled caller (e.g. Ctrl-C during start) cannot
        # abandon the stop half-way and leave children running.
        await asyncio.shield(self._stop_task)

    async def _stop_all(self) -> None:
        try:
            for service in reversed(self._services):
                try:
                    await service.stop(self.stop_timeout)
                except Exception:
                    _log.exception("failed to stop %s; killing it", service.name)
                    service.kill()
        finally:
            self._stopped.set()

    def kill_all(self) -> None:
        for service in reversed(self._services):
            service.kill()

    async def wait_stopped(self) -> None:
        """Block until :meth:`stop_all` has finished (e.g. after a signal)."""
        await self._stopped.wait()

    def install_signal_handlers(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Make SIGINT/SIGTERM stop the group; a second signal kills it outright."""
        loop = loop or asyncio.get_running_loop()
        self._signal_loop = loop
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def remove_signal_handlers(self) -> None:
        loop, self._signal_loop = self._signal_loop, None
        if loop is None or loop.is_closed():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        self._signals_seen += 1
        if self._signals_seen > 1:
            _log.warning("%s again: killing all services", sig.name)
            self.kill_all()
            return
        _log.info("%s received: stopping all services", sig.name)
        loop = self._signal_loop or asyncio.get_running_loop()
        task = loop.create_task(self.stop_all(), name="process-group-signal-stop")
        task.add_done_callback(_log_task_failure)

    async def __aenter__(self) -> Self:
        await self.start_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_all()
        self.remove_signal_handlers()


def _compile(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    return pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)


def _log_line(name: str, line: str) -> None:
    _log.info("%s | %s", name, line)


def _log_task_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("stopping services failed", exc_info=task.exception())

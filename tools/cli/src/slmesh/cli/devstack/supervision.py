"""A service that dies is seen, said and replaced; one that keeps dying is given up.

A supervisor watches service processes once they are up. When one exits
without having been asked to stop, the death is reported at once (the exit
code or signal and the service's last lines), what is left of its process
group is stopped, and it is started again after a delay that doubles with
every recent death. A service that keeps dying is given up, and so is one
whose exit code says a restart cannot help (a model that does not load will
not load the next time either). The other services keep running either way.

Stops that someone asked for are not deaths: the supervisor is stopped
before the services are, and a service stopped on purpose says so
(:attr:`ServiceProcess.stop_requested`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from slmesh.cli.devstack.processes import ServiceExitedError, ServiceProcess, describe_exit
from slmesh.runtime.backoff import backoff

__all__ = [
    "Reporter",
    "RestartPolicy",
    "ServiceAbandoned",
    "ServiceDied",
    "ServiceRestarted",
    "ServiceRestarting",
    "Supervision",
    "SupervisionEvent",
    "Supervisor",
]

logger = logging.getLogger(__name__)

# Lines of a dead service's output shown with its death.
TAIL_LINES = 20


@dataclass(frozen=True)
class RestartPolicy:
    """When a dead service is started again, and when the supervisor stops trying."""

    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    # This many deaths within `window_s` and the service is given up.
    max_deaths: int = 5
    window_s: float = 300.0
    # A restarted service not ready by then is killed, and that is a death too.
    ready_timeout_s: float = 90.0
    # Exit codes that a restart cannot cure, each with what it means.
    hopeless: Mapping[int, str] = field(default_factory=dict)

    def delay_after(self, deaths: int) -> float:
        """The wait before the restart that follows the `deaths`-th death in the window."""
        delays = backoff(self.first_delay_s, self.max_delay_s)
        return next(itertools.islice(delays, max(deaths, 1) - 1, None))


@dataclass(frozen=True)
class ServiceDied:
    service: str
    pid: int | None
    cause: str
    last_lines: tuple[str, ...]

    @property
    def headline(self) -> str:
        return f"{self.service} died: {self.cause} (pid {self.pid})"

    def __str__(self) -> str:
        if not self.last_lines:
            return f"{self.headline}; it wrote nothing"
        tail = "\n".join(f"  {self.service}| {line}" for line in self.last_lines)
        return f"{self.headline}; its last {len(self.last_lines)} line(s):\n{tail}"


@dataclass(frozen=True)
class ServiceRestarting:
    service: str
    restart: int
    delay_s: float

    def __str__(self) -> str:
        return f"restarting {self.service} in {self.delay_s:g} s (restart {self.restart})"


@dataclass(frozen=True)
class ServiceRestarted:
    service: str
    pid: int | None
    restart: int

    def __str__(self) -> str:
        return f"{self.service} is running again (pid {self.pid}, restart {self.restart})"


@dataclass(frozen=True)
class ServiceAbandoned:
    service: str
    reason: str

    def __str__(self) -> str:
        return (
            f"giving up on {self.service}: {self.reason}. It stays down; "
            "the other services keep running."
        )


SupervisionEvent = ServiceDied | ServiceRestarting | ServiceRestarted | ServiceAbandoned
Reporter = Callable[[SupervisionEvent], None]


@dataclass
class Supervision:
    """What the supervisor knows of one service, for status displays."""

    service: ServiceProcess
    phase: Literal["up", "restarting", "given up"] = "up"
    restarts: int = 0
    # How its last run ended, and why it was given up.
    last_death: str | None = None
    reason: str | None = None
    deaths: deque[float] = field(default_factory=deque)


class Supervisor:
    """Restarts watched services that die, by a :class:`RestartPolicy`, telling a reporter."""

    def __init__(
        self,
        policy: RestartPolicy,
        report: Reporter | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self._report_to = report or _log_event
        self._clock = clock
        self._supervised: dict[str, Supervision] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopped = False

    def watch(self, service: ServiceProcess) -> Supervision:
        """Supervise a started service from now on."""
        if self._stopped:
            raise RuntimeError("the supervisor is stopped")
        if service.name in self._tasks:
            raise ValueError(f"{service.name!r} is already supervised")
        supervision = self._supervised[service.name] = Supervision(service)
        self._tasks[service.name] = asyncio.create_task(
            self._supervise(supervision), name=f"supervise:{service.name}"
        )
        return supervision

    def supervision(self, name: str) -> Supervision | None:
        return self._supervised.get(name)

    async def stop(self) -> None:
        """Stop watching: from now on an exit is nobody's business here (a stop is coming)."""
        self._stopped = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        # A restart cut short leaves a started process behind: it is still in
        # its process group, which the caller stops next.
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _supervise(self, supervision: Supervision) -> None:
        try:
            await self._restart_while_it_dies(supervision)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug here must not pass silently: the service would stay dead unsaid.
            logger.exception(
                "supervising %s failed; it is no longer restarted", supervision.service.name
            )

    async def _restart_while_it_dies(self, supervision: Supervision) -> None:
        service = supervision.service
        policy = self.policy
        hung: str | None = None
        while True:
            code = await service.wait()
            if service.stop_requested:
                return
            cause, hung = hung or describe_exit(code), None
            supervision.last_death = cause
            self._report(
                ServiceDied(
                    service.name, service.pid, cause, tuple(service.recent_output()[-TAIL_LINES:])
                )
            )
            # Helpers the dead process started may still hold its group (and ports).
            await service.stop()
            reason = self._reason_to_give_up(supervision, code)
            if reason is not None:
                supervision.phase, supervision.reason = "given up", reason
                self._report(ServiceAbandoned(service.name, reason))
                return
            supervision.phase = "restarting"
            supervision.restarts += 1
            delay = policy.delay_after(len(supervision.deaths))
            self._report(ServiceRestarting(service.name, supervision.restarts, delay))
            await asyncio.sleep(delay)
            await service.start()
            try:
                await service.wait_ready(policy.ready_timeout_s)
            except ServiceExitedError:
                continue  # its death is reported with the next exit, above
            except TimeoutError:
                hung = f"not ready {policy.ready_timeout_s:g} s after its restart, so killed"
                service.kill()
                continue
            supervision.phase = "up"
            self._report(ServiceRestarted(service.name, service.pid, supervision.restarts))

    def _reason_to_give_up(self, supervision: Supervision, code: int) -> str | None:
        """Records the death; why the service should not be restarted, if it should not."""
        policy = self.policy
        now = self._clock()
        deaths = supervision.deaths
        deaths.append(now)
        while deaths and deaths[0] <= now - policy.window_s:
            deaths.popleft()
        meaning = policy.hopeless.get(code)
        if meaning is not None:
            return f"it {describe_exit(code)}: {meaning}, and a restart would not change that"
        if len(deaths) >= policy.max_deaths:
            return f"it died {len(deaths)} times within {policy.window_s:g} s"
        return None

    def _report(self, event: SupervisionEvent) -> None:
        try:
            self._report_to(event)
        except Exception:
            # The supervision must go on even when telling about it fails.
            logger.exception("reporting %r failed", event)


def _log_event(event: SupervisionEvent) -> None:
    if isinstance(event, ServiceRestarted):
        logger.info("%s", event)
    else:
        logger.warning("%s", event)

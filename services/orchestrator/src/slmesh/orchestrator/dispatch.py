"""Publishing the task events of a request's calls; what this replica awaits replies for.

A call whose arguments fail its micromodel's input schema is never
published: it fails here, and its failure is gathered like any reply.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from faststream.kafka import KafkaBroker

from slmesh.orchestrator.clock import now_ms
from slmesh.orchestrator.gather.state import GatherCall, GatherState
from slmesh.orchestrator.planning.plan import PlannedCall
from slmesh.orchestrator.policy.routing import (
    Candidate,
    Redact,
    Routed,
    Scan,
    failure_code,
    ordered,
    route_call,
)
from slmesh.orchestrator.policy.versions import pick_version
from slmesh.orchestrator.settings import OrchestratorSettings
from slmesh.runtime.failures import task_failed
from slmesh.runtime.kafka.publishing import publish_event
from slmesh.runtime.registry import Tool
from slmesh.runtime.registry.catalogue import version_order
from slmesh.runtime.tracing import decided
from slmesh.runtime.trust import MeshParty
from slmesh.schemas import (
    Classification,
    ErrorCode,
    ModelPrice,
    TaskCompleted,
    TaskFailed,
    TaskRequested,
    encode,
)

# Where a reply (its event and the event's bytes) is gathered: completion.Completion.gather.
GatherReply = Callable[[TaskCompleted | TaskFailed, bytes], Awaitable[None]]


class Dispatch(Protocol):
    """Publishes the tasks of a round's calls (Dispatcher.dispatch_all)."""

    async def __call__(
        self, rid: str, state: GatherState, calls: list[GatherCall], *, refused: GatherReply
    ) -> None: ...


class PickVersion(Protocol):
    """The version a call goes to (Dispatcher.version_of): its task id, micromodel, pin."""

    def __call__(self, task_id: str, micromodel: str, pinned: str | None) -> str | None: ...


class Route(Protocol):
    """Where each planned call goes (Dispatcher.route); None for a call nobody serves (it
    fails as unknown at dispatch)."""

    def __call__(
        self, calls: list[PlannedCall], classification: Classification, *, named: bool
    ) -> list[Routed | None]: ...


def new_calls(
    rid: str,
    planned: list[PlannedCall],
    *,
    first: int,
    classification: Classification,
    named: bool,
    route: Route,
    version: PickVersion,
    pins: Mapping[str, str] | None = None,
) -> list[GatherCall]:
    """The calls of a round, numbered on from `first`, each routed by the `classification`
    of its payload (`named`: the caller named the micromodels) and sent to a version of
    its micromodel (its own pin, else the request's `pins`, else the split), dispatched now."""
    calls = []
    pins = pins or {}
    for i, (call, routed) in enumerate(
        zip(planned, route(planned, classification, named=named), strict=True), start=first
    ):
        task_id = f"{rid}:{i}"
        if routed is None:
            calls.append(
                GatherCall(
                    task_id=task_id,
                    micromodel=call.micromodel,
                    arguments=call.arguments,
                    dispatched_ms=now_ms(),
                )
            )
            continue
        price = routed.price
        pinned = call.version or pins.get(routed.micromodel)
        calls.append(
            GatherCall(
                task_id=task_id,
                micromodel=routed.micromodel,
                arguments=routed.arguments,
                dispatched_ms=now_ms(),
                version=version(task_id, routed.micromodel, pinned),
                routing=routed.routing,
                price=(
                    ModelPrice(
                        input_per_mtok=price.input_per_mtok,
                        output_per_mtok=price.output_per_mtok,
                        currency=price.currency,
                    )
                    if price is not None
                    else None
                ),
            )
        )
    return calls


class Outstanding:
    """Requests this replica dispatched and has not answered, with their deadlines.

    While there are any, replies are coming: the consumers stay fast (pace).
    """

    def __init__(self) -> None:
        self._deadlines: dict[str, int] = {}

    def add(self, rid: str, deadline_ms: int) -> None:
        """Replies to the request's calls are due until its deadline."""
        self._deadlines[rid] = deadline_ms

    def discard(self, rid: str) -> None:
        self._deadlines.pop(rid, None)

    def count(self) -> int:
        """Requests this replica dispatched and has not answered (the metrics' in flight)."""
        return len(self._deadlines)

    def awaited(self) -> bool:
        """Whether replies to this replica's calls are still to come (its consumers stay fast)."""
        self.forget_past_deadline()
        return bool(self._deadlines)

    def forget_past_deadline(self) -> None:
        """Forget the requests past their deadline.

        A request another replica answered is forgotten here at its deadline:
        this replica is not told of the answer.
        """
        now = now_ms()
        for rid in [rid for rid, deadline in self._deadlines.items() if deadline <= now]:
            del self._deadlines[rid]


class Dispatcher:
    def __init__(
        self,
        settings: OrchestratorSettings,
        broker: KafkaBroker,
        tool: Callable[[str], Tool | None],
        source: str,
        party: MeshParty,
        *,
        serving: Callable[[str], list[Tool]],
        versions: Callable[[str], dict[str, Tool]],
        scan: Scan,
        redact: Redact,
    ) -> None:
        self.settings = settings
        self.broker = broker
        # Each task is proven to the one identity that serves its micromodel.
        self.party = party
        # A live micromodel's tool, whose input schema its calls are checked against
        # (the registry's catalogue).
        self.tool = tool
        self.source = source
        # The live micromodels serving a tool (the catalogue's), and the search for personal
        # data in a payload that may leave the premises (slmesh.runtime.pii).
        self.serving = serving
        # The live versions of a micromodel, each on its own topic (the catalogue's).
        self.versions = versions
        self.scan = scan
        self.redact = redact

    def version_of(self, task_id: str, micromodel: str, pinned: str | None) -> str | None:
        """The version a call goes to (policy.versions); None for a micromodel whose card
        names none (a configured one)."""
        live = self.versions(micromodel)
        if not live:
            return pinned
        plain = self.settings.task_topic(micromodel)
        on_plain = [v for v, t in live.items() if t.topic == plain]
        fallback = on_plain[0] if on_plain else max(live, key=version_order)
        return pick_version(
            task_id,
            {v: t.topic for v, t in live.items()},
            pinned=pinned,
            split=self.settings.versions.get(micromodel),
            fallback=fallback,
        )

    def route(
        self, calls: list[PlannedCall], classification: Classification, *, named: bool
    ) -> list[Routed | None]:
        """Where each call goes: to a micromodel serving its tool that may receive its
        payload (policy.routing); None where no live micromodel serves it."""
        # A fan-out calls one tool many times: its candidates are looked up once, and where
        # the first one takes any payload unsearched (on-premise), the decision is the same
        # for every call of it.
        candidates: dict[str, list[Candidate]] = {}
        settled: dict[str, Routed] = {}
        routed: list[Routed | None] = []
        for call in calls:
            same = settled.get(call.micromodel)
            if same is not None:
                routed.append(replace(same, arguments=call.arguments))
                continue
            tried = candidates.get(call.micromodel)
            if tried is None:
                tried = candidates[call.micromodel] = ordered(
                    call.micromodel,
                    [
                        Candidate(tool.name, tool.placement)
                        for tool in self.serving(call.micromodel)
                    ],
                    prefer_remote=self.settings.prefer_remote,
                    named=named,
                )
            if not tried:
                routed.append(None)
                continue
            decided = route_call(
                call.micromodel,
                call.arguments,
                classification,
                tried,
                scan=self.scan,
                redact=self.redact,
            )
            first = tried[0].placement
            if not first.remote and first.admits(classification):
                settled[call.micromodel] = decided
            routed.append(decided)
        return routed

    async def dispatch_all(
        self, rid: str, state: GatherState, calls: list[GatherCall], *, refused: GatherReply
    ) -> None:
        """Publish one task per call, side by side; a refused call's failure goes to `refused`."""
        deadline = datetime.fromtimestamp(state.deadline_ms / 1000, UTC)
        if len(calls) == 1:
            # Awaited here: gathering one would first wrap it in a task, a turn
            # of the event loop before the task is published.
            await self._dispatch(rid, state, calls[0], deadline, refused)
            return
        await asyncio.gather(
            *(self._dispatch(rid, state, call, deadline, refused) for call in calls)
        )

    async def _dispatch(
        self,
        rid: str,
        state: GatherState,
        call: GatherCall,
        deadline: datetime,
        refused: GatherReply,
    ) -> None:
        routing = call.routing
        if routing is not None:
            # In the request's trace: where each call's data went, never the data.
            decided(
                "slmesh.routing",
                task_id=call.task_id,
                requested=routing.requested,
                micromodel=call.micromodel,
                decision=routing.decision,
                locality=routing.locality,
                provider=routing.provider,
                classification=routing.classification,
                pii=",".join(f"{kind}:{n}" for kind, n in sorted(routing.pii.items())) or None,
            )
        if routing is not None and routing.decision in ("refused", "denied"):
            # Never published: where its data may go, no micromodel serving it may receive it.
            code = failure_code(routing)
            await self._fail_here(rid, state, call, code, routing.reason or code, refused)
            return
        owner = self.party.policy.owner_of(call.micromodel)
        topic, tool, unserved = self._destination(call)
        problem = unserved or (
            (tool.argument_problem(call.arguments) if tool is not None else None)
            if owner is not None
            else f"no identity in the trust file serves micromodel {call.micromodel!r}"
        )
        if problem is not None:
            code = (
                "invalid_arguments"
                if owner is not None and unserved is None
                else "unknown_micromodel"
            )
            await self._fail_here(rid, state, call, code, problem, refused)
            return
        task = TaskRequested.create(
            data={
                "task_id": call.task_id,
                "micromodel": call.micromodel,
                "arguments": call.arguments,
                "deadline": deadline,
                "classification": (
                    routing.classification if routing is not None else state.classification
                ),
                "reply_topic": self.settings.replies_topic,
            },
            source=self.source,
            request_id=rid,
            causation_id=state.event_id,
        )
        prove = functools.partial(self.party.prove, to=owner)
        await publish_event(self.broker, topic, task, key=call.task_id, prove=prove)

    async def _fail_here(
        self,
        rid: str,
        state: GatherState,
        call: GatherCall,
        code: ErrorCode,
        message: str,
        refused: GatherReply,
    ) -> None:
        """Fail a call without publishing it, recorded like any reply."""
        failed = task_failed(
            task_id=call.task_id,
            micromodel=call.micromodel,
            code=code,
            message=message,
            source=self.source,
            request_id=rid,
            replica=self.settings.replica,
            causation_id=state.event_id,
        )
        await refused(failed, encode(failed))

    def _destination(self, call: GatherCall) -> tuple[str, Tool | None, str | None]:
        """Where the call's task goes (its version's topic), the live micromodel whose input
        schema its arguments are checked against, or why it cannot go."""
        plain = self.settings.task_topic(call.micromodel)
        if call.version is None:
            return plain, self.tool(call.micromodel), None
        live = self.versions(call.micromodel)
        tool = live.get(call.version)
        if tool is None:
            serving = ", ".join(sorted(live, key=version_order)) or "none"
            return (
                plain,
                None,
                (
                    f"version {call.version} of micromodel {call.micromodel!r} is not serving "
                    f"(serving: {serving})"
                ),
            )
        return tool.topic or plain, tool, None

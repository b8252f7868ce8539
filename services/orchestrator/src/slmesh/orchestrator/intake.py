"""Taking a request in: whose it is, decode it, check where it is answered, plan it, open its
gather state.

A request record is checked cheapest first: its size, then the proof of its
caller (`slmesh-signer`/`slmesh-proof`, an HMAC the caller made for the
orchestrator), then its event. A record no caller proved is dead-lettered
(`unauthenticated_request`) and nothing else: no response, no state, so no
garbage or forged record can answer, silence or open anyone's request. From
there on the request is its caller's: known by its scoped id (callers),
answered on the caller's own topic only, planned over the micromodels the
caller may call, and counted among the caller's open requests (refused over
its cap).

A request comes in either CloudEvents content mode (schemas.binding).
Its calls are the request's own (explicit) or planned within the request's
deadline and the planner's budget; a request that cannot be planned, or
plans more calls than the cap, gets one failed response. A request seen
before (redelivered) is not opened again: its calls are sent again, and the
gather counts each reply once. A plan made without a model has its tasks
published while its gather state is written (gather.writes), unless its
caller is near its cap (admission).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker

from slmesh.orchestrator.admission import OpenRequests
from slmesh.orchestrator.callers import Callers, scope, scope_problem
from slmesh.orchestrator.clock import now_ms
from slmesh.orchestrator.dispatch import Dispatch, GatherReply, PickVersion, Route, new_calls
from slmesh.orchestrator.gather.state import (
    DeferredClause,
    GatherCall,
    GatherState,
    PipelineRun,
)
from slmesh.orchestrator.gather.store import GatherStorage, Opening
from slmesh.orchestrator.opening_sentence import OpeningSentences
from slmesh.orchestrator.outcomes import plan_failure, planning_work, shown, unplaced_parts
from slmesh.orchestrator.pipelines import Advance, input_problem
from slmesh.orchestrator.pipelines.gathered import planned, progressed, start
from slmesh.orchestrator.planning.plan import Plan, PlannedCall, Planner, ToolView, for_planning
from slmesh.orchestrator.planning.remote import RemotePlanning, RemotePlanningFailed
from slmesh.orchestrator.policy.routing import Found, Scan, pii_classification
from slmesh.orchestrator.responder import Responder
from slmesh.orchestrator.settings import SERVICE, OrchestratorSettings
from slmesh.runtime.kafka.publishing import publish_dead_letter
from slmesh.runtime.registry.placement import highest
from slmesh.runtime.service.logcontext import about
from slmesh.runtime.tracing import current_traceparent, decided, step
from slmesh.runtime.trust import MeshParty, Unproven
from slmesh.schemas import (
    Classification,
    ContractError,
    ErrorCode,
    ErrorInfo,
    RequestSubmitted,
    decode_record,
    is_valid_id,
)
from slmesh.schemas.pipelines import Pipeline

logger = logging.getLogger(__name__)

# A planned call's string arguments this long or longer are texts, compared with a
# pipeline's own text; shorter ones are labels or names ("complaint", "DE").
MIN_FOLDED_TEXT = 12


@dataclass(frozen=True)
class Started:
    """A pipeline run and its first round, before its calls have task ids."""

    run: PipelineRun
    first: Advance


@dataclass(eq=False)
class Intake:
    settings: OrchestratorSettings
    broker: KafkaBroker
    store: GatherStorage
    planner: Planner
    # Who this orchestrator is: it checks each request's proof of its caller.
    party: MeshParty
    # What the trust file says of each caller (callers.Callers).
    callers: Callers
    # The live micromodels a caller may call, as the planner sees them (app.tool_views).
    tools: Callable[[str], Mapping[str, ToolView]]
    # When a micromodel no longer live was last heard of (the registry's catalogue).
    gone_since: Callable[[str], datetime | None]
    # Whether responses can go to a caller's own topic (responder.ReplyTopics.ready).
    reply_topic_ready: Callable[[str], Awaitable[bool]]
    dispatch: Dispatch
    # Where each call goes, by its payload's classification (Dispatcher.route).
    route: Route
    # Which version of its micromodel each call goes to (Dispatcher.version_of).
    version: PickVersion
    # The personal data in a text, by kind (slmesh.runtime.pii.scan_arguments): searched
    # before a remote model of the orchestrator's own may read a request.
    scan: Scan
    # Where a call refused at dispatch is gathered, like any reply (Completion.gather).
    gather: GatherReply
    responder: Responder
    opening_sentences: OpeningSentences
    # Replies to a request's calls are due until its deadline: the consumers stay fast
    # (dispatch.Outstanding.add).
    expect_replies: Callable[[str, int], None]
    # A request opened here, with its deadline: the sweeper may have to wake sooner
    # (Sweeper.opened).
    request_opened: Callable[[int], None]
    # A write of a gather state under way, for a reply that outruns it to wait on
    # (gather.writes.StateWritesInFlight.track).
    track_write: Callable[[str, asyncio.Future[Opening]], None]
    # A remote model that plans the requests it may read (planning.remote); `planner`
    # plans the others, and those it fails.
    remote_planner: RemotePlanning | None = None
    # The pipelines a request may name (pipelines.catalogue), by name.
    pipelines: Mapping[str, Pipeline] = field(default_factory=dict)
    # Whether the last gather-state write succeeded: until one does again,
    # a request's state is written before its tasks go out.
    _store_answers: bool = field(default=True, init=False)
    # How many requests each caller had open, as last seen here (admission).
    _open: OpenRequests = field(default_factory=OpenRequests, init=False)

    async def on_request(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Check whose it is, plan, open the gather state, dispatch the tasks (or answer the
        error, to its caller).

        Its offset is committed only after this returns (ConcurrentConsumption).
        """
        received_ms = now_ms()
        value = record.value or b""
        if len(value) > self.settings.max_event_bytes:
            # Refused by its size alone, before its event is parsed; its proof is
            # checked only to know whether a caller is to be told.
            await self._too_large(record, len(value))
            return
        try:
            caller = self._prove(record)
        except Unproven as exc:
            await self._dead_letter(record, "unauthenticated_request", exc.reason)
            return
        try:
            request = decode_record(
                value,
                record.headers,
                (RequestSubmitted,),
                max_bytes=self.settings.max_event_bytes,
            )
        except ContractError as exc:
            await self._reject_record(record, caller, exc)
        else:
            await self._start(record, request, caller, received_ms)

    def _prove(self, record: ConsumerRecord[bytes, bytes]) -> str:
        """The caller that proved the record (an HMAC for this orchestrator); raises Unproven."""
        proven = self.party.check(
            self.settings.requests_topic,
            record.key,
            record.value,
            record.headers,
            roles=("caller",),
        )
        return proven.name

    async def _start(
        self,
        record: ConsumerRecord[bytes, bytes],
        request: RequestSubmitted,
        caller: str,
        received_ms: float,
    ) -> None:
        rid = scope(caller, request.requestid)
        about(request_id=rid)
        problem = scope_problem(caller, request.requestid)
        if problem is not None:
            # Its tasks could not carry it; its answer can (under the caller's own id).
            await self._reject_record(
                record, caller, ContractError("invalid_event", problem, request.requestid)
            )
            return
        own_topic = self.callers.topic(caller)
        if not await self.reply_topic_ready(own_topic):
            # Nowhere to answer it, and nowhere else may: said where an operator looks.
            await self._dead_letter(
                record,
                "unknown_reply_topic",
                f"caller {caller!r}'s response topic {own_topic} does not exist, and this mesh "
                "creates none at run time (SLMESH_DEPLOYMENT=production, or "
                "SLMESH_CREATE_REPLY_TOPICS=false): `slmesh topics apply` makes it",
            )
            return
        reply_topic = request.data.reply_topic
        if reply_topic is not None and reply_topic != own_topic:
            # Before any work: the mesh writes to no topic but the caller's own.
            reason = (
                f"the reply topic {reply_topic!r} is not caller {caller!r}'s: a caller is "
                f"answered on its own response topic, {own_topic}, and nowhere else; leave "
                "reply_topic out, or name that topic"
            )
            plan = Plan("none", reason=reason)
            await self._answer_failed(rid, request, "forbidden_reply_topic", plan, received_ms)
            return
        cap = self.callers.max_in_flight(caller)
        near_cap = self._open.near_cap(caller, cap)
        # Counted here from now until the store says how many are open (admission).
        with self._open.opening(caller):
            await self._plan_and_open(rid, request, caller, received_ms, cap, near_cap=near_cap)

    async def _plan_and_open(
        self,
        rid: str,
        request: RequestSubmitted,
        caller: str,
        received_ms: float,
        cap: int,
        *,
        near_cap: bool,
    ) -> None:
        """Plan the request (or take its explicit calls), open its gather state and send its
        tasks; or answer why not. `near_cap`: its caller may be at its `cap` (admission)."""
        timeout_ms = request.data.timeout_ms or self.settings.default_timeout_ms
        deadline_ms = int(received_ms + timeout_ms)
        if near_cap:
            # Before planning, which may be a model's work: refused at once at the cap.
            open_now = await self.store.open_requests(caller)
            self._open.seen(caller, open_now)
            if open_now >= cap:
                await self._too_many(rid, request, caller, open_now, received_ms, claimed=False)
                return
        forbidden = self._forbidden(caller, request)
        if forbidden is not None:
            refusal = Plan("explicit", reason=forbidden)
            await self._answer_failed(rid, request, "forbidden_micromodel", refusal, received_ms)
            return
        run: Started | None = None
        plan = self._explicit_plan(caller, request) if request.data.calls else None
        if request.data.pipeline is not None:
            started = self._pipeline_plan(caller, request)
            if isinstance(started[1], Started):
                plan, run = started
            else:
                refused, refusal = started
                await self._answer_failed(rid, request, refused, refusal, received_ms)
                return
        # Searched once, before any model of the orchestrator's own that is remote reads it.
        classification, found = self._classification(request, planned=plan is None)
        if plan is None:
            try:
                plan = await self._plan_within(
                    caller, request.data.input, deadline_ms, classification
                )
            except TimeoutError:
                plan = Plan(
                    self.planner.name,
                    reason=f"planning did not finish within the request's {timeout_ms} ms",
                )
                await self._answer_failed(rid, request, "deadline_exceeded", plan, received_ms)
                return
        if run is None and not request.data.calls and self.pipelines:
            routed = self._routed_to_pipeline(caller, plan)
            if isinstance(routed[0], str):
                await self._answer_failed(rid, request, routed[0], routed[1], received_ms)
                return
            plan, run = routed
        if not plan.calls:
            code: ErrorCode = "unknown_micromodel" if request.data.calls else "no_plan"
            await self._answer_failed(rid, request, code, plan, received_ms)
            return
        if len(plan.calls) > self.settings.max_calls:
            reason = (
                f"the plan has {len(plan.calls)} calls, over the cap of "
                f"{self.settings.max_calls} calls per request (SLMESH_MAX_CALLS); "
                "ask for fewer things at once, or split the request"
            )
            await self._answer_failed(
                rid, request, "too_many_calls", replace(plan, reason=reason), received_ms
            )
            return
        # A pipeline names its steps' micromodels as a caller names its calls.
        explicit = bool(request.data.calls) or run is not None
        read_by_composer = self._composer_reads(classification, found, plan)
        calls = new_calls(
            rid,
            plan.calls,
            first=1,
            classification=request.data.classification,
            named=explicit,
            route=self.route,
            version=self.version,
            pins=request.data.versions,
        )
        state = GatherState(
            event_id=request.id,
            reply_topic=self.callers.topic(caller),
            metadata=request.data.metadata,
            classification=classification,
            input=request.data.input,
            explicit=explicit,
            planner=plan.planner,
            plan=shown(plan.steps),
            unplaced=unplaced_parts(plan.unplaced),
            versions=dict(request.data.versions),
            planning=planning_work(plan),
            deferred=[
                DeferredClause(clause=d.clause, micromodel=d.micromodel) for d in plan.deferred
            ],
            unresolved=[],
            round=1,
            deadline_ms=deadline_ms,
            received_ms=received_ms,
            # Only a request whose calls run a model gets a model-written opening:
            # it is written while they run, and for a deterministic request it
            # would be the slowest part of the answer.
            opening=read_by_composer and not explicit and self._calls_model(caller, plan),
            traceparent=current_traceparent(),
            pipeline=None if run is None else progressed(run.run, run.first, calls),
        )
        # Replies are coming: this replica's consumers stay fast (pace).
        self.expect_replies(rid, deadline_ms)
        # A plan made without a model is the same on every delivery: its tasks
        # may go out before the state is written (a redelivery sends the same ones).
        # Not for a caller near its cap: its state is written first, so a request
        # over the cap sends no task.
        beside = plan.work is None and self._store_answers and not near_cap
        opening = await self._open_and_dispatch(rid, state, calls, cap, beside=beside)
        if opening.refused:
            self._open.seen(caller, opening.open_requests)
            await self._too_many(
                rid, request, caller, opening.open_requests, received_ms, claimed=True
            )
            return
        if not opening.opened:
            return
        self._open.seen(caller, opening.open_requests)
        self.request_opened(deadline_ms)
        if state.opening:
            # Written while the calls run; kept in Redis for whichever replica answers.
            self.opening_sentences.start(rid, request.data.input)

    def _classification(
        self, request: RequestSubmitted, *, planned: bool
    ) -> tuple[Classification, Found]:
        """The request's classification as the mesh handles it, and the personal data found
        in its input, by kind.

        The caller's classification; where a remote model of the orchestrator's
        own reads the input (the planner's, for a request to plan; the
        composer's), the input is searched for personal data first, which
        raises it (policy.routing). Each call's arguments are searched on their
        own where they may leave (Dispatcher.route).
        """
        classification = request.data.classification
        remote_reader = self.opening_sentences.reads_remotely or (
            planned and self.remote_planner is not None
        )
        if not remote_reader:
            return classification, {}
        found = {kind: n for kind, n in self.scan(request.data.input).items() if n}
        return highest(classification, pii_classification(found)), found

    def _composer_reads(self, classification: Classification, found: Found, plan: Plan) -> bool:
        """Whether the composer's model may read the request (`plan` is told why not, and
        which personal data its input carries)."""
        if found:
            kinds = ", ".join(f"{kind} ({n})" for kind, n in sorted(found.items()))
            plan.steps.append(f"the input carries personal data: {kinds}")
        if not self.opening_sentences.written:
            return False
        refusal = self.opening_sentences.refusal(classification)
        if refusal is not None:
            plan.steps.append(refusal)
        return refusal is None

    async def _open_and_dispatch(
        self, rid: str, state: GatherState, calls: list[GatherCall], cap: int, *, beside: bool
    ) -> Opening:
        """Write the request's gather state and publish its tasks, unless it was seen before
        (a redelivery: its unanswered tasks go again) or its caller is at its `cap`.

        `beside`: the tasks go out while the state is written (gather.writes), so
        the write's round trip is off a deterministic request's path. Else the
        state first: after a failed write (Redis away) the record is retried,
        and must not send its tasks again on every attempt; and a request over
        its caller's cap sends none.
        """
        write = asyncio.ensure_future(
            self.store.open(
                rid, request=state, calls=calls, deadline_ms=state.deadline_ms, max_open=cap
            )
        )
        if beside:
            self.track_write(rid, write)
            try:
                await self.dispatch(rid, state, calls, refused=self.gather)
            finally:
                # Awaited whatever the dispatch did: its outcome is never left unread.
                opening = await self._written(write)
        else:
            opening = await self._written(write)
            if opening.opened:
                await self.dispatch(rid, state, calls, refused=self.gather)
        if opening.seen_before:
            await self._resume(rid, sent_again=len(calls) if beside else 0)
        return opening

    async def _written(self, write: asyncio.Future[Opening]) -> Opening:
        """The write's outcome; whether it succeeded decides how the next request goes."""
        try:
            opened = await write
        except Exception:
            self._store_answers = False
            raise
        self._store_answers = True
        return opened

    async def _plan_within(
        self, caller: str, text: str, deadline_ms: int, classification: Classification
    ) -> Plan:
        """The planner's plan over what `caller` may call, or TimeoutError when the request's
        deadline comes first.

        The planner bounds its own model work (a budget per request); this
        bounds the rest, so no input keeps a request unanswered past its deadline.
        """
        remaining_s = max(deadline_ms - now_ms(), 0) / 1000
        with step("plan") as span:
            async with asyncio.timeout(remaining_s):
                tools = for_planning(self.tools(caller))
                plan = await self._planned(text, tools, classification, remaining_s)
            if span.is_recording():
                span.set_attributes(
                    {"slmesh.planner": plan.planner, "slmesh.calls": len(plan.calls)}
                )
            return plan

    async def _planned(
        self,
        text: str,
        tools: Mapping[str, ToolView],
        classification: Classification,
        remaining_s: float,
    ) -> Plan:
        """The remote planner's plan where it may read the request and gives one; else the
        on-premise planner's, its first step saying why."""
        remote = self.remote_planner
        if remote is None:
            return await self.planner.plan(text, tools)
        note = remote.refusal(classification)
        if note is None:
            try:
                # Half the time left at most: the on-premise planner may still plan it.
                async with asyncio.timeout(remaining_s / 2):
                    plan = await remote.planner.plan(text, tools)
            except TimeoutError:
                note = (
                    f"the remote planner did not answer within {remaining_s / 2 * 1000:.0f} ms "
                    "(half the request's time left): planned on-premise"
                )
            except RemotePlanningFailed as exc:
                note = f"the remote planner failed ({exc}): planned on-premise"
            else:
                if plan.calls:
                    self._planned_at(remote, classification, "remote")
                    return plan
                note = "the remote planner planned no call: planned on-premise"
            logger.warning("%s", note)
        self._planned_at(remote, classification, "on-premise")
        local = await self.planner.plan(text, tools)
        local.steps.insert(0, note)
        return local

    @staticmethod
    def _planned_at(remote: RemotePlanning, classification: Classification, where: str) -> None:
        # In the request's trace: where its text went to be planned, never the text.
        decided(
            "slmesh.planning",
            planned=where,
            classification=classification,
            remote_planner=remote.planner.label,
            provider=remote.placement.provider,
        )

    def _calls_model(self, caller: str, plan: Plan) -> bool:
        """Whether a call of the plan goes to a micromodel that runs a model."""
        tools = self.tools(caller)
        return any(
            call.micromodel in tools and tools[call.micromodel].runs_model for call in plan.calls
        )

    async def _resume(self, rid: str, *, sent_again: int = 0) -> None:
        """A redelivered request: its first taker may have died mid-dispatch.

        Calls without a result are published again (unless `sent_again` calls
        already were, beside the write); the micromodels answer a task id once
        (stored replies) and the gather counts a reply once. A state that
        cannot be read raises: the record is retried, then given up and answered.
        """
        if await self.store.state(rid) != "open":
            logger.info("request %s was seen before and is answered or answering", rid)
            return
        if sent_again:
            logger.info(
                "request %s redelivered while open: its %d call(s) went out again",
                rid,
                sent_again,
            )
            return
        snapshot = await self.store.snapshot(rid)
        if snapshot is None:
            return
        unanswered = [c for c in snapshot.calls if c.task_id not in snapshot.results]
        logger.info(
            "request %s redelivered while open: %d call(s) sent again", rid, len(unanswered)
        )
        await self.dispatch(rid, snapshot.request, unanswered, refused=self.gather)

    def _forbidden(self, caller: str, request: RequestSubmitted) -> str | None:
        """Why the request's explicit calls name micromodels its caller may not call, if so.

        Checked before whether they exist: a caller learns nothing of the
        micromodels it may not call.
        """
        if not request.data.calls or self.callers.may_call_any(caller):
            return None
        named = sorted({c.micromodel for c in request.data.calls})
        forbidden = [name for name in named if not self.callers.may_call(caller, name)]
        if not forbidden:
            return None
        return (
            f"caller {caller!r} may not call {', '.join(forbidden)} (the trust file's may_call "
            "for it); no call of this request was made"
        )

    def _explicit_plan(self, caller: str, request: RequestSubmitted) -> Plan | None:
        assert request.data.calls is not None
        named = sorted({c.micromodel for c in request.data.calls})
        tools = self.tools(caller)
        unknown = [name for name in named if name not in tools]
        if unknown:
            return Plan(
                "explicit",
                reason=f"unknown micromodel(s): {', '.join(map(self._absence, unknown))}; "
                f"serving now: {', '.join(sorted(tools)) or 'none'}",
            )
        return Plan(
            "explicit",
            [PlannedCall(c.micromodel, dict(c.arguments), c.version) for c in request.data.calls],
        )

    def _pipeline_plan(
        self, caller: str, request: RequestSubmitted
    ) -> tuple[Plan, Started] | tuple[ErrorCode, Plan]:
        """The first round of the pipeline a request names, as a plan, with its run; or why
        it cannot start."""
        name = request.data.pipeline
        assert name is not None
        pipeline = self.pipelines.get(name)
        if pipeline is None:
            # Only those it may run: a caller learns nothing of the others (as of micromodels).
            mine = [n for n, p in self.pipelines.items() if not self._forbidden_steps(caller, p)]
            known = ", ".join(sorted(mine)) or "none"
            reason = f"no pipeline {name!r} in this mesh; it runs for you: {known}"
            return "unknown_pipeline", Plan("pipeline", reason=reason)
        arguments = (
            request.data.arguments
            if request.data.arguments is not None
            else {"text": request.data.input}
        )
        planner = f"pipeline {pipeline.name}@{pipeline.version}"
        return self._start_run(caller, pipeline, arguments, Plan(planner))

    def _start_run(
        self, caller: str, pipeline: Pipeline, arguments: dict[str, Any], plan: Plan
    ) -> tuple[Plan, Started] | tuple[ErrorCode, Plan]:
        """A pipeline's first round, as `plan` (the planner's, when it routed the request to
        the pipeline) with the round's calls and steps; or why it cannot start."""
        name = pipeline.name
        forbidden = self._forbidden_steps(caller, pipeline)
        if forbidden:
            reason = (
                f"caller {caller!r} may not call {', '.join(forbidden)}, which pipeline "
                f"{name!r} calls (the trust file's may_call for it); no call was made"
            )
            return "forbidden_micromodel", replace(plan, calls=[], reason=reason)
        problem = input_problem(pipeline, arguments)
        if problem is not None:
            reason = f"the arguments of pipeline {name!r} fail its input schema: {problem}"
            return "invalid_arguments", replace(plan, calls=[], reason=reason)
        run, first = start(pipeline, arguments)
        steps = [*plan.steps, *first.lines]
        if not first.calls:
            reason = f"pipeline {name!r} made no call: " + "; ".join(first.lines)
            return "no_plan", replace(plan, calls=[], reason=reason, steps=steps)
        return replace(plan, calls=planned(first.calls), steps=steps), Started(run, first)

    def _forbidden_steps(self, caller: str, pipeline: Pipeline) -> list[str]:
        """The micromodels a pipeline calls that `caller` may not call, by name."""
        if self.callers.may_call_any(caller):
            return []
        named = sorted({s.micromodel for s in pipeline.steps})
        return [n for n in named if not self.callers.may_call(caller, n)]

    def _routed_to_pipeline(
        self, caller: str, plan: Plan
    ) -> tuple[Plan, Started | None] | tuple[ErrorCode, Plan]:
        """A plan with calls to pipelines the planner was offered as tools: one such call
        alone runs its pipeline, and so does one whose other calls are its own steps' work
        on its own text ("pull out the people and the key points of this email": the
        extractor's and the summarizer's parts of the pipeline that does both). Beside
        other calls it is not made (a pipeline runs on its own), and is named unanswered.
        Other plans are returned as they are."""
        if not any(c.micromodel in self.pipelines for c in plan.calls):
            return plan, None  # the common case: no pipeline's name, no tool list to read
        tools = self.tools(caller)
        chosen = [c for c in plan.calls if c.micromodel in tools and tools[c.micromodel].pipeline]
        if not chosen:
            return plan, None
        call = chosen[0]
        pipeline = self.pipelines[call.micromodel]
        others = [c for c in plan.calls if c is not call]
        if len(chosen) == 1 and all(_part_of(pipeline, call, other) for other in others):
            folded = f" (its steps do the {', '.join(c.micromodel for c in others)} calls)"
            step = f"runs pipeline {pipeline.name}{folded if others else ''}"
            routed = replace(plan, steps=[*plan.steps, step])
            return self._start_run(caller, pipeline, dict(call.arguments), routed)
        names = sorted({c.micromodel for c in chosen})
        note = f"pipeline(s) {', '.join(names)} not run: a pipeline runs alone; ask for it alone"
        kept = [c for c in plan.calls if c not in chosen]
        return replace(
            plan, calls=kept, steps=[*plan.steps, note], unplaced=[*plan.unplaced, note]
        ), None

    def _absence(self, name: str) -> str:
        gone = self.gone_since(name)
        if gone is None:
            return name
        return f"{name} (gone: last heard of at {gone.isoformat(timespec='seconds')})"

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], code: ErrorCode, error: str
    ) -> None:
        await publish_dead_letter(
            self.broker,
            self.settings.deadletter_topic,
            record,
            code=code,
            error=error,
            service=SERVICE,
        )

    async def _too_large(self, record: ConsumerRecord[bytes, bytes], size: int) -> None:
        """A record over the size limit: dead-lettered; answered only when its caller proved
        it (then its key is a request id the caller chose)."""
        message = f"event is {size} bytes; the limit is {self.settings.max_event_bytes} bytes"
        await self._dead_letter(record, "payload_too_large", message)
        try:
            caller = self._prove(record)
        except Unproven:
            return
        request_id = _key_text(record.key)
        if request_id is None:
            return
        await self.responder.fail_once(
            scope(caller, request_id),
            ErrorInfo.about("payload_too_large", message),
            f"The request was rejected: {message}",
        )

    async def _reject_record(
        self, record: ConsumerRecord[bytes, bytes], caller: str, exc: ContractError
    ) -> None:
        """A record its caller proved that is no valid request: dead-lettered, and answered
        on the caller's topic when a request id can be read (the caller proved the key)."""
        await self._dead_letter(record, exc.code, exc.message)
        request_id = exc.request_id or _key_text(record.key)
        if request_id is None:
            return
        await self.responder.fail_once(
            scope(caller, request_id),
            ErrorInfo.about(exc.code, exc.message),
            f"The request was rejected: {exc.message}",
        )

    async def _answer_failed(
        self,
        rid: str,
        request: RequestSubmitted,
        code: ErrorCode,
        plan: Plan,
        received_ms: float,
    ) -> None:
        """A failed response, on the caller's own topic."""
        await self.responder.fail_once(
            rid,
            ErrorInfo.about(code, plan.reason),
            f"The mesh cannot answer this request: {plan.reason}",
            causation_id=request.id,
            **plan_failure(plan),
            metadata=request.data.metadata,
            elapsed_ms=round(now_ms() - received_ms, 3),
        )

    async def _too_many(
        self,
        rid: str,
        request: RequestSubmitted,
        caller: str,
        open_now: int,
        received_ms: float,
        *,
        claimed: bool,
    ) -> None:
        """The refusal of a request over its caller's cap, retryable. `claimed`: the gather
        store claimed its answer when it refused to open it."""
        reason = (
            f"caller {caller!r} has {open_now} requests open, its cap "
            "(SLMESH_MAX_IN_FLIGHT_PER_CALLER, or max_in_flight in the trust file); retry "
            f"after one of your {open_now} open requests is answered"
        )
        error = ErrorInfo.about("too_many_requests", reason, retryable=True)
        answer = f"The mesh cannot take this request now: {reason}"
        data: dict[str, Any] = {
            "causation_id": request.id,
            "metadata": request.data.metadata,
            "elapsed_ms": round(now_ms() - received_ms, 3),
        }
        if claimed:
            await self.responder.fail_claimed(rid, error, answer, **data)
        else:
            await self.responder.fail_once(rid, error, answer, **data)

    async def give_up(
        self, record: ConsumerRecord[bytes, bytes], error: Exception, attempts: int
    ) -> None:
        """A request record whose handling kept failing: dead letter, and a failed response
        to its caller when it proved the record.

        Its partition's commits then move past it (ConcurrentConsumption).
        """
        message = f"handling failed {attempts} times, last with {type(error).__name__}: {error}"
        await publish_dead_letter(
            self.broker,
            self.settings.deadletter_topic,
            record,
            code="handler_error",
            error=message,
            service=SERVICE,
            attempts=attempts,
        )
        rid = self._request_of(record)
        if rid is None:
            return
        info = ErrorInfo.about("handler_error", message, retryable=True)
        answer = f"The request could not be handled: {message}"
        try:
            await self.responder.fail_once(rid, info, answer)
        except Exception as exc:
            # What broke the handler (its state in Redis, say) may break the
            # claim too: a response without it, rather than none.
            logger.warning("request %s: answered without claiming the answer: %s", rid, exc)
            await self.responder.fail_unclaimed(rid, info, answer)

    def _request_of(self, record: ConsumerRecord[bytes, bytes]) -> str | None:
        """The scoped id of a request record, as far as it can be read; None when no caller
        proved it."""
        try:
            caller = self._prove(record)
        except Unproven:
            return None
        try:
            request = decode_record(
                record.value,
                record.headers,
                (RequestSubmitted,),
                max_bytes=self.settings.max_event_bytes,
            )
        except ContractError as exc:
            request_id = exc.request_id or _key_text(record.key)
        else:
            request_id = request.requestid
        return None if request_id is None else scope(caller, request_id)


def _key_text(key: bytes | None) -> str | None:
    """The record key as a request id, when it is one the contract accepts (only ever read
    from a record its caller proved: the proof covers the key)."""
    if not key:
        return None
    with contextlib.suppress(UnicodeDecodeError):
        text = key.decode()
        if is_valid_id(text):
            return text
    return None


def _part_of(pipeline: Pipeline, run: PlannedCall, call: PlannedCall) -> bool:
    """Whether `call` is work the pipeline `run` starts does anyway: a call to one of its
    steps' micromodels whose every text is the pipeline's own text (or a part of it). A
    call on another text is the request's own and keeps the pipeline from running."""
    if call.micromodel not in {step.micromodel for step in pipeline.steps}:
        return False
    given = [v for v in run.arguments.values() if isinstance(v, str)]
    texts = [v for v in call.arguments.values() if isinstance(v, str) and len(v) >= MIN_FOLDED_TEXT]
    return bool(texts) and all(any(t in g for g in given) for t in texts)

"""Taking a request in: decode it, check where it is answered, plan it, open its gather state.

A request comes in either CloudEvents content mode (schemas.binding).
Its calls are the request's own (explicit) or planned within the request's
deadline and the planner's budget; a request that cannot be planned, or
plans more calls than the cap, gets one failed response. A request seen
before (redelivered) is not opened again: its calls are sent again, and the
gather counts each reply once. A plan made without a model has its tasks
published while its gather state is written (gather.writes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker

from slmesh.orchestrator.clock import now_ms
from slmesh.orchestrator.dispatch import Dispatch, GatherReply, new_calls
from slmesh.orchestrator.gather.state import DeferredClause, GatherCall, GatherState
from slmesh.orchestrator.gather.store import GatherStorage
from slmesh.orchestrator.opening_sentence import OpeningSentences
from slmesh.orchestrator.outcomes import plan_failure, planning_work, shown
from slmesh.orchestrator.planning.plan import Plan, PlannedCall, Planner, ToolView
from slmesh.orchestrator.responder import Responder
from slmesh.orchestrator.settings import SERVICE, OrchestratorSettings
from slmesh.runtime.kafka.publishing import publish_dead_letter
from slmesh.runtime.service.logcontext import about
from slmesh.runtime.tracing import current_traceparent, step
from slmesh.schemas import (
    ContractError,
    ErrorCode,
    ErrorInfo,
    RequestSubmitted,
    decode_record,
    is_valid_id,
)

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Intake:
    settings: OrchestratorSettings
    broker: KafkaBroker
    store: GatherStorage
    planner: Planner
    # The live micromodels, as the planner sees them (app.tool_views).
    tools: Callable[[], Mapping[str, ToolView]]
    # When a micromodel no longer live was last heard of (the registry's catalogue).
    gone_since: Callable[[str], datetime | None]
    # Whether responses can go to a requester's own topic (responder.ReplyTopics.ready).
    reply_topic_ready: Callable[[str], Awaitable[bool]]
    dispatch: Dispatch
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
    track_write: Callable[[str, asyncio.Future[bool]], None]
    # Whether the last gather-state write succeeded: until one does again,
    # a request's state is written before its tasks go out.
    _store_answers: bool = field(default=True, init=False)

    async def on_request(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Plan, open the gather state, dispatch the tasks (or answer the error).

        Its offset is committed only after this returns (ConcurrentConsumption).
        """
        received_ms = now_ms()
        try:
            request = decode_record(
                record.value,
                record.headers,
                (RequestSubmitted,),
                max_bytes=self.settings.max_event_bytes,
            )
        except ContractError as exc:
            await self._reject_record(record, exc)
        else:
            await self._start(request, received_ms)

    async def _start(self, request: RequestSubmitted, received_ms: float) -> None:
        about(request_id=request.requestid)
        timeout_ms = request.data.timeout_ms or self.settings.default_timeout_ms
        deadline_ms = int(received_ms + timeout_ms)
        reply_topic = request.data.reply_topic
        if reply_topic is not None and not await self.reply_topic_ready(reply_topic):
            # Checked before any work: an answer that cannot be delivered is not worth planning.
            await self._answer_failed(
                request,
                "unknown_reply_topic",
                Plan(
                    "none",
                    reason=f"the reply topic {reply_topic!r} does not exist, and this mesh "
                    "creates none at run time (SLMESH_DEPLOYMENT=production, or "
                    "SLMESH_CREATE_REPLY_TOPICS=false); answered on "
                    f"{self.settings.responses_topic} instead",
                ),
                received_ms,
                to_requester=False,
            )
            return
        plan = self._explicit_plan(request) if request.data.calls else None
        if plan is None:
            try:
                plan = await self._plan_within(request.data.input, deadline_ms)
            except TimeoutError:
                plan = Plan(
                    self.planner.name,
                    reason=f"planning did not finish within the request's {timeout_ms} ms",
                )
                await self._answer_failed(request, "deadline_exceeded", plan, received_ms)
                return
        if not plan.calls:
            code: ErrorCode = "unknown_micromodel" if request.data.calls else "no_plan"
            await self._answer_failed(request, code, plan, received_ms)
            return
        if len(plan.calls) > self.settings.max_calls:
            reason = (
                f"the plan has {len(plan.calls)} calls, over the cap of "
                f"{self.settings.max_calls} calls per request (SLMESH_MAX_CALLS); "
                "ask for fewer things at once, or split the request"
            )
            await self._answer_failed(
                request, "too_many_calls", replace(plan, reason=reason), received_ms
            )
            return
        rid = request.requestid
        calls = new_calls(rid, plan.calls, first=1)
        explicit = bool(request.data.calls)
        state = GatherState(
            event_id=request.id,
            reply_topic=reply_topic or self.settings.responses_topic,
            metadata=request.data.metadata,
            classification=request.data.classification,
            input=request.data.input,
            explicit=explicit,
            planner=plan.planner,
            plan=shown(plan.steps),
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
            opening=self.opening_sentences.written and not explicit and self._calls_model(plan),
            traceparent=current_traceparent(),
        )
        # Replies are coming: this replica's consumers stay fast (pace).
        self.expect_replies(rid, deadline_ms)
        # A plan made without a model is the same on every delivery: its tasks
        # may go out before the state is written (a redelivery sends the same ones).
        beside = plan.work is None and self._store_answers
        if not await self._open_and_dispatch(rid, state, calls, beside=beside):
            return
        self.request_opened(deadline_ms)
        if state.opening:
            # Written while the calls run; kept in Redis for whichever replica answers.
            self.opening_sentences.start(rid, request.data.input)

    async def _open_and_dispatch(
        self, rid: str, state: GatherState, calls: list[GatherCall], *, beside: bool
    ) -> bool:
        """Write the request's gather state and publish its tasks; False for a redelivery.

        `beside`: the tasks go out while the state is written (gather.writes), so
        the write's round trip is off a deterministic request's path. Else the
        state first: after a failed write (Redis away) the record is retried,
        and must not send its tasks again on every attempt.
        """
        write = asyncio.ensure_future(
            self.store.open(rid, request=state, calls=calls, deadline_ms=state.deadline_ms)
        )
        if beside:
            self.track_write(rid, write)
            try:
                await self.dispatch(rid, state, calls, refused=self.gather)
            finally:
                # Awaited whatever the dispatch did: its outcome is never left unread.
                opened = await self._written(write)
        else:
            opened = await self._written(write)
            if opened:
                await self.dispatch(rid, state, calls, refused=self.gather)
        if not opened:
            await self._resume(rid, sent_again=len(calls) if beside else 0)
        return opened

    async def _written(self, write: asyncio.Future[bool]) -> bool:
        """The write's outcome; whether it succeeded decides how the next request goes."""
        try:
            opened = await write
        except Exception:
            self._store_answers = False
            raise
        self._store_answers = True
        return opened

    async def _plan_within(self, text: str, deadline_ms: int) -> Plan:
        """The planner's plan, or TimeoutError when the request's deadline comes first.

        The planner bounds its own model work (a budget per request); this
        bounds the rest, so no input keeps a request unanswered past its deadline.
        """
        remaining_s = max(deadline_ms - now_ms(), 0) / 1000
        with step("plan") as span:
            async with asyncio.timeout(remaining_s):
                plan = await self.planner.plan(text, self.tools())
            if span.is_recording():
                span.set_attributes(
                    {"slmesh.planner": plan.planner, "slmesh.calls": len(plan.calls)}
                )
            return plan

    def _calls_model(self, plan: Plan) -> bool:
        """Whether a call of the plan goes to a micromodel that runs a model."""
        tools = self.tools()
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

    def _explicit_plan(self, request: RequestSubmitted) -> Plan | None:
        assert request.data.calls is not None
        live = sorted(self.tools())
        unknown = sorted({c.micromodel for c in request.data.calls} - set(live))
        if unknown:
            return Plan(
                "explicit",
                reason=f"unknown micromodel(s): {', '.join(map(self._absence, unknown))}; "
                f"serving now: {', '.join(live) or 'none'}",
            )
        return Plan(
            "explicit", [PlannedCall(c.micromodel, dict(c.arguments)) for c in request.data.calls]
        )

    def _absence(self, name: str) -> str:
        gone = self.gone_since(name)
        if gone is None:
            return name
        return f"{name} (gone: last heard of at {gone.isoformat(timespec='seconds')})"

    async def _reject_record(
        self, record: ConsumerRecord[bytes, bytes], exc: ContractError
    ) -> None:
        await publish_dead_letter(
            self.broker,
            self.settings.deadletter_topic,
            record,
            code=exc.code,
            error=exc.message,
            service=SERVICE,
        )
        request_id = exc.request_id or _key_text(record.key)
        if request_id is None:
            return
        await self.responder.fail_once(
            request_id,
            ErrorInfo.about(exc.code, exc.message),
            f"The request was rejected: {exc.message}",
        )

    async def _answer_failed(
        self,
        request: RequestSubmitted,
        code: ErrorCode,
        plan: Plan,
        received_ms: float,
        *,
        to_requester: bool = True,
    ) -> None:
        """A failed response, on the requester's own topic unless `to_requester` is False
        (it does not exist): then on the mesh's responses topic."""
        await self.responder.fail_once(
            request.requestid,
            ErrorInfo.about(code, plan.reason),
            f"The mesh cannot answer this request: {plan.reason}",
            topic=request.data.reply_topic if to_requester else None,
            causation_id=request.id,
            **plan_failure(plan),
            metadata=request.data.metadata,
            elapsed_ms=round(now_ms() - received_ms, 3),
        )

    async def give_up(
        self, record: ConsumerRecord[bytes, bytes], error: Exception, attempts: int
    ) -> None:
        """A request record whose handling kept failing: dead letter and failed response.

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
        rid, topic = _request_of(record, self.settings.max_event_bytes)
        if rid is None:
            return
        info = ErrorInfo.about("handler_error", message, retryable=True)
        answer = f"The request could not be handled: {message}"
        try:
            await self.responder.fail_once(rid, info, answer, topic=topic)
        except Exception as exc:
            # What broke the handler (its state in Redis, say) may break the
            # claim too: a response without it, rather than none.
            logger.warning("request %s: answered without claiming the answer: %s", rid, exc)
            await self.responder.fail_unclaimed(rid, info, answer, topic=topic)


def _request_of(
    record: ConsumerRecord[bytes, bytes], max_bytes: int
) -> tuple[str | None, str | None]:
    """The request id and reply topic of a request record, as far as they can be read."""
    try:
        request = decode_record(
            record.value, record.headers, (RequestSubmitted,), max_bytes=max_bytes
        )
    except ContractError as exc:
        return exc.request_id or _key_text(record.key), None
    return request.requestid, request.data.reply_topic


def _key_text(key: bytes | None) -> str | None:
    """The record key as a request id, when it is one the contract accepts."""
    if not key:
        return None
    with contextlib.suppress(UnicodeDecodeError):
        text = key.decode()
        if is_valid_id(text):
            return text
    return None

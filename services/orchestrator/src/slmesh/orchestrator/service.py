"""The orchestrator: requests in, one task per planned call out, replies gathered, one answer.

It keeps no request state in memory: the gather state is in Redis, so
replicas share one stream of requests and replies and any of them may
finish any request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.structs import ConsumerRecord
from faststream import FastStream
from faststream.kafka import KafkaBroker

from slmesh.orchestrator.composer import (
    Composer,
    Composition,
    ModelComposer,
    compose_answer,
    model_work,
    response_status,
)
from slmesh.orchestrator.planner import Deferred, Plan, PlannedCall, Planner, RulesPlanner
from slmesh.orchestrator.settings import OrchestratorSettings
from slmesh.orchestrator.slm_planner import SlmPlanner
from slmesh.runtime.broker import (
    TopicDirectory,
    create_broker,
    ensure_topics,
    fetch_pace,
    mesh_topics,
    subscribe,
)
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.consumption import ConcurrentConsumption
from slmesh.runtime.dependencies import DependencyWatch, wait_for_dependencies
from slmesh.runtime.groups import ORCHESTRATOR_REPLIES_GROUP, ORCHESTRATOR_REQUESTS_GROUP
from slmesh.runtime.llm import LocalModel, ModelLoadError, Usage
from slmesh.runtime.lookback import published_since
from slmesh.runtime.publishing import publish_dead_letter, publish_event
from slmesh.runtime.registry import Catalogue, ensure_registry_topic
from slmesh.runtime.service import (
    MODEL_LOAD_FAILED,
    READY_MARKER,
    configure_logging,
    faststream_logger,
    lifecycle,
    run,
)
from slmesh.runtime.store import AnswerClaim, Claim, GatherSnapshot, GatherStore, ReplyOutcome
from slmesh.schemas import (
    CallOutcome,
    ContractError,
    ErrorCode,
    ErrorInfo,
    ModelWork,
    RequestCompleted,
    RequestSubmitted,
    TaskCompleted,
    TaskFailed,
    TaskRequested,
    decode,
    encode,
    is_valid_id,
)

logger = logging.getLogger(__name__)

SERVICE = "orchestrator"
OPENING_POLL_S = 0.01
# How often a delivery waits on another that holds the lease to answer the same request.
ANSWER_POLL_S = 0.25
# The longest the sweeper sleeps: requests other replicas open are swept this soon.
IDLE_SWEEP_S = 1.0
# Steps of a plan a response shows: a request of thousands of clauses is said in brief.
MAX_PLAN_STEPS = 100
# Looking back for a dead completer's answer starts this much before its
# lease did: record timestamps come from the clock of whichever replica produced them.
LOOKBACK_SLACK_MS = 5_000


def _now_ms() -> float:
    return time.time() * 1000


class Orchestrator:
    def __init__(
        self,
        settings: OrchestratorSettings,
        broker: KafkaBroker,
        store: GatherStore,
        planner: Planner,
        catalogue: Catalogue,
        composer: Composer | None = None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.broker = broker
        self.store = store
        self.planner = planner
        # None: answers are the template alone, and no opening is written or awaited.
        self.composer = composer
        self._openings: set[asyncio.Task[None]] = set()
        # Set when a request opens here: its deadline may be sooner than the sweeper's sleep.
        self._sweep_now = asyncio.Event()
        self._next_sweep_ms = 0.0
        # Requests this replica dispatched and has not answered, with their
        # deadlines: while there are any, replies are coming (see `awaits_replies`).
        self._dispatched: dict[str, int] = {}
        self.source = settings.source(SERVICE)
        self.topics = TopicDirectory(settings, known=[settings.responses_topic])

    # --- requests ---------------------------------------------------------------

    async def on_request(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Plan, open the gather state, dispatch the tasks (or answer the error).

        Its offset is committed only after this returns (ConcurrentConsumption).
        """
        received_ms = _now_ms()
        try:
            request = decode(
                record.value or b"", (RequestSubmitted,), max_bytes=self.settings.max_event_bytes
            )
        except ContractError as exc:
            await self._reject_record(record, exc)
        else:
            await self._start(request, received_ms)

    async def _start(self, request: RequestSubmitted, received_ms: float) -> None:
        timeout_ms = request.data.timeout_ms or self.settings.default_timeout_ms
        deadline_ms = int(received_ms + timeout_ms)
        reply_topic = request.data.reply_topic
        if reply_topic is not None and not await self._reply_topic_ready(reply_topic):
            # Checked before any work: an answer that cannot be delivered is not worth planning.
            await self._answer_failed(
                request,
                "unknown_reply_topic",
                Plan(
                    "none",
                    reason=f"the reply topic {reply_topic!r} does not exist, and this mesh "
                    "creates none at run time (SLMESH_CREATE_REPLY_TOPICS is off); answered "
                    f"on {self.settings.responses_topic} instead",
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
                    getattr(self.planner, "name", "planner"),
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
        calls = _calls(rid, plan.calls, first=1)
        explicit = bool(request.data.calls)
        state = {
            "event_id": request.id,
            "reply_topic": reply_topic or self.settings.responses_topic,
            "metadata": request.data.metadata,
            "classification": request.data.classification,
            # Kept for the composer and later rounds; bounded by the event size limit.
            "input": request.data.input,
            "explicit": explicit,
            "planner": plan.planner,
            "plan": _shown(plan.steps),
            "planning": _work(plan.model, plan.work),
            "deferred": [vars(d) for d in plan.deferred],
            "unresolved": [],
            "round": 1,
            "deadline_ms": deadline_ms,
            "received_ms": received_ms,
            # Only a request whose calls run a model gets a model-written opening:
            # it is written while they run, and for a deterministic request it
            # would be the slowest part of the answer.
            "opening": self.composer is not None and not explicit and self._calls_model(plan),
        }
        opened = await self.store.open(rid, request=state, calls=calls, deadline_ms=deadline_ms)
        if not opened:
            await self._resume(rid)
            return
        if deadline_ms < self._next_sweep_ms:
            self._sweep_now.set()
        self._dispatched[rid] = deadline_ms
        await self._dispatch_all(rid, state, calls)
        if state["opening"]:
            # Written while the calls run; kept in Redis for whichever replica answers.
            task = asyncio.create_task(self._write_opening(rid, request.data.input))
            self._openings.add(task)
            task.add_done_callback(self._openings.discard)

    async def _plan_within(self, text: str, deadline_ms: int) -> Plan:
        """The planner's plan, or TimeoutError when the request's deadline comes first.

        The planner bounds its own model work (a budget per request); this
        bounds the rest, so no input keeps a request unanswered past its deadline.
        """
        remaining_s = max(deadline_ms - _now_ms(), 0) / 1000
        async with asyncio.timeout(remaining_s):
            return await self.planner.plan(text, self.catalogue.live())

    def awaits_replies(self) -> bool:
        """Whether replies to this replica's calls are still to come (its consumers stay fast).

        A request another replica answered is forgotten here at its deadline.
        """
        now = _now_ms()
        for rid in [rid for rid, deadline in self._dispatched.items() if deadline <= now]:
            del self._dispatched[rid]
        return bool(self._dispatched)

    def _calls_model(self, plan: Plan) -> bool:
        """Whether a call of the plan goes to a micromodel that runs a model."""
        tools = (self.catalogue.get(call.micromodel) for call in plan.calls)
        return any(tool is not None and tool.runs_model for tool in tools)

    async def _reply_topic_ready(self, topic: str) -> bool:
        """Whether responses can go to a requester's own topic (created here in development).

        Without the topic the producer would wait out its metadata timeout for
        a topic that will never appear, stalling this consumer.
        """
        if await self.topics.exists(topic):
            return True
        if not self.settings.create_reply_topics:
            return False
        await ensure_topics(self.settings, [topic])
        self.topics.add(topic)
        return True

    async def _resume(self, rid: str) -> None:
        """A redelivered request: its first taker may have died mid-dispatch.

        Calls without a result are published again; the micromodels answer a
        task id once (stored replies) and the gather counts a reply once.
        """
        if await self.store.state(rid) != "open":
            logger.info("request %s was seen before and is answered or answering", rid)
            return
        snapshot = await self.store.snapshot(rid)
        if snapshot is None:
            return
        unanswered = [c for c in snapshot.calls if c["task_id"] not in snapshot.results]
        logger.info(
            "request %s redelivered while open: %d call(s) sent again", rid, len(unanswered)
        )
        await self._dispatch_all(rid, snapshot.request, unanswered)

    async def _write_opening(self, rid: str, text: str) -> None:
        assert self.composer is not None
        try:
            written = await self.composer.opening(text)
            # "none" too: the answering replica stops waiting for it at once.
            await self.store.put_note(rid, "opening", _composition_note(written))
        except Exception:
            logger.exception("request %s: writing the answer's opening failed", rid)

    async def _dispatch_all(
        self, rid: str, state: dict[str, Any], calls: list[dict[str, Any]]
    ) -> None:
        deadline = datetime.fromtimestamp(state["deadline_ms"] / 1000, UTC)
        await asyncio.gather(*(self._dispatch(rid, state, call, deadline) for call in calls))

    def _explicit_plan(self, request: RequestSubmitted) -> Plan | None:
        assert request.data.calls is not None
        live = self.catalogue.names()
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
        gone = self.catalogue.gone_since(name)
        if gone is None:
            return name
        return f"{name} (gone: last heard of at {gone.isoformat(timespec='seconds')})"

    async def _dispatch(
        self, rid: str, state: dict[str, Any], call: dict[str, Any], deadline: datetime
    ) -> None:
        problem = self._argument_problem(call)
        if problem is not None:
            # Never published: the call fails here, recorded like any reply.
            failed = TaskFailed.create(
                data={
                    "task_id": call["task_id"],
                    "micromodel": call["micromodel"],
                    "error": ErrorInfo.about("invalid_arguments", problem),
                    "latency_ms": 0.0,
                    "replica": self.settings.replica,
                },
                source=self.source,
                request_id=rid,
                causation_id=state["event_id"],
            )
            await self._gather(failed, encode(failed))
            return
        task = TaskRequested.create(
            data={
                "task_id": call["task_id"],
                "micromodel": call["micromodel"],
                "arguments": call["arguments"],
                "deadline": deadline,
                "classification": state["classification"],
                "reply_topic": self.settings.replies_topic,
            },
            source=self.source,
            request_id=rid,
            causation_id=state["event_id"],
        )
        topic = self.settings.task_topic(call["micromodel"])
        await publish_event(self.broker, topic, task, key=call["task_id"])

    def _argument_problem(self, call: dict[str, Any]) -> str | None:
        """Why the call's arguments fail its micromodel's input schema, if they do."""
        tool = self.catalogue.get(call["micromodel"])
        return tool.argument_problem(call["arguments"]) if tool is not None else None

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
        await self._fail_once(
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
        await self._fail_once(
            request.requestid,
            ErrorInfo.about(code, plan.reason),
            f"The mesh cannot answer this request: {plan.reason}",
            topic=request.data.reply_topic if to_requester else None,
            causation_id=request.id,
            planner=plan.planner,
            plan=_shown(plan.steps),
            planning=_work(plan.model, plan.work),
            metadata=request.data.metadata,
            elapsed_ms=round(_now_ms() - received_ms, 3),
        )

    async def _fail_once(
        self,
        rid: str,
        error: ErrorInfo,
        answer: str,
        *,
        topic: str | None = None,
        causation_id: str | None = None,
        **data: Any,
    ) -> bool:
        """A failed response for a request with nothing to gather, sent once per request id.

        Claimed under a lease, published, then marked answered: a crash in
        between lets the lease run out and the redelivered record answers.
        A redelivery, or a request id seen before, gets no second response (False).
        """
        # The lease lives in Redis: no local event says it ended, so this polls.
        while (claim := await self.store.claim_answer(rid)) is AnswerClaim.ANSWERING:  # noqa: ASYNC110
            # Another delivery of the same record holds the lease: it answers, or
            # it died and its lease runs out.
            await asyncio.sleep(ANSWER_POLL_S)
        if claim is AnswerClaim.ANSWERED:
            return False
        response = _failed(self.source, rid, error, answer, causation_id, **data)
        await self._respond(topic or self.settings.responses_topic, response)
        if not await self.store.answered(rid):
            logger.warning("request %s: failed response sent after its lease ran out", rid)
        return True

    async def give_up_request(
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
            await self._fail_once(rid, info, answer, topic=topic)
        except Exception as exc:
            # What broke the handler (its state in Redis, say) may break the
            # claim too: a response without it, rather than none.
            logger.warning("request %s: answered without claiming the answer: %s", rid, exc)
            await self._respond(
                topic or self.settings.responses_topic, _failed(self.source, rid, info, answer)
            )

    async def give_up_reply(
        self, record: ConsumerRecord[bytes, bytes], error: Exception, attempts: int
    ) -> None:
        """A reply that could not be gathered: dead-lettered; its request ends at its deadline."""
        await publish_dead_letter(
            self.broker,
            self.settings.deadletter_topic,
            record,
            code="handler_error",
            error=f"gathering failed {attempts} times, last with {type(error).__name__}: {error}",
            service=SERVICE,
            attempts=attempts,
        )

    # --- replies ----------------------------------------------------------------

    async def on_reply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            reply: TaskCompleted | TaskFailed = decode(
                record.value or b"",
                (TaskCompleted, TaskFailed),
                max_bytes=self.settings.max_event_bytes,
            )  # type: ignore[assignment]  # mypy joins the tuple's classes to their base
        except ContractError as exc:
            await publish_dead_letter(
                self.broker,
                self.settings.deadletter_topic,
                record,
                code=exc.code,
                error=exc.message,
                service=SERVICE,
            )
        else:
            await self._gather(reply, record.value or b"")

    async def _gather(self, reply: TaskCompleted | TaskFailed, raw: bytes) -> None:
        rid = reply.requestid
        # The validated bytes are stored as they came: no re-serialization.
        stored = {"event": orjson.Fragment(raw), "received_ms": _now_ms()}
        outcome, snapshot = await self.store.record_reply(rid, reply.data.task_id, stored)
        if snapshot is not None:
            await self._answer(rid, snapshot)
        elif outcome is ReplyOutcome.STATE_LOST:
            await self._answer_lost(rid, reply)
        elif outcome is not ReplyOutcome.WAITING:
            # Duplicates and late replies are expected under at-least-once delivery;
            # the replies topic keeps them on record.
            logger.debug("reply %s of %s ignored: %s", reply.data.task_id, rid, outcome.name)

    async def _answer_lost(self, rid: str, reply: TaskCompleted | TaskFailed) -> None:
        """A reply for a request Redis no longer knows: fail it once, never leave it hanging.

        Its reply topic and metadata went with the state: the answer goes to the
        mesh's responses topic.
        """
        message = (
            "the mesh lost this request's gather state (Redis restarted without it) while "
            f"its calls were running (last reply: {reply.data.task_id}); send it again"
        )
        failed = await self._fail_once(
            rid,
            ErrorInfo.about("state_lost", message, retryable=True),
            f"The request could not be finished: {message}",
            planner="unknown",
        )
        if failed:
            logger.error("request %s: %s", rid, message)

    # --- answers ----------------------------------------------------------------

    async def sweep_forever(self) -> None:
        """Answer requests whose deadline passed, whichever replica started them.

        It sleeps until the next deadline or lease is due (at least the sweep
        interval, at most a second, for what other replicas open meanwhile),
        and wakes when this replica opens a request: an idle mesh is not polled.
        """
        interval = self.settings.sweep_interval_ms / 1000
        while True:
            pause = interval
            # Also forgets requests past their deadline that another replica answered.
            self.awaits_replies()
            try:
                claims = await self.store.claim_expired()
                # Side by side: each holds a lease, and a takeover may look back
                # on a topic for seconds; one after another, later leases would
                # run out and other replicas would answer those requests too.
                await asyncio.gather(*(self._finish(claim) for claim in claims))
                due_ms = await self.store.next_due_ms()
                until_due = IDLE_SWEEP_S if due_ms is None else (due_ms - _now_ms()) / 1000
                pause = min(max(until_due, interval), IDLE_SWEEP_S)
            except Exception:
                logger.exception("deadline sweep failed; retrying")
            self._sweep_now.clear()
            self._next_sweep_ms = _now_ms() + pause * 1000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sweep_now.wait(), pause)

    async def _finish(self, claim: Claim) -> None:
        rid = claim.request_id
        snapshot = await self.store.snapshot(rid)
        if snapshot is None:
            logger.error("request %s has no gather state left; it cannot be answered", rid)
            return
        since_ms = claim.taken_over_since_ms
        if since_ms is not None and await self._answered_before(rid, snapshot, since_ms):
            return
        await self._answer(rid, snapshot, expired=True)

    async def _answered_before(self, rid: str, snapshot: GatherSnapshot, since_ms: int) -> bool:
        """Whether the replica we took `rid` over from published its answer before dying."""
        published = await published_since(
            self.settings,
            snapshot.request["reply_topic"],
            rid.encode(),
            since_ms - LOOKBACK_SLACK_MS,
        )
        if published:
            logger.info("request %s was answered by a replica that died before saying so", rid)
            await self.store.mark_done(rid)
            return True
        if published is None:
            # Cannot tell: a second answer is better than none (at-least-once).
            logger.warning("request %s: answering again, as its first answer is not known", rid)
        return False

    async def _answer(self, rid: str, snapshot: GatherSnapshot, *, expired: bool = False) -> None:
        """Answer a request whose round is complete (or expired), or start its next round."""
        calls = outcomes(snapshot)
        state = snapshot.request
        if state.get("deferred") and not expired:
            next_state = await self._next_round(rid, snapshot, calls)
            if next_state is None:
                return  # the next round is under way; its completer answers
            state = next_state
        calls += _not_run(rid, state)
        waits = self.composer is not None and state.get("opening", False)
        note = await self._opening(rid) if waits else None
        composition = compose_answer(calls, _composition(note))
        response = RequestCompleted.create(
            data={
                "status": response_status(calls),
                "answer": composition.answer,
                "calls": calls,
                "planner": state["planner"],
                "plan": state.get("plan", []),
                "steps": state.get("round", 1),
                "planning": state.get("planning"),
                "composer": composition.composer,
                "composing": composition.work,
                "metadata": state["metadata"],
                "elapsed_ms": round(_now_ms() - state["received_ms"], 3),
                "error": _deadline_error(calls),
            },
            source=self.source,
            request_id=rid,
            causation_id=state["event_id"],
        )
        await self._respond(state["reply_topic"], response)
        self._dispatched.pop(rid, None)
        if not await self.store.mark_done(rid):
            # Our lease ran out before we answered: another replica may answer too.
            logger.warning("request %s: answered after losing its lease", rid)

    async def _opening(self, rid: str) -> dict[str, Any] | None:
        """The opening written for the request (by any replica), if it is ready.

        Waited for at most composer_wait_ms; then the fixed opening is used.
        """
        waited_until = time.monotonic() + self.settings.composer_wait_ms / 1000
        while (note := await self.store.note(rid, "opening")) is None:
            if time.monotonic() >= waited_until:
                logger.info("request %s: no opening in time; the fixed one is used", rid)
                return None
            await asyncio.sleep(OPENING_POLL_S)
        return note

    async def _next_round(
        self, rid: str, snapshot: GatherSnapshot, calls: list[CallOutcome]
    ) -> dict[str, Any] | None:
        """Plan and dispatch the deferred clauses; None when a round is under way.

        Otherwise the state to answer from, with why nothing more was called.
        """
        state = dict(snapshot.request)
        deferred = [Deferred(**d) for d in state["deferred"]]
        state["deferred"] = []
        if state["round"] >= self.settings.max_rounds:
            state["plan"] = [
                *state["plan"],
                f"{len(deferred)} deferred clause(s) not run: the limit of "
                f"{self.settings.max_rounds} round(s) is reached",
            ]
            state["unresolved"] = [
                {**vars(d), "reason": "the limit of rounds is reached"} for d in deferred
            ]
            return state
        plan = await self.planner.follow_up(deferred, calls, self.catalogue.live())
        state["plan"] = _shown(
            [*state["plan"], *(f"round {state['round'] + 1}: {s}" for s in plan.steps)]
        )
        state["unresolved"] = [
            {**vars(d), "reason": "no argument for it in the request or the results"}
            for d in plan.deferred
        ]
        state["planning"] = _add_work(state.get("planning"), _work(plan.model, plan.work))
        if not plan.calls:
            return state
        if len(snapshot.calls) + len(plan.calls) > self.settings.max_calls:
            state["unresolved"] = [
                {
                    **vars(d),
                    "reason": f"over the cap of {self.settings.max_calls} calls per request",
                }
                for d in deferred
            ]
            return state
        if _now_ms() >= state["deadline_ms"]:
            state["unresolved"] = [{**vars(d), "reason": "deadline"} for d in deferred]
            return state
        state["round"] += 1
        new_calls = _calls(rid, plan.calls, first=len(snapshot.calls) + 1)
        extended = await self.store.extend(
            rid,
            request=state,
            calls=[*snapshot.calls, *new_calls],
            new_calls=new_calls,
            deadline_ms=state["deadline_ms"],
        )
        if not extended:
            logger.error("request %s could not open round %d", rid, state["round"])
            return None
        await self._dispatch_all(rid, state, new_calls)
        return None

    async def _respond(self, topic: str, response: RequestCompleted) -> None:
        """Publish a response; a requester's own topic was made ready when the request came."""
        if not await self._reply_topic_ready(topic):
            # Gone since: the answer goes where every requester can find it.
            logger.error(
                "reply topic %s is gone; request %s answered on %s",
                topic,
                response.requestid,
                self.settings.responses_topic,
            )
            topic = self.settings.responses_topic
        try:
            await publish_event(self.broker, topic, response, key=response.requestid)
        except MessageSizeTooLargeError as exc:
            # Retrying would fail the same way: the request fails, saying why.
            await publish_event(
                self.broker, topic, _too_large(response, exc), key=response.requestid
            )


def _failed(
    source: str,
    rid: str,
    error: ErrorInfo,
    answer: str,
    causation_id: str | None = None,
    **data: Any,
) -> RequestCompleted:
    return RequestCompleted.create(
        data={
            "status": "failed",
            "answer": answer,
            "error": error,
            "planner": "none",
            "elapsed_ms": 0.0,
            **data,
        },
        source=source,
        request_id=rid,
        causation_id=causation_id,
    )


def _too_large(response: RequestCompleted, exc: MessageSizeTooLargeError) -> RequestCompleted:
    data = response.data
    message = (
        f"the answer of {len(data.calls)} call(s) is larger than a response may be "
        f"({exc}); ask for less at once"
    )
    logger.error("request %s: %s", response.requestid, message)
    return _failed(
        response.source,
        response.requestid,
        ErrorInfo.about("payload_too_large", message),
        f"The answer could not be sent: {message}",
        response.causationid,
        planner=data.planner,
        plan=data.plan,
        steps=data.steps,
        metadata=data.metadata,
        elapsed_ms=data.elapsed_ms,
    )


def _shown(steps: list[str]) -> list[str]:
    if len(steps) <= MAX_PLAN_STEPS:
        return steps
    return [*steps[: MAX_PLAN_STEPS - 1], f"... and {len(steps) - MAX_PLAN_STEPS + 1} more steps"]


def outcomes(snapshot: GatherSnapshot) -> list[CallOutcome]:
    result = []
    for call in snapshot.calls:
        base: dict[str, Any] = {
            "task_id": call["task_id"],
            "micromodel": call["micromodel"],
            "arguments": call["arguments"],
        }
        stored = snapshot.results.get(call["task_id"])
        if stored is None:
            result.append(CallOutcome(status="missing", **base))
            continue
        event, data = stored["event"], stored["event"]["data"]
        elapsed = round(stored["received_ms"] - call["dispatched_ms"], 3)
        if event["type"] == TaskCompleted.type_name():
            result.append(
                CallOutcome(
                    status="ok",
                    output=data["output"],
                    summary=data.get("summary"),
                    model=data["model"],
                    tokens=data.get("tokens"),
                    latency_ms=data["latency_ms"],
                    elapsed_ms=elapsed,
                    **base,
                )
            )
        else:
            result.append(
                CallOutcome(
                    status="failed",
                    error=data["error"],
                    latency_ms=data["latency_ms"],
                    elapsed_ms=elapsed,
                    **base,
                )
            )
    return result


def _calls(rid: str, planned: list[PlannedCall], *, first: int) -> list[dict[str, Any]]:
    return [
        {
            "task_id": f"{rid}:{i}",
            "micromodel": call.micromodel,
            "arguments": call.arguments,
            "dispatched_ms": _now_ms(),
        }
        for i, call in enumerate(planned, start=first)
    ]


def _work(model: str | None, usage: Usage | None) -> dict[str, Any] | None:
    if model is None or usage is None:
        return None
    return model_work(model, usage).model_dump()


def _add_work(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    if a is None or b is None:
        return a or b
    return {
        "model": a["model"],
        "tokens": {k: a["tokens"][k] + b["tokens"][k] for k in ("prompt", "completion")},
        "latency_ms": round(a["latency_ms"] + b["latency_ms"], 3),
    }


def _composition_note(written: Composition | None) -> dict[str, Any]:
    if written is None:
        return {"none": True}
    work = written.work.model_dump() if written.work is not None else None
    return {"answer": written.answer, "composer": written.composer, "work": work}


def _composition(note: dict[str, Any] | None) -> Composition | None:
    if note is None or note.get("none"):
        return None
    work = ModelWork.model_validate(note["work"]) if note["work"] is not None else None
    return Composition(note["answer"], note["composer"], work)


def _not_run(rid: str, state: dict[str, Any]) -> list[CallOutcome]:
    """Deferred calls that never ran: missing at the deadline, failed when nothing fed them."""
    never = [("deferred", d, None) for d in state.get("deferred", [])] + [
        ("unresolved", d, f"{d['clause']!r}: {d['reason']}") for d in state.get("unresolved", [])
    ]
    return [
        CallOutcome(
            task_id=f"{rid}:{kind}-{i}",
            micromodel=d["micromodel"],
            arguments={},
            status="missing" if why is None else "failed",
            error=None if why is None else ErrorInfo.about("invalid_arguments", why),
        )
        for i, (kind, d, why) in enumerate(never, start=1)
    ]


def _deadline_error(calls: list[CallOutcome]) -> ErrorInfo | None:
    missing = [c.task_id for c in calls if c.status == "missing"]
    if not missing:
        return None
    return ErrorInfo.about(
        "deadline_exceeded",
        f"no reply before the deadline for {len(missing)} call(s): {', '.join(missing)}",
        retryable=True,
    )


def _request_of(
    record: ConsumerRecord[bytes, bytes], max_bytes: int
) -> tuple[str | None, str | None]:
    """The request id and reply topic of a request record, as far as they can be read."""
    try:
        request = decode(record.value or b"", (RequestSubmitted,), max_bytes=max_bytes)
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


def create_app(
    settings: OrchestratorSettings | None = None,
    planner: Planner | None = None,
    composer: Composer | None = None,
) -> FastStream:
    """The orchestrator as a FastStream app; defaults: rules planner, template composer."""
    settings = settings or OrchestratorSettings()
    broker = create_broker(settings, client_id="slmesh-orchestrator")
    store = GatherStore.from_url(
        settings.redis_url.get_secret_value(),
        ttl_s=settings.gather_ttl_s,
        lease_ms=settings.completing_lease_ms,
    )
    catalogue = Catalogue(settings, static=settings.micromodels)
    orchestrator = Orchestrator(
        settings, broker, store, planner or RulesPlanner(), catalogue, composer
    )
    # One pace for both: a request makes the replies consumer fast before its
    # replies come, and keeps it fast while they are due (a model's call takes seconds).
    pace = fetch_pace(settings, hold=orchestrator.awaits_replies)
    requests = ConcurrentConsumption(
        "requests",
        orchestrator.on_request,
        give_up=orchestrator.give_up_request,
        pace=pace,
        retries=settings.record_retries,
    )
    replies = ConcurrentConsumption(
        "replies",
        orchestrator.on_reply,
        give_up=orchestrator.give_up_reply,
        pace=pace,
        retries=settings.record_retries,
    )
    subscribe(
        broker,
        settings,
        settings.requests_topic,
        group_id=ORCHESTRATOR_REQUESTS_GROUP,
        consumption=requests,
        title="requests",
    )
    subscribe(
        broker,
        settings,
        settings.replies_topic,
        group_id=ORCHESTRATOR_REPLIES_GROUP,
        consumption=replies,
        title="replies",
    )
    sweeper: list[asyncio.Task[None]] = []
    watch = DependencyWatch(settings, redis=True)

    async def prepare() -> None:
        await wait_for_dependencies(settings, redis=True)
        topics = mesh_topics(settings, settings.micromodels)
        await ensure_topics(settings, topics)
        orchestrator.topics.add(*topics)
        await ensure_registry_topic(settings)
        # Know the micromodels before the first request is planned.
        await catalogue.start()

    async def started() -> None:
        sweeper.append(asyncio.create_task(orchestrator.sweep_forever(), name="deadline-sweeper"))
        await watch.start()
        lifecycle.info(
            "%s: orchestrator %s consuming %s and %s; micromodels: %s",
            READY_MARKER,
            settings.replica,
            settings.requests_topic,
            settings.replies_topic,
            ", ".join(catalogue.names()) or "none yet",
        )

    async def stopping() -> None:
        await watch.stop()
        for task in sweeper:
            task.cancel()
        await requests.drain()
        await replies.drain()
        await catalogue.stop()
        await store.close()

    return FastStream(
        broker,
        logger=faststream_logger,
        on_startup=[prepare],
        after_startup=[started],
        on_shutdown=[stopping],
    )


def build_planner(settings: OrchestratorSettings) -> tuple[Planner, Composer | None]:
    """The planner and composer the settings ask for, sharing one model and its thread.

    A model that does not load stops the service.
    """
    if settings.planner == "rules":
        return RulesPlanner(), None
    try:
        model = LocalModel.load(settings.model)
    except ModelLoadError as exc:
        logger.error("orchestrator cannot start its planner: %s", exc)
        sys.exit(MODEL_LOAD_FAILED)
    worker = Worker("model")
    composer = (
        ModelComposer(model, worker, queue=settings.composer_queue)
        if settings.composer == "model"
        else None
    )
    return SlmPlanner(model, worker, budget_ms=settings.planning_budget_ms), composer


def main() -> None:
    settings = OrchestratorSettings()
    configure_logging(settings.log_level)
    run(create_app(settings, *build_planner(settings)))

"""Gathering replies: each counted once; the request answered when its round is complete.

A round whose plan deferred clauses (their arguments come from this round's
results) opens the next round instead, in the same gather state, until the
limit of rounds or calls; the completer of the last round answers.

A reply is believed only from the micromodel its call went to: it must be
proven by a micromodel's identity (slmesh.runtime.trust), name a micromodel
that identity serves, name the one its call went to (checked where the reply
is recorded, gather.scripts), and a TaskCompleted's output must fit the
output schema that micromodel announced. A reply that fails is dead-lettered
with the reason and counts for nothing: its call goes on waiting for the real
reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker

from slmesh.orchestrator.callers import own_request_id, unscope
from slmesh.orchestrator.clock import now_ms
from slmesh.orchestrator.composition import compose_answer
from slmesh.orchestrator.dispatch import Dispatch, PickVersion, Route, new_calls
from slmesh.orchestrator.gather.state import GatherCall, GatherSnapshot, GatherState, Unresolved
from slmesh.orchestrator.gather.store import LOST_NOTE, GatherStorage, ReplyOutcome
from slmesh.orchestrator.gather.writes import STATE_LOST_RETRIES_S
from slmesh.orchestrator.opening_sentence import OpeningSentences
from slmesh.orchestrator.outcomes import add_work, answered, not_run, outcomes, planning_work, shown
from slmesh.orchestrator.pipelines import Settled
from slmesh.orchestrator.pipelines.gathered import (
    finish,
    never_called,
    next_round,
    planned,
    progressed,
)
from slmesh.orchestrator.planning.plan import (
    Deferred,
    PlannedCall,
    Planner,
    ToolView,
    call_key,
    for_planning,
)
from slmesh.orchestrator.responder import Responder
from slmesh.orchestrator.settings import SERVICE, OrchestratorSettings
from slmesh.runtime.kafka.publishing import publish_dead_letter
from slmesh.runtime.service.logcontext import about
from slmesh.runtime.tracing import step
from slmesh.runtime.trust import MeshParty, Proven, Unproven
from slmesh.schemas import (
    CallOutcome,
    ContractError,
    ErrorCode,
    ErrorInfo,
    TaskCompleted,
    TaskFailed,
    decode_record,
    encode,
    is_binary,
)

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Completion:
    settings: OrchestratorSettings
    broker: KafkaBroker
    store: GatherStorage
    planner: Planner
    # The live micromodels a caller may call, as the planner sees them (app.tool_views).
    tools: Callable[[str], Mapping[str, ToolView]]
    dispatch: Dispatch
    # Where each call of a later round goes (Dispatcher.route).
    route: Route
    # Which version of its micromodel each call goes to (Dispatcher.version_of).
    version: PickVersion
    responder: Responder
    opening_sentences: OpeningSentences
    # An answered request's replies are no longer awaited here (dispatch.Outstanding.discard).
    stop_expecting: Callable[[str], None]
    # Returns once no write of the request's gather state is under way here: a reply may
    # outrun it (gather.writes.StateWritesInFlight.settled).
    write_settled: Callable[[str], Awaitable[None]]
    # This orchestrator in the trust file: it checks who proved a reply.
    party: MeshParty
    # Why an output fails the output schema its micromodel announced, if it does
    # (the registry's catalogue, Catalogue.output_problem).
    output_problem: Callable[[str, Any], str | None]
    # Wakes the sweeper: a request's deadline was brought forward (app.assemble).
    expired: Callable[[], None] = lambda: None

    def _decode(self, record: ConsumerRecord[bytes, bytes]) -> TaskCompleted | TaskFailed:
        reply: TaskCompleted | TaskFailed = decode_record(
            record.value,
            record.headers,
            (TaskCompleted, TaskFailed),
            max_bytes=self.settings.max_event_bytes,
        )  # type: ignore[assignment]  # mypy joins the tuple's classes to their base
        return reply

    def _writer(self, record: ConsumerRecord[bytes, bytes]) -> Proven:
        """The micromodel identity that proved a reply record; raises Unproven."""
        return self.party.check(
            self.settings.replies_topic,
            record.key,
            record.value,
            record.headers,
            roles=("micromodel",),
        )

    def _misattributed(
        self, reply: TaskCompleted | TaskFailed, writer: Proven
    ) -> tuple[ErrorCode, str] | None:
        """Why a proven reply is not believed (code, reason): a micromodel its writer does
        not serve, or an output its micromodel's schema refuses. None when it is believed."""
        micromodel = reply.data.micromodel
        if micromodel not in writer.identity.serves:
            serves = ", ".join(writer.identity.serves) or "none"
            return "wrong_micromodel", (
                f"the reply names micromodel {micromodel!r}, which its writer {writer.name!r} "
                f"does not serve (it serves: {serves})"
            )
        if isinstance(reply, TaskCompleted):
            problem = self.output_problem(micromodel, reply.data.output)
            if problem is not None:
                return "output_schema_violation", (
                    f"the output of {micromodel!r} for task {reply.data.task_id} fails the "
                    f"output schema it announced: {problem}"
                )
        return None

    async def _dead_letter(
        self,
        record: ConsumerRecord[bytes, bytes],
        code: ErrorCode,
        error: str,
        attempts: int = 1,
    ) -> None:
        await publish_dead_letter(
            self.broker,
            self.settings.deadletter_topic,
            record,
            code=code,
            error=error,
            service=SERVICE,
            attempts=attempts,
        )

    async def on_reply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Gather a reply record once its writer, its micromodel and its output are believed.

        Its size is checked first (cheap), then its proof (an HMAC), then its
        contents; a refused reply is dead-lettered and its call keeps waiting.
        """
        size = len(record.value or b"")
        if size > self.settings.max_event_bytes:
            limit = self.settings.max_event_bytes
            message = f"event is {size} bytes; the limit is {limit} bytes"
            await self._dead_letter(record, "payload_too_large", message)
            return
        try:
            writer = self._writer(record)
        except Unproven as exc:
            await self._dead_letter(record, "unauthenticated_reply", exc.reason)
            return
        try:
            reply = self._decode(record)
        except ContractError as exc:
            await self._dead_letter(record, exc.code, exc.message)
            return
        refusal = self._misattributed(reply, writer)
        if refusal is not None:
            await self._dead_letter(record, *refusal)
            return
        # Kept as published, but a binary-mode reply's value is only its data:
        # that one is kept as the structured event it is.
        raw = encode(reply) if is_binary(record.headers) else record.value or b""
        if await self._gather(reply, raw) is ReplyOutcome.WRONG_MICROMODEL:
            await self._dead_letter(
                record,
                "wrong_micromodel",
                f"the reply names micromodel {reply.data.micromodel!r}, but call "
                f"{reply.data.task_id} of request {reply.requestid} went to another",
            )

    async def give_up(
        self, record: ConsumerRecord[bytes, bytes], error: Exception, attempts: int
    ) -> None:
        """A reply that could not be gathered: dead-lettered, and its request answered now.

        Its deadline is brought forward, so the sweeper answers it at once (with
        the results that came, this call missing, error `handler_error`), under
        the sweeper's lease: once, whichever replica. When Redis cannot be
        reached either, the request is answered at its deadline.
        """
        message = f"gathering failed {attempts} times, last with {type(error).__name__}: {error}"
        await self._dead_letter(record, "handler_error", message, attempts)
        rid = self._request_id_of(record)
        if rid is None:
            return
        # Its call is missing now: the sweeper answers the request at once with what
        # came, and says why the call is missing.
        note = {"cause": f"a reply could not be gathered ({message})", "code": "handler_error"}
        try:
            if await self.store.expire(rid, note):
                self.expired()
        except Exception as exc:
            # Not raised: giving up is tried again until it succeeds, and each
            # try would dead-letter the reply again.
            logger.warning("request %s: left to be answered at its deadline: %s", rid, exc)

    def _request_id_of(self, record: ConsumerRecord[bytes, bytes]) -> str | None:
        """The request id of a reply record, as far as it can be read, when the record is
        believed: the ids of a record nobody proved never bring a request's answer forward."""
        try:
            writer = self._writer(record)
            reply = self._decode(record)
        except Unproven:
            return None
        except ContractError as exc:
            return exc.request_id
        return reply.requestid if self._misattributed(reply, writer) is None else None

    async def gather(self, reply: TaskCompleted | TaskFailed, raw: bytes) -> None:
        """Count a reply once; whoever counts the last one answers (or opens the next round).

        A reply of the orchestrator's own (a call refused at dispatch) comes here
        directly; a reply record comes through `on_reply`'s checks first.
        """
        await self._gather(reply, raw)

    async def _gather(self, reply: TaskCompleted | TaskFailed, raw: bytes) -> ReplyOutcome:
        """`gather`, saying what recording the reply did."""
        rid = reply.requestid
        about(request_id=rid, task_id=reply.data.task_id, micromodel=reply.data.micromodel)
        # A reply may outrun the write of its request's state (gather.writes).
        await self.write_settled(rid)
        received_ms = now_ms()

        async def record() -> tuple[ReplyOutcome, GatherSnapshot | None]:
            # The validated bytes are stored as they came: no re-serialization.
            return await self.store.record_reply(
                rid,
                reply.data.task_id,
                micromodel=reply.data.micromodel,
                event=raw,
                received_ms=received_ms,
            )

        outcome, snapshot = await record()
        for delay_s in STATE_LOST_RETRIES_S:
            if outcome is not ReplyOutcome.STATE_LOST:
                break
            # Written by another replica a moment too late, or lost by Redis.
            await asyncio.sleep(delay_s)
            outcome, snapshot = await record()
        if snapshot is not None:
            await self.answer(rid, snapshot)
        elif outcome is ReplyOutcome.STATE_LOST:
            await self._answer_lost(rid, reply)
        elif outcome not in (ReplyOutcome.WAITING, ReplyOutcome.WRONG_MICROMODEL):
            # Duplicates and late replies are expected under at-least-once delivery;
            # the replies topic keeps them on record.
            logger.debug("reply %s of %s ignored: %s", reply.data.task_id, rid, outcome.name)
        return outcome

    async def _answer_lost(self, rid: str, reply: TaskCompleted | TaskFailed) -> None:
        """A reply for a request Redis no longer knows: fail it once, never leave it hanging.

        Its metadata went with the state; its caller is in its scoped id, so the
        answer still goes to the caller's own topic.
        """
        message = (
            "the mesh lost this request's gather state (Redis restarted without it) while "
            f"its calls were running (last reply: {reply.data.task_id}); send it again"
        )
        failed = await self.responder.fail_once(
            rid,
            ErrorInfo.about("state_lost", message, retryable=True),
            f"The request could not be finished: {message}",
            planner="unknown",
        )
        if failed:
            logger.error("request %s: %s", rid, message)

    async def answer(self, rid: str, snapshot: GatherSnapshot, *, expired: bool = False) -> None:
        """Answer a request whose round is complete (or expired), or start its next round."""
        calls = outcomes(snapshot)
        state = snapshot.request
        if (state.deferred or state.pipeline is not None) and not expired:
            if state.pipeline is not None:
                next_state = await self._next_step_round(rid, snapshot, calls)
            else:
                next_state = await self._next_round(rid, snapshot, calls)
            if next_state is None:
                return  # the next round is under way; its completer answers
            state = next_state
        calls += not_run(rid, state)
        finished = None
        if state.pipeline is not None:
            calls += never_called(rid, state.pipeline)
            finished = finish(state.pipeline, calls)
            if finished.problems:
                state = state.model_copy(update={"plan": shown([*state.plan, *finished.problems])})
        with step("compose") as span:
            waits = self.opening_sentences.written and state.opening
            opening = await self.opening_sentences.wait(rid) if waits else None
            composition = compose_answer(calls, opening)
            if finished is not None and finished.answer is not None:
                # The pipeline's own template shapes its answer.
                composition = replace(composition, answer=finished.answer)
            if span.is_recording():
                span.set_attributes(
                    {"slmesh.composer": composition.composer, "slmesh.calls": len(calls)}
                )
        # Why calls are missing matters only when some are (and only past a deadline).
        missing = expired and any(call.status == "missing" for call in calls)
        lost = await self.store.note(rid, LOST_NOTE) if missing else None
        # Lost by the broker, unless the note says a reply could not be gathered.
        lost_code: ErrorCode = (
            "handler_error"
            if lost is not None and lost.get("code") == "handler_error"
            else "state_lost"
        )
        response = answered(
            self.responder.source,
            own_request_id(rid),
            state,
            calls,
            composition,
            elapsed_ms=round(now_ms() - state.received_ms, 3),
            lost=None if lost is None else str(lost.get("cause", "the broker lost them")),
            lost_code=lost_code,
            prices=self.settings.model_prices(
                state.planning.model if state.planning is not None else None
            ),
            output=finished.output if finished is not None else None,
        )
        await self.responder.respond(rid, response)
        self.stop_expecting(rid)
        if not await self.store.mark_done(rid):
            # Our lease ran out before we answered: another replica may answer too.
            logger.warning("request %s: answered after losing its lease", rid)

    async def _next_round(
        self, rid: str, snapshot: GatherSnapshot, calls: list[CallOutcome]
    ) -> GatherState | None:
        """Plan and dispatch the deferred clauses; None when a round is under way.

        Otherwise the state to answer from, with why nothing more was called.
        """
        state = snapshot.request
        deferred = [Deferred(d.clause, d.micromodel) for d in state.deferred]
        if state.round >= self.settings.max_rounds:
            return state.model_copy(
                update={
                    "deferred": [],
                    "plan": [
                        *state.plan,
                        f"{len(deferred)} deferred clause(s) not run: the limit of "
                        f"{self.settings.max_rounds} round(s) is reached",
                    ],
                    "unresolved": _unresolved(deferred, "the limit of rounds is reached"),
                }
            )
        scoped = unscope(rid)
        # Later rounds plan over what the caller may call, as the first did.
        tools = for_planning(self.tools(scoped.caller)) if scoped is not None else {}
        with step(f"plan round {state.round + 1}"):
            plan = await self.planner.follow_up(deferred, calls, tools)
        state = state.model_copy(
            update={
                "deferred": [],
                "plan": shown(
                    [*state.plan, *(f"round {state.round + 1}: {s}" for s in plan.steps)]
                ),
                "unresolved": _unresolved(
                    plan.deferred, "no argument for it in the request or the results"
                ),
                "planning": add_work(state.planning, planning_work(plan)),
            }
        )
        # The same call (micromodel and arguments) is made once per request, whichever round
        # asks for it: a round that repeats one of an earlier round's calls adds none.
        made = {call_key(c.micromodel, c.arguments) for c in snapshot.calls}
        fresh = [c for c in plan.calls if call_key(c.micromodel, c.arguments) not in made]
        if len(fresh) < len(plan.calls):
            repeated = len(plan.calls) - len(fresh)
            state = state.model_copy(
                update={
                    "plan": shown(
                        [*state.plan, f"round {state.round + 1}: {repeated} call(s) already made"]
                    )
                }
            )
            plan = replace(plan, calls=fresh)
        if not plan.calls:
            return state
        refused = self._refused(snapshot, state, len(plan.calls))
        if refused is not None:
            return state.model_copy(update={"unresolved": _unresolved(deferred, refused)})
        added = self._calls_of_round(rid, snapshot, state, plan.calls, named=False)
        await self._open_round(
            rid, snapshot, state.model_copy(update={"round": state.round + 1}), added
        )
        return None

    async def _next_step_round(
        self, rid: str, snapshot: GatherSnapshot, calls: list[CallOutcome]
    ) -> GatherState | None:
        """The pipeline's next steps, dispatched; None when a round is under way.

        Otherwise the state to answer from: every step settled, or why no more can run.
        """
        state = snapshot.request
        run = state.pipeline
        assert run is not None
        progress = next_round(run, calls)
        lines = [f"round {state.round + 1}: {line}" for line in progress.lines]
        state = state.model_copy(update={"plan": shown([*state.plan, *lines])})
        refused = self._refused(snapshot, state, len(progress.calls)) if progress.calls else None
        if progress.calls and refused is None:
            added = self._calls_of_round(rid, snapshot, state, planned(progress.calls), named=True)
            run = progressed(run, progress, added)
            state = state.model_copy(update={"pipeline": run, "round": state.round + 1})
            await self._open_round(rid, snapshot, state, added)
            return None
        if refused is not None:
            # The steps that would have gone are said not to have run, and why.
            cut = {c.step: Settled("not_run", refused) for c in progress.calls}
            progress = replace(progress, calls=[], settled={**progress.settled, **cut})
        return state.model_copy(update={"pipeline": progressed(run, progress, [])})

    def _refused(self, snapshot: GatherSnapshot, state: GatherState, more: int) -> str | None:
        """Why a next round of `more` calls may not open, if it may not."""
        if len(snapshot.calls) + more > self.settings.max_calls:
            return f"over the cap of {self.settings.max_calls} calls per request"
        if now_ms() >= state.deadline_ms:
            return "deadline"
        return None

    def _calls_of_round(
        self,
        rid: str,
        snapshot: GatherSnapshot,
        state: GatherState,
        planned_calls: list[PlannedCall],
        *,
        named: bool,
    ) -> list[GatherCall]:
        return new_calls(
            rid,
            planned_calls,
            first=len(snapshot.calls) + 1,
            classification=state.classification,
            named=named,
            route=self.route,
            version=self.version,
            pins=state.versions,
        )

    async def _open_round(
        self, rid: str, snapshot: GatherSnapshot, state: GatherState, added: list[GatherCall]
    ) -> None:
        """The next round's calls stored with the state, then dispatched."""
        extended = await self.store.extend(
            rid,
            request=state,
            calls=[*snapshot.calls, *added],
            new_calls=added,
            deadline_ms=state.deadline_ms,
        )
        if not extended:
            logger.error("request %s could not open round %d", rid, state.round)
            return
        await self.dispatch(rid, state, added, refused=self.gather)


def _unresolved(clauses: list[Deferred], reason: str) -> list[Unresolved]:
    return [Unresolved(clause=d.clause, micromodel=d.micromodel, reason=reason) for d in clauses]

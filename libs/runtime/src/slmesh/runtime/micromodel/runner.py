"""Running a micromodel's tasks: one task record in, exactly one reply or one dead letter out.

Only the orchestrator's tasks are believed: a task record must carry the
orchestrator's proof, made for this micromodel's identity on its task topic
(slmesh.runtime.trust). One that does not is dead-lettered
(`unauthenticated_task`) and gets no reply: nothing it says, its ids
included, is believed. Replies go to the mesh's replies topic alone: a task
naming another is dead-lettered (`unknown_reply_topic`), so no record can
send a micromodel's output elsewhere, or make it wait on a topic that does
not exist.

A candidate under shadow evaluation (SLMESH_SHADOW_TOPIC) is the one
exception, apart from the live flow: it believes the operator's tasks on its
shadow topic alone (`slmesh shadow` rewrites recorded tasks and proves them),
and replies on the shadow replies topic alone.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker
from pydantic import ValidationError

from slmesh.runtime.backoff import backoff
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.failures import task_failed
from slmesh.runtime.kafka.publishing import publish_bytes, publish_dead_letter, publish_event
from slmesh.runtime.kafka.topics import SHADOW_REPLIES
from slmesh.runtime.llm import ContextOverflowError, ModelSession, Usage
from slmesh.runtime.llm.errors import LocalModelRequired, RemoteModelError
from slmesh.runtime.micromodel.declare import In, Micromodel, Out
from slmesh.runtime.micromodel.replies import StoredReplies
from slmesh.runtime.micromodel.settings import side_by_side
from slmesh.runtime.service.logcontext import about
from slmesh.runtime.service.metrics import task_done, tokens_spent
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.tracing import failed as span_failed
from slmesh.runtime.trust import Role, Unproven
from slmesh.schemas import (
    ContractError,
    ErrorCode,
    TaskCompleted,
    TaskFailed,
    TaskRequested,
    TokenUsage,
    decode_record,
    describe_errors,
    encode,
    event_fields,
    is_valid_id,
    is_valid_task_id,
    is_valid_topic,
)

if TYPE_CHECKING:
    from slmesh.runtime.llm.kind import Model
    from slmesh.runtime.trust import MeshParty

logger = logging.getLogger(__name__)


class TaskRejected(Exception):
    def __init__(
        self, code: ErrorCode, message: str, *, retryable: bool = False, retry_later: bool = False
    ) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        # Worth another attempt: the handler raised; a validation error never is.
        self.retryable = retryable
        # Worth the caller's sending it again later (the reply says so): a remote endpoint
        # that was down, slow or rate limiting after the retries it was worth here.
        self.retry_later = retry_later


MAX_BACKOFF_S = 5.0
# A remote endpoint's failures that may pass (its model's own retries spent).
REMOTE_PASSING: frozenset[str] = frozenset(
    {"remote_unavailable", "remote_timeout", "remote_rate_limited"}
)
# Failures that say nothing is wrong with the record itself: no dead letter. An endpoint's
# outage would otherwise put every task of its minutes there; the caller is told to retry.
NOT_DEAD_LETTERED: frozenset[str] = frozenset({"deadline_exceeded", *REMOTE_PASSING})
# Failures a redelivery should run again rather than answer from the kept reply.
NOT_KEPT: frozenset[str] = frozenset({"handler_error", *REMOTE_PASSING})


class TaskRunner(Generic[In, Out]):
    """Turns one task record into exactly one reply or one dead letter."""

    def __init__(
        self,
        micromodel: Micromodel[In, Out],
        settings: MeshSettings,
        broker: KafkaBroker,
        party: MeshParty,
        model: Model | None = None,
        replies: StoredReplies | None = None,
    ) -> None:
        if micromodel.uses_model and model is None:
            raise ValueError(f"micromodel {micromodel.name!r} needs a loaded model")
        self.model = model
        self.micromodel = micromodel
        self.settings = settings
        self.broker = broker
        self.party = party
        # Replies are proven to the orchestrator alone.
        self._prove = functools.partial(party.prove, to=party.policy.orchestrator)
        self.source = settings.source(micromodel.name)
        # A local model runs one completion at a time; a remote one, its concurrency.
        self.worker = Worker(
            f"micromodel-{micromodel.name}", threads=model.concurrency if model else 1
        )
        self.replies = replies
        # Who writes this micromodel's tasks, on which topic, and the one topic its
        # replies go to (which every task must name).
        self.task_topic = settings.task_topic(micromodel.name, side_by_side(settings))
        self.task_writers: tuple[Role, ...] = ("orchestrator",)
        self.reply_topic = settings.replies_topic
        if settings.shadow_topic is not None:
            # A candidate: the operator's rewritten tasks in, nothing into the live flow out.
            self.task_topic = settings.shadow_topic
            self.task_writers = ("operator",)
            self.reply_topic = SHADOW_REPLIES

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """One task record -> one reply or one dead letter, published before this returns.

        Its size is checked first (cheap), then its proof (an HMAC), then its
        contents. The offset is committed only after this returns
        (ConcurrentConsumption).
        """
        problem = self._refusal(record)
        if problem is not None:
            code, message = problem
            # No reply: the ids of a record nobody proved are not believed.
            await self._dead_letter(record, code, message)
            return
        try:
            task = decode_record(
                record.value,
                record.headers,
                (TaskRequested,),
                max_bytes=self.settings.max_event_bytes,
            )
        except ContractError as exc:
            await self._reject_record(record, exc.code, exc.message)
        else:
            about(
                request_id=task.requestid,
                task_id=task.data.task_id,
                micromodel=self.micromodel.name,
                micromodel_version=self.micromodel.version,
            )
            await self._answer(task, record)

    def _refusal(self, record: ConsumerRecord[bytes, bytes]) -> tuple[ErrorCode, str] | None:
        """Why a record is no task of its writer's (code, reason), or None if it is one.

        Size first: no HMAC runs over bytes the record may not have.
        """
        size = len(record.value or b"")
        if size > self.settings.max_event_bytes:
            limit = self.settings.max_event_bytes
            return "payload_too_large", f"event is {size} bytes; the limit is {limit} bytes"
        try:
            self.party.check(
                self.task_topic,
                record.key,
                record.value,
                record.headers,
                roles=self.task_writers,
            )
        except Unproven as exc:
            return "unauthenticated_task", exc.reason
        return None

    async def _dead_letter(
        self, record: Any, code: ErrorCode, message: str, attempts: int = 1
    ) -> None:
        await publish_dead_letter(
            self.broker,
            self.settings.deadletter_topic,
            record,
            code=code,
            error=message,
            service=self.micromodel.name,
            attempts=attempts,
        )

    async def _answer(self, task: TaskRequested, record: Any) -> None:
        if task.data.reply_topic != self.reply_topic:
            # Replies go to the mesh's replies topic alone: another topic would take a
            # micromodel's output elsewhere, or, missing, hold the task in retries.
            # Said once, before any work.
            await self._dead_letter(
                record,
                "unknown_reply_topic",
                f"the task's reply topic {task.data.reply_topic!r} is not {self.reply_topic!r}, "
                "the only topic this micromodel answers on",
            )
            return
        if self.replies is not None:
            stored = await self.replies.get(task)
            if stored is not None:
                logger.info(
                    "task %s redelivered: its stored reply is sent again", task.data.task_id
                )
                await publish_bytes(
                    self.broker,
                    self.reply_topic,
                    stored,
                    key=task.requestid,
                    prove=self._prove,
                )
                return
        started = time.perf_counter()
        retries = backoff(
            self.settings.retry_backoff_ms / 1000, MAX_BACKOFF_S, self.settings.task_retries
        )
        attempts = 0
        while True:
            attempts += 1
            try:
                output, usage = await self._run_bounded(task)
                break
            except TaskRejected as exc:
                delay = next(retries, None) if exc.retryable else None
                if delay is not None:
                    # Retried here, not by seeking back: the partition's other
                    # records go on being handled meanwhile.
                    logger.warning(
                        "task %s failed (attempt %d), retrying in %.2f s: %s",
                        task.data.task_id,
                        attempts,
                        delay,
                        exc.message,
                    )
                    await asyncio.sleep(delay)
                    continue
                await self._reply_failed(
                    task, exc.code, exc.message, started, retryable=exc.retry_later
                )
                if exc.code not in NOT_DEAD_LETTERED:
                    await self._dead_letter(record, exc.code, exc.message, attempts)
                return
        mm = self.micromodel
        tokens = (
            TokenUsage(prompt=usage.prompt_tokens, completion=usage.completion_tokens)
            if usage is not None
            else None
        )
        completed = TaskCompleted.create(
            data={
                "task_id": task.data.task_id,
                "micromodel": mm.name,
                "output": output.model_dump(mode="json"),
                "summary": mm.summarize(output) if mm.summarize else None,
                "model": self.model.id if self.model is not None else mm.model,
                "tokens": tokens,
                "latency_ms": (time.perf_counter() - started) * 1000,
                "replica": self.settings.replica,
            },
            source=self.source,
            request_id=task.requestid,
            causation_id=task.id,
        )
        await self._reply(task, completed, keep=True)
        task_done(mm.name, time.perf_counter() - started)
        if tokens is not None:
            tokens_spent(completed.data.model, tokens.prompt, tokens.completion, use="task")

    async def _reply(
        self, task: TaskRequested, reply: TaskCompleted | TaskFailed, *, keep: bool
    ) -> None:
        """Publish a reply and keep it (when `keep`): if publishing fails, the record's
        next attempt sends the kept reply instead of running the task again."""
        body = encode(reply)
        publish = publish_bytes(
            self.broker, self.reply_topic, body, key=task.requestid, prove=self._prove
        )
        if keep and self.replies is not None:
            # Side by side: the next attempt comes after a backoff, by which time
            # the reply is kept (a failed keep is only logged).
            await asyncio.gather(self.replies.put(task, body), publish)
        else:
            await publish

    async def _run_bounded(self, task: TaskRequested) -> tuple[Out, Usage | None]:
        limit_s = self.settings.max_run_ms / 1000
        try:
            # A timeout scope, not wait_for: no task of its own, so no turns of
            # the event loop between the task's arrival and its reply.
            async with asyncio.timeout(limit_s):
                return await self._run(task)
        except TimeoutError as exc:
            # The reply goes now and the consumer moves on. A model call cannot be
            # interrupted: it finishes in the worker thread, and tasks behind it wait.
            raise TaskRejected(
                "run_time_exceeded",
                f"task ran longer than its maximum of {limit_s:g} s",
            ) from exc

    async def _run(self, task: TaskRequested) -> tuple[Out, Usage | None]:
        mm = self.micromodel
        if task.data.micromodel != mm.name:
            raise TaskRejected(
                "unknown_micromodel",
                f"task for micromodel {task.data.micromodel!r} reached {mm.name!r}",
            )
        if task.data.deadline <= datetime.now(UTC):
            raise TaskRejected(
                "deadline_exceeded", f"task deadline {task.data.deadline.isoformat()} has passed"
            )
        try:
            arguments = mm.input_model.model_validate(task.data.arguments)
        except ValidationError as exc:
            raise TaskRejected("invalid_arguments", describe_errors(exc)) from exc
        usage: Usage | None = None
        try:
            if mm.infer is not None:
                assert self.model is not None
                session = ModelSession(self.model)
                usage = session.usage
                infer = mm.infer
                output = await session.run_in(
                    self.worker,
                    lambda: infer(arguments, session),
                    micromodel=mm.name,
                    version=mm.version,
                )
            elif mm.handler is not None and mm.blocking:
                handler = mm.handler
                output = await self.worker.run(lambda: handler(arguments))
            else:
                assert mm.handler is not None
                output = mm.handler(arguments)
        except ContextOverflowError as exc:
            raise TaskRejected("context_overflow", str(exc)) from exc
        except RemoteModelError as exc:
            # Retried by the model already, as long as it was worth it: not again here.
            raise TaskRejected(exc.code, str(exc), retry_later=exc.retryable) from exc
        except LocalModelRequired as exc:
            # This service cannot run it, however often it tries.
            raise TaskRejected("handler_error", str(exc)) from exc
        except ValidationError as exc:
            # The handler built its output from what a model wrote, and it did not fit.
            raise TaskRejected("invalid_output", describe_errors(exc)) from exc
        except Exception as exc:
            logger.exception("handler of %s failed on task %s", mm.name, task.data.task_id)
            raise TaskRejected(
                "handler_error", f"{type(exc).__name__}: {exc}", retryable=True
            ) from exc
        if not isinstance(output, mm.output_model):
            raise TaskRejected(
                "invalid_output",
                f"handler returned {type(output).__name__}, not {mm.output_model.__name__}",
            )
        return output, usage

    async def _reply_failed(
        self,
        task: TaskRequested,
        code: ErrorCode,
        message: str,
        started: float,
        *,
        retryable: bool = False,
    ) -> None:
        failed = task_failed(
            task_id=task.data.task_id,
            micromodel=self.micromodel.name,
            code=code,
            message=message,
            source=self.source,
            request_id=task.requestid,
            replica=self.settings.replica,
            latency_ms=(time.perf_counter() - started) * 1000,
            causation_id=task.id,
            retryable=retryable,
        )
        span_failed(code, message)
        task_done(self.micromodel.name, time.perf_counter() - started, code=code)
        # A handler error, or an endpoint's, may be passing: a redelivery runs the task again.
        await self._reply(task, failed, keep=code not in NOT_KEPT)

    async def give_up(
        self, record: ConsumerRecord[bytes, bytes], error: Exception, attempts: int
    ) -> None:
        """A task record whose handling kept failing (outside its handler, whose errors
        `_answer` retries and answers): dead-lettered, its call failed if its ids are readable
        and the orchestrator proved it.
        """
        message = f"handling failed {attempts} times, last with {type(error).__name__}: {error}"
        if self._refusal(record) is not None:
            await self._dead_letter(record, "handler_error", message, attempts)
            return
        await self._reject_record(record, "handler_error", message, attempts)

    async def _reject_record(
        self, record: Any, code: ErrorCode, message: str, attempts: int = 1
    ) -> None:
        """A proven record that is no valid task: dead-letter it, and tell the orchestrator
        when we can.

        Without a reply the request would wait for its deadline; a salvageable
        request id and task id let it fail that call at once, when the record
        names the replies topic this micromodel answers on (no other is ever
        answered).
        """
        await self._dead_letter(record, code, message, attempts)
        ids = _salvage_task_ids(record)
        if ids is None:
            return
        request_id, task_id, reply_topic = ids
        if reply_topic != self.reply_topic:
            return
        failed = task_failed(
            task_id=task_id,
            micromodel=self.micromodel.name,
            code=code,
            message=message,
            source=self.source,
            request_id=request_id,
            replica=self.settings.replica,
        )
        await publish_event(
            self.broker, self.reply_topic, failed, key=request_id, prove=self._prove
        )


def _salvage_task_ids(record: Any) -> tuple[str, str, str] | None:
    """The request id, task id and reply topic of a task record, as far as they can be read
    (its event in either content mode)."""
    obj = event_fields(record.value, record.headers)
    if obj is None:
        return None
    try:
        request_id, data = obj["requestid"], obj["data"]
        task_id, reply_topic = data["task_id"], data["reply_topic"]
    except (KeyError, TypeError):
        return None
    # Ids the contract would refuse cannot be answered: a TaskFailed for them
    # would itself be invalid.
    if is_valid_id(request_id) and is_valid_task_id(task_id) and is_valid_topic(reply_topic):
        return request_id, task_id, reply_topic
    return None

"""The micromodel SDK: declare input, output, a description and a handler; the SDK does the rest.

It consumes the micromodel's task topic, validates each task, runs the handler
in a worker thread, validates the output, replies with TaskCompleted or
TaskFailed, and only then commits the task's offset (at-least-once). Records
that are not valid tasks go to the dead-letter topic with the reason, and the
consumer moves on to the next record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from aiokafka.structs import ConsumerRecord
from faststream import FastStream
from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ValidationError

from slmesh.runtime.broker import create_broker, ensure_topics, subscribe
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.consumption import ConcurrentConsumption
from slmesh.runtime.publishing import publish_dead_letter, publish_event
from slmesh.runtime.service import (
    READY_MARKER,
    configure_logging,
    faststream_logger,
    lifecycle,
    run,
)
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import (
    ContractError,
    ErrorCode,
    ErrorInfo,
    TaskCompleted,
    TaskFailed,
    TaskRequested,
    decode,
    describe_errors,
    is_valid_id,
    is_valid_task_id,
    is_valid_topic,
)

logger = logging.getLogger(__name__)

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


@dataclass(frozen=True)
class Micromodel(Generic[In, Out]):
    """One specialised function of the mesh.

    `handler` is a plain function: it runs in a worker thread, so it may block
    (model inference does). A handler that only looks something up in memory
    may set `blocking=False` to run on the event loop: for microseconds of
    work, the thread hop would cost more than the work.
    `summarize` turns an output into the words a composer quotes verbatim.
    """

    name: str
    description: str
    input_model: type[In]
    output_model: type[Out]
    handler: Callable[[In], Out]
    version: str = "0.1.0"
    model: str = "deterministic"
    summarize: Callable[[Out], str] | None = None
    blocking: bool = True

    def input_schema(self) -> dict[str, Any]:
        return self.input_model.model_json_schema()

    def output_schema(self) -> dict[str, Any]:
        return self.output_model.model_json_schema()


class MicromodelSettings(MeshSettings):
    """Settings of a micromodel service (`SLMESH_*`)."""


class TaskRejected(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


class TaskRunner(Generic[In, Out]):
    """Turns one task record into exactly one reply or one dead letter."""

    def __init__(
        self, micromodel: Micromodel[In, Out], settings: MeshSettings, broker: KafkaBroker
    ) -> None:
        self.micromodel = micromodel
        self.settings = settings
        self.broker = broker
        self.source = settings.source(micromodel.name)
        self.worker = Worker(f"micromodel-{micromodel.name}")

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """One task record -> one reply or one dead letter, published before this returns.

        The offset is committed only after this returns (ConcurrentConsumption).
        """
        body = record.value or b""
        try:
            task = decode(body, (TaskRequested,), max_bytes=self.settings.max_event_bytes)
        except ContractError as exc:
            await self._reject_record(record, exc.code, exc.message, body)
        else:
            await self._answer(task)

    async def _answer(self, task: TaskRequested) -> None:
        started = time.perf_counter()
        try:
            output = await self._run(task)
        except TaskRejected as exc:
            await self._reply_failed(task, exc.code, exc.message, started)
            return
        mm = self.micromodel
        completed = TaskCompleted.create(
            data={
                "task_id": task.data.task_id,
                "micromodel": mm.name,
                "output": output.model_dump(mode="json"),
                "summary": mm.summarize(output) if mm.summarize else None,
                "model": mm.model,
                "latency_ms": (time.perf_counter() - started) * 1000,
                "replica": self.settings.replica,
            },
            source=self.source,
            request_id=task.requestid,
            causation_id=task.id,
        )
        await publish_event(self.broker, task.data.reply_topic, completed, key=task.requestid)

    async def _run(self, task: TaskRequested) -> Out:
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
        try:
            if mm.blocking:
                output = await self.worker.run(lambda: mm.handler(arguments))
            else:
                output = mm.handler(arguments)
        except Exception as exc:
            logger.exception("handler of %s failed on task %s", mm.name, task.data.task_id)
            raise TaskRejected("handler_error", f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(output, mm.output_model):
            raise TaskRejected(
                "invalid_output",
                f"handler returned {type(output).__name__}, not {mm.output_model.__name__}",
            )
        return output

    async def _reply_failed(
        self, task: TaskRequested, code: ErrorCode, message: str, started: float
    ) -> None:
        failed = TaskFailed.create(
            data={
                "task_id": task.data.task_id,
                "micromodel": self.micromodel.name,
                "error": ErrorInfo(code=code, message=message),
                "latency_ms": (time.perf_counter() - started) * 1000,
                "replica": self.settings.replica,
            },
            source=self.source,
            request_id=task.requestid,
            causation_id=task.id,
        )
        await publish_event(self.broker, task.data.reply_topic, failed, key=task.requestid)

    async def _reject_record(self, record: Any, code: ErrorCode, message: str, body: bytes) -> None:
        """A record that is no valid task: dead-letter it, and tell the orchestrator when we can.

        Without a reply the request would wait for its deadline; a salvageable
        request id, task id and reply topic let it fail that call at once.
        """
        await publish_dead_letter(
            self.broker,
            self.settings.deadletter_topic,
            record,
            code=code,
            error=message,
            service=self.micromodel.name,
        )
        ids = _salvage_task_ids(body) if code != "payload_too_large" else None
        if ids is None:
            return
        request_id, task_id, reply_topic = ids
        failed = TaskFailed.create(
            data={
                "task_id": task_id,
                "micromodel": self.micromodel.name,
                "error": ErrorInfo(code=code, message=message),
                "latency_ms": 0.0,
                "replica": self.settings.replica,
            },
            source=self.source,
            request_id=request_id,
        )
        await publish_event(self.broker, reply_topic, failed, key=request_id)


def _salvage_task_ids(body: bytes) -> tuple[str, str, str] | None:
    try:
        obj = orjson.loads(body)
        request_id, data = obj["requestid"], obj["data"]
        task_id, reply_topic = data["task_id"], data["reply_topic"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    # Ids the contract would refuse cannot be answered: a TaskFailed for them
    # would itself be invalid.
    if is_valid_id(request_id) and is_valid_task_id(task_id) and is_valid_topic(reply_topic):
        return request_id, task_id, reply_topic
    return None


def build_runner(
    micromodel: Micromodel[In, Out], settings: MeshSettings
) -> tuple[TaskRunner[In, Out], ConcurrentConsumption]:
    """The broker with the micromodel's subscriber registered, and who handles its records."""
    broker = create_broker(settings, client_id=f"slmesh-{micromodel.name}")
    runner = TaskRunner(micromodel, settings, broker)
    consumption = ConcurrentConsumption(f"{micromodel.name} tasks", runner.handle)
    subscribe(
        broker,
        settings,
        settings.task_topic(micromodel.name),
        group_id=f"slmesh.micromodel.{micromodel.name}",
        consumption=consumption,
        title=f"{micromodel.name} tasks",
        description=micromodel.description,
    )
    return runner, consumption


def create_app(micromodel: Micromodel[In, Out], settings: MeshSettings | None = None) -> FastStream:
    """The micromodel as a FastStream app: one subscriber on its task topic."""
    settings = settings or MicromodelSettings()
    runner, consumption = build_runner(micromodel, settings)
    broker = runner.broker
    topic = settings.task_topic(micromodel.name)

    async def prepare() -> None:
        await ensure_topics(settings, [topic, settings.replies_topic, settings.deadletter_topic])

    async def announce() -> None:
        lifecycle.info(
            "%s: micromodel %s %s consuming %s as %s",
            READY_MARKER,
            micromodel.name,
            micromodel.version,
            topic,
            settings.replica,
        )

    return FastStream(
        broker,
        logger=faststream_logger,
        on_startup=[prepare],
        after_startup=[announce],
        on_shutdown=[consumption.drain],
        after_shutdown=[runner.worker.shutdown],
    )


def serve(micromodel: Micromodel[In, Out]) -> None:
    """Entry point of a micromodel service process."""
    settings = MicromodelSettings()
    configure_logging(settings.log_level)
    run(create_app(micromodel, settings))

"""The orchestrator's logic in one process: built by its composition root (app.assemble) on
FastStream's in-memory broker, with an in-memory gather store.

A unit test of its decisions: requests in, tasks out, replies gathered, one
response. The same paths run over a real broker and Redis in tests/integration.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from faststream.kafka import KafkaMessage, TestKafkaBroker

from slmesh.orchestrator.app import Assembly, assemble
from slmesh.orchestrator.gather.store import Opening, ReplyOutcome
from slmesh.orchestrator.planning.plan import Deferred, Plan, PlannedCall, Planner, ToolView
from slmesh.orchestrator.planning.remote import RemotePlanner, RemotePlanning
from slmesh.orchestrator.settings import OrchestratorSettings
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.kafka import message_itself, raw_body
from slmesh.runtime.kafka.publishing import DLQ_ERROR, DLQ_ERROR_CODE
from slmesh.runtime.llm.errors import RemoteModelError
from slmesh.runtime.llm.remote import RemoteModelSettings
from slmesh.runtime.trust import response_topic
from slmesh.schemas import (
    CONTENT_TYPE,
    CallOutcome,
    Envelope,
    RequestCompleted,
    RequestSubmitted,
    TaskCompleted,
    TaskRequested,
    decode,
    encode,
)
from slmesh.vat_rates.micromodel import build as vat_rates
from tests.support.binary_mode import as_text, binary_mode
from tests.support.fake_store import FakeGatherStore, as_storage
from tests.support.identities import (
    DEV_CALLER,
    LIMITED_CALLER,
    LIMITED_MAX_IN_FLIGHT,
    OTHER_CALLER,
)
from tests.support.kit import prove_as
from tests.support.planning import PlanningEndpoint
from tests.support.proofs import STRUCTURED, Headers, owner_of, reply_headers

VAT_ROUTING = vat_rates().routing
SETTINGS = OrchestratorSettings(
    replica="orchestrator-test",
    micromodels=["vat-rates", "summarizer"],
    planner="rules",
    max_calls=5,
    sweep_interval_ms=10,
    record_retries=0,
)
WAIT_S = 5.0


def rid(request: RequestSubmitted, caller: str = DEV_CALLER) -> str:
    """The mesh's id of a caller's request: scoped to it."""
    return f"{caller}:{request.requestid}"


async def publish_request(
    m: Mesh,
    value: bytes,
    *,
    key: str | None,
    headers: dict[str, str] | None = None,
    caller: str | None = DEV_CALLER,
) -> None:
    """A request record as `caller` sends it: proven to the orchestrator (None: unproven)."""
    given = [(k, v.encode()) for k, v in (headers or {}).items()] if headers else None
    if caller is not None:
        given = prove_as(caller, SETTINGS.requests_topic, value, key=key, headers=given)
    await m.assembly.broker.publish(
        value,
        SETTINGS.requests_topic,
        key=key.encode() if key is not None else None,
        headers={k: v.decode() for k, v in given or [("content-type", CONTENT_TYPE.encode())]},
    )


@dataclass
class Mesh:
    """The orchestrator's assembly, and what it published where the micromodels and
    requesters would read it."""

    assembly: Assembly
    store: FakeGatherStore
    tasks: list[TaskRequested] = field(default_factory=list)
    # The dev caller's answers, and each other caller's by its name.
    responses: list[RequestCompleted] = field(default_factory=list)
    others: dict[str, list[RequestCompleted]] = field(default_factory=dict)
    dead_letters: list[bytes] = field(default_factory=list)
    # Each dead letter's code and reason, in the same order.
    refusals: list[tuple[str, str]] = field(default_factory=list)

    async def submit(
        self,
        text: str,
        *,
        caller: str | None = DEV_CALLER,
        request_id: str | None = None,
        **data: Any,
    ) -> RequestSubmitted:
        """A request sent as `caller` (None: proven by nobody)."""
        request = RequestSubmitted.create(
            data={"input": text, **data},
            source="/tests/requester",
            request_id=request_id or f"req-{uuid.uuid4().hex[:12]}",
        )
        await publish_request(self, encode(request), key=request.requestid, caller=caller)
        return request

    @staticmethod
    def answer_to(
        task: TaskRequested, output: dict[str, Any] | None = None, summary: str | None = None
    ) -> TaskCompleted:
        """What a micromodel would answer to `task`."""
        country = task.data.arguments.get("country")
        return TaskCompleted.create(
            data={
                "task_id": task.data.task_id,
                "micromodel": task.data.micromodel,
                "output": output or {"country": country, "standard": 20.0},
                "summary": summary or f"{country}: 20%",
                "model": "deterministic",
                "latency_ms": 0.5,
                "replica": "vat-test",
            },
            source="/tests/vat-rates",
            request_id=task.requestid,
            causation_id=task.id,
        )

    async def reply(self, task: TaskRequested, output: dict[str, Any] | None = None) -> None:
        """Publish what a micromodel would answer to `task`, proven by the micromodel."""
        answer = self.answer_to(task, output)
        await self.publish_reply(encode(answer), task.requestid, owner_of(task.data.micromodel))

    async def publish_reply(
        self,
        value: bytes,
        request_id: str,
        signer: str | None,
        headers: Headers = STRUCTURED,
    ) -> None:
        """Put a reply record on the replies topic, proven by `signer` (None: unproven)."""
        if signer is not None:
            headers = reply_headers(SETTINGS, signer, request_id, value, headers=headers)
        await self.assembly.broker.publish(
            value,
            SETTINGS.replies_topic,
            key=request_id.encode(),
            headers={name: raw.decode() for name, raw in headers},
        )

    async def tasks_of(self, request: RequestSubmitted, n: int) -> list[TaskRequested]:
        def mine() -> list[TaskRequested]:
            return [t for t in self.tasks if t.requestid == rid(request)]

        await until(lambda: len(mine()) >= n)
        return mine()

    def tasks_of_now(self, request: RequestSubmitted) -> list[TaskRequested]:
        return [t for t in self.tasks if t.requestid == rid(request)]

    async def response_to(self, request: RequestSubmitted) -> RequestCompleted:
        await until(lambda: bool(self.responses_to(request)))
        [response] = self.responses_to(request)
        return response

    def responses_to(self, request: RequestSubmitted) -> list[RequestCompleted]:
        return [r for r in self.responses if r.requestid == request.requestid]

    async def settled(self) -> None:
        """Every record handed to the orchestrator so far is handled."""
        # Each record is handled in a task of its consumption's own.
        running = [t for c in (self.assembly.requests, self.assembly.replies) for t in c._tasks]
        if running:
            await asyncio.wait(running, timeout=WAIT_S)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not condition():  # noqa: ASYNC110  # the in-memory broker says nothing
            await asyncio.sleep(0.005)


@asynccontextmanager
async def mesh(
    settings: OrchestratorSettings = SETTINGS,
    planner: Planner | None = None,
    remote_planner: RemotePlanning | None = None,
) -> AsyncIterator[Mesh]:
    store = FakeGatherStore()
    assembly = assemble(
        settings, planner, broker=None, store=as_storage(store), remote_planner=remote_planner
    )
    # The configured micromodels announce no card here: vat-rates is given its card's
    # routing, as a live one brings it, so the rules planner can read a VAT question.
    assembly.catalogue.get("vat-rates").routing = VAT_ROUTING  # type: ignore[union-attr]
    found = Mesh(assembly, store)
    broker = assembly.broker
    task_topics = [settings.task_topic(name) for name in settings.micromodels]

    @broker.subscriber(*task_topics, decoder=raw_body)
    async def on_task(body: bytes) -> None:
        found.tasks.append(decode(body, (TaskRequested,)))

    @broker.subscriber(response_topic(settings.responses_topic, DEV_CALLER), decoder=raw_body)
    async def on_response(body: bytes) -> None:
        found.responses.append(decode(body, (RequestCompleted,)))

    def keep(answered: list[RequestCompleted]) -> Callable[[bytes], Awaitable[None]]:
        async def on_other(body: bytes) -> None:
            answered.append(decode(body, (RequestCompleted,)))

        return on_other

    for caller in (OTHER_CALLER, LIMITED_CALLER):
        topic = response_topic(settings.responses_topic, caller)
        broker.subscriber(topic, decoder=raw_body)(keep(found.others.setdefault(caller, [])))

    @broker.subscriber(settings.deadletter_topic, decoder=message_itself)
    async def on_dead_letter(message: KafkaMessage) -> None:
        found.dead_letters.append(bytes(message.body))
        found.refusals.append((message.headers[DLQ_ERROR_CODE], message.headers[DLQ_ERROR]))

    async with TestKafkaBroker(broker):
        try:
            yield found
        finally:
            await assembly.requests.drain()
            await assembly.replies.drain()


async def test_a_one_call_request_is_dispatched_and_answered_when_its_reply_comes() -> None:
    async with mesh() as m:
        request = await m.submit("What is the VAT rate in Germany?", metadata={"erp": "42"})
        [task] = await m.tasks_of(request, 1)
        assert task.data.micromodel == "vat-rates"
        assert task.data.arguments == {"country": "DE"}
        assert task.data.task_id == f"{rid(request)}:1"
        assert task.data.reply_topic == SETTINGS.replies_topic
        assert task.causationid == request.id
        assert task.source == "/slmesh/orchestrator/orchestrator-test"
        await m.settled()
        assert m.responses_to(request) == []
        assert await m.store.state(rid(request)) == "open"
        # Replies are due: the consumers stay fast.
        assert m.assembly.orchestrator.awaits_replies()

        await m.reply(task)
        response = await m.response_to(request)
        data = response.data
        assert data.status == "ok"
        assert data.planner == "rules"
        assert data.plan == ["'What is the VAT rate in Germany' -> vat-rates (rule): 1 call(s)"]
        assert data.metadata == {"erp": "42"}
        assert data.answer == "DE: 20%"
        assert [c.output for c in data.calls] == [{"country": "DE", "standard": 20.0}]
        assert data.error is None
        assert response.causationid == request.id
        assert await m.store.state(rid(request)) == "done"
        assert not m.assembly.orchestrator.awaits_replies()


async def test_a_fan_out_is_answered_only_when_every_reply_is_in() -> None:
    async with mesh() as m:
        request = await m.submit("VAT rates in Germany, France and Italy")
        tasks = await m.tasks_of(request, 3)
        by_country = {str(t.data.arguments["country"]): t for t in tasks}
        assert sorted(by_country) == ["DE", "FR", "IT"]
        await m.reply(by_country["IT"])
        await m.reply(by_country["DE"])
        await m.settled()
        assert m.responses_to(request) == []

        await m.reply(by_country["FR"])
        response = await m.response_to(request)
        assert response.data.status == "ok"
        # In the plan's order, whatever the order of the replies.
        assert [c.arguments["country"] for c in response.data.calls] == ["DE", "FR", "IT"]
        assert all(c.status == "ok" for c in response.data.calls)
        await m.settled()
        assert len(m.responses_to(request)) == 1


async def test_a_duplicate_reply_is_counted_once() -> None:
    async with mesh() as m:
        request = await m.submit("VAT in Germany and France")
        first, second = await m.tasks_of(request, 2)
        await m.reply(first)
        # Redelivered: it must not stand in for the reply still missing.
        await m.reply(first, {"country": "DE", "standard": 99.0})
        await m.settled()
        assert m.responses_to(request) == []

        await m.reply(second)
        response = await m.response_to(request)
        assert [c.output for c in response.data.calls] == [
            {"country": "DE", "standard": 20.0},
            {"country": "FR", "standard": 20.0},
        ]
        # Late duplicates after the answer change nothing either.
        await m.reply(second)
        await m.settled()
        assert len(m.responses_to(request)) == 1


async def test_an_unknown_micromodel_gets_a_failed_response_naming_it() -> None:
    async with mesh() as m:
        request = await m.submit(
            "explicit",
            calls=[
                {"micromodel": "vat-rates", "arguments": {"country": "DE"}},
                {"micromodel": "horoscope", "arguments": {}},
            ],
        )
        response = await m.response_to(request)
        data = response.data
        assert data.status == "failed"
        assert data.planner == "explicit"
        assert data.error is not None
        assert data.error.code == "unknown_micromodel"
        assert "unknown micromodel(s): horoscope" in data.error.message
        assert "serving now: summarizer, vat-rates" in data.error.message
        assert m.tasks == []
        # Answered once, without a gather state.
        assert await m.store.state(rid(request)) == "done"
        assert await m.store.snapshot(rid(request)) is None


async def test_a_plan_over_the_calls_cap_fails_too_many_calls() -> None:
    async with mesh() as m:
        request = await m.submit("What are the VAT rates in all EU countries?")
        response = await m.response_to(request)
        data = response.data
        assert data.status == "failed"
        assert data.error is not None
        assert data.error.code == "too_many_calls"
        assert "the plan has 27 calls, over the cap of 5 calls per request" in data.error.message
        assert data.planner == "rules"
        await m.settled()
        assert m.tasks == []


async def test_a_request_past_its_deadline_is_answered_with_what_came() -> None:
    async with mesh() as m:
        sweeper = asyncio.create_task(m.assembly.orchestrator.sweep_forever())
        try:
            request = await m.submit("VAT in Germany and France", timeout_ms=200)
            first, _ = await m.tasks_of(request, 2)
            await m.reply(first)
            response = await m.response_to(request)
        finally:
            sweeper.cancel()
        data = response.data
        assert data.status == "partial"
        assert [c.status for c in data.calls] == ["ok", "missing"]
        assert data.error is not None
        assert data.error.code == "deadline_exceeded"
        assert data.error.message.endswith(f"{rid(request)}:2")


async def test_a_reply_whose_gather_state_is_lost_fails_its_request_once() -> None:
    async with mesh() as m:
        request = await m.submit("VAT in Germany")
        [task] = await m.tasks_of(request, 1)
        # Redis restarted empty while the call ran.
        m.store.requests.clear()
        m.store.deadlines.clear()
        await m.reply(task)
        await m.reply(task)
        response = await m.response_to(request)
        assert response.data.error is not None
        assert response.data.error.code == "state_lost"
        assert response.data.planner == "unknown"
        await m.settled()
        assert len(m.responses_to(request)) == 1


async def test_a_reply_that_cannot_be_gathered_is_dead_lettered_and_its_request_failed() -> None:
    """Gathering a reply keeps raising: its retries spent, the reply is dead-lettered and its
    request answered at once (not at its deadline) with what came, naming why a call is
    missing; once; and the next request is served."""
    async with mesh() as m:
        sweeper = asyncio.create_task(m.assembly.orchestrator.sweep_forever())
        request = await m.submit("VAT in Germany and France")
        task, other = await m.tasks_of(request, 2)
        await m.reply(other)
        await m.settled()
        recording = m.store.record_reply

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("the gather script is broken")

        m.store.record_reply = broken  # type: ignore[method-assign]
        await m.reply(task)
        response = await m.response_to(request)
        assert response.data.status == "partial"
        assert [c.status for c in response.data.calls] == ["missing", "ok"]
        assert response.data.error is not None
        assert response.data.error.code == "handler_error"
        assert "the gather script is broken" in response.data.error.message
        await until(lambda: len(m.dead_letters) == 1)
        m.store.record_reply = recording  # type: ignore[method-assign]
        await m.reply(task)  # redelivered, say: its request has had its answer
        await m.settled()
        assert len(m.responses_to(request)) == 1
        following = await m.submit("VAT in France")
        [task] = await m.tasks_of(following, 1)
        await m.reply(task)
        assert (await m.response_to(following)).data.status == "ok"
        sweeper.cancel()


async def test_a_deterministic_requests_tasks_go_out_while_its_state_is_written() -> None:
    async with mesh() as m:
        written = asyncio.Event()
        open_state = m.store.open

        async def slow_open(request_id: str, **kwargs: Any) -> Opening:
            await written.wait()
            return await open_state(request_id, **kwargs)

        m.store.open = slow_open  # type: ignore[method-assign]
        outcomes: list[ReplyOutcome] = []
        record_reply = m.store.record_reply

        async def recording(*args: Any, **kwargs: Any) -> Any:
            outcome, snapshot = await record_reply(*args, **kwargs)
            outcomes.append(outcome)
            return outcome, snapshot

        m.store.record_reply = recording  # type: ignore[method-assign]
        request = await m.submit("VAT in Germany")
        # Published before its gather state exists ...
        [task] = await m.tasks_of(request, 1)
        assert await m.store.state(rid(request)) is None
        # ... and its reply, outrunning the write, waits for it instead of
        # finding no state and answering the request as lost.
        await m.reply(task)
        await asyncio.sleep(0.05)
        assert m.responses_to(request) == []
        written.set()
        response = await m.response_to(request)
        assert response.data.status == "ok"
        assert await m.store.state(rid(request)) == "done"
        # Recorded once, after the write: never found without its state.
        assert outcomes == [ReplyOutcome.COMPLETE]


async def test_a_reply_whose_state_another_replica_writes_late_is_gathered() -> None:
    async with mesh() as m:
        request = await m.submit("VAT in Germany")
        [task] = await m.tasks_of(request, 1)
        await m.settled()
        # As if another replica had taken the request and not yet written its state.
        state = m.store.requests.pop(rid(request))
        await m.reply(task)
        await asyncio.sleep(0.1)
        m.store.requests[rid(request)] = state
        response = await m.response_to(request)
        assert response.data.status == "ok"
        assert response.data.answer == "DE: 20%"


async def test_after_a_failed_state_write_the_state_is_written_before_the_tasks() -> None:
    settings = SETTINGS.model_copy(update={"record_retries": 2})
    async with mesh(settings) as m:
        failures = 2
        open_state = m.store.open

        async def failing_open(request_id: str, **kwargs: Any) -> Opening:
            nonlocal failures
            if failures:
                failures -= 1
                raise ConnectionError("Redis is away")
            return await open_state(request_id, **kwargs)

        m.store.open = failing_open  # type: ignore[method-assign]
        request = await m.submit("VAT in Germany")
        # Three attempts: the first sent its task beside the failed write; the
        # second waited for its write, which failed, and sent nothing; the third
        # wrote the state, then sent the task again.
        tasks = await m.tasks_of(request, 2)
        await m.settled()
        assert len(m.tasks_of_now(request)) == 2
        await m.reply(tasks[-1])
        response = await m.response_to(request)
        assert response.data.status == "ok"
        # Written again: the next request's task goes out beside its write.
        written = asyncio.Event()

        async def slow_open(request_id: str, **kwargs: Any) -> Opening:
            await written.wait()
            return await open_state(request_id, **kwargs)

        m.store.open = slow_open  # type: ignore[method-assign]
        after = await m.submit("VAT in France")
        await m.tasks_of(after, 1)
        assert await m.store.state(after.requestid) is None
        written.set()


async def test_a_malformed_request_is_dead_lettered_and_answered_when_its_key_is_an_id() -> None:
    async with mesh() as m:
        await publish_request(m, b"{not json", key="req-bad-1")
        await until(lambda: any(r.requestid == "req-bad-1" for r in m.responses))
        [response] = [r for r in m.responses if r.requestid == "req-bad-1"]
        assert response.data.error is not None
        assert response.data.error.code == "malformed_event"
        assert m.dead_letters == [b"{not json"]


def as_binary(event: Envelope) -> tuple[bytes, dict[str, str]]:
    """An event in the CloudEvents Kafka binary content mode, its headers as strings."""
    data, headers = binary_mode(event)
    return data, as_text(headers)


async def test_a_binary_mode_request_and_reply_are_handled_as_structured_ones() -> None:
    async with mesh() as m:
        request = RequestSubmitted.create(
            data={"input": "What is the VAT rate in Germany?", "metadata": {"erp": "7"}},
            source="/tests/binary-requester",
            request_id=f"req-{uuid.uuid4().hex[:12]}",
        )
        value, headers = as_binary(request)
        await publish_request(m, value, key=request.requestid, headers=headers)
        [task] = await m.tasks_of(request, 1)
        assert task.data.arguments == {"country": "DE"}
        assert task.causationid == request.id
        answer = m.answer_to(task, {"country": "DE", "standard": 19.0}, "DE: 19%")
        data, attributes = binary_mode(answer)
        await m.publish_reply(data, task.requestid, "vat-rates", attributes)
        # The response is structured, as always; the reply was kept as a whole event.
        response = await m.response_to(request)
        assert response.data.status == "ok"
        assert response.data.answer == "DE: 19%"
        assert [c.output for c in response.data.calls] == [{"country": "DE", "standard": 19.0}]
        assert response.data.metadata == {"erp": "7"}
        assert response.causationid == request.id
        assert m.dead_letters == []


async def test_a_bad_binary_mode_request_is_dead_lettered_and_answered_by_its_request_id() -> None:
    async with mesh() as m:
        request = RequestSubmitted.create(
            data={"input": "VAT in Germany"}, source="/tests/binary", request_id="req-bin-bad-1"
        )
        value, headers = as_binary(request)
        headers["ce_specversion"] = "0.3"
        # No key: the request id is the ce_requestid header's.
        await publish_request(m, value, key=None, headers=headers)
        await until(lambda: any(r.requestid == "req-bin-bad-1" for r in m.responses))
        [response] = [r for r in m.responses if r.requestid == "req-bin-bad-1"]
        assert response.data.error is not None
        assert response.data.error.code == "unsupported_schema_version"
        assert "specversion '0.3' is not supported" in response.data.error.message
        assert m.dead_letters == [value]


class ChainPlanner:
    """Plans a VAT call now and a summary of its result in the next round; keeps the tools
    each round was planned with."""

    name = "chain"

    def __init__(self) -> None:
        self.given: list[Mapping[str, ToolView]] = []

    async def plan(self, text: str, tools: Mapping[str, ToolView]) -> Plan:
        self.given.append(tools)
        return Plan(
            self.name,
            [PlannedCall("vat-rates", {"country": "DE"})],
            steps=["vat now"],
            deferred=[Deferred("summarize the result", "summarizer")],
        )

    async def follow_up(
        self, deferred: list[Deferred], results: list[CallOutcome], tools: Mapping[str, ToolView]
    ) -> Plan:
        self.given.append(tools)
        assert [d.micromodel for d in deferred] == ["summarizer"]
        summary = results[0].summary or ""
        return Plan("rules", [PlannedCall("summarizer", {"text": summary})], steps=["summary"])


async def test_a_deferred_clause_runs_in_a_second_round_on_the_first_rounds_results() -> None:
    planner = ChainPlanner()
    async with mesh(planner=planner) as m:
        request = await m.submit("VAT in Germany, then summarize the result")
        [vat] = await m.tasks_of(request, 1)
        await m.reply(vat)
        _, summary = await m.tasks_of(request, 2)
        assert summary.data.task_id == f"{rid(request)}:2"
        assert summary.data.arguments == {"text": "DE: 20%"}
        await m.settled()
        assert m.responses_to(request) == []
        snapshot = await m.store.snapshot(rid(request))
        assert snapshot is not None
        assert snapshot.request.round == 2
        assert snapshot.request.deferred == []
        assert snapshot.request.plan == ["vat now", "round 2: summary"]

        await m.reply(summary, {"summary": "short"})
        response = await m.response_to(request)
        assert response.data.status == "ok"
        assert response.data.steps == 2
        assert [c.micromodel for c in response.data.calls] == ["vat-rates", "summarizer"]
    # Both rounds planned with the live micromodels as views: here the configured ones,
    # which announce neither a schema nor a model.
    configured = {
        name: ToolView(
            name,
            "(configured)",
            {},
            runs_model=False,
            routing=VAT_ROUTING if name == "vat-rates" else None,
        )
        for name in SETTINGS.micromodels
    }
    assert planner.given == [configured, configured]


class RepeatingPlanner:
    """Plans VAT for Germany now, and in the next round VAT for Germany again and France:
    as a follow-up round that re-reads the whole request would."""

    name = "repeating"

    async def plan(self, text: str, tools: Mapping[str, ToolView]) -> Plan:
        return Plan(
            self.name,
            [PlannedCall("vat-rates", {"country": "DE"})],
            deferred=[Deferred("and the others", "vat-rates")],
        )

    async def follow_up(
        self, deferred: list[Deferred], results: list[CallOutcome], tools: Mapping[str, ToolView]
    ) -> Plan:
        calls = [PlannedCall("vat-rates", {"country": c}) for c in ("DE", "FR")]
        return Plan(self.name, calls, steps=["both"])


async def test_a_call_a_later_round_repeats_is_made_once() -> None:
    async with mesh(planner=RepeatingPlanner()) as m:
        request = await m.submit("VAT in Germany, and the others")
        [germany] = await m.tasks_of(request, 1)
        await m.reply(germany)
        _, france = await m.tasks_of(request, 2)
        assert france.data.arguments == {"country": "FR"}
        await m.reply(france, {"country": "FR", "standard": 20.0})
        response = await m.response_to(request)
        assert [c.arguments for c in response.data.calls] == [{"country": "DE"}, {"country": "FR"}]
        assert "round 2: 1 call(s) already made" in response.data.plan
        assert len(m.tasks_of_now(request)) == 2


async def test_a_part_no_micromodel_answers_is_named_and_the_rest_answered() -> None:
    async with mesh() as m:
        request = await m.submit("VAT in Germany and write me a poem about it")
        [vat] = await m.tasks_of(request, 1)
        await m.reply(vat)
        response = await m.response_to(request)
        assert response.data.status == "partial"
        assert response.data.unplaced == ["write me a poem about it"]
        assert "Not answered (no live micromodel does this): 'write me a poem about it'" in (
            response.data.answer
        )
        assert [c.status for c in response.data.calls] == ["ok"]


class StuckPlanner:
    """Never finishes a plan."""

    name = "stuck"

    async def plan(self, text: str, tools: Mapping[str, ToolView]) -> Plan:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def follow_up(
        self, deferred: list[Deferred], results: list[CallOutcome], tools: Mapping[str, ToolView]
    ) -> Plan:
        raise AssertionError("a plan is never made, so there is no next round")


async def test_planning_past_the_requests_deadline_fails_it_naming_the_planner() -> None:
    async with mesh(planner=StuckPlanner()) as m:
        request = await m.submit("Ponder this", timeout_ms=100)
        response = await m.response_to(request)
        data = response.data
        assert data.status == "failed"
        assert data.planner == "stuck"
        assert data.error is not None
        assert data.error.code == "deadline_exceeded"
        assert "planning did not finish within the request's 100 ms" in data.error.message
        assert m.tasks_of_now(request) == []


async def test_a_deferred_clause_past_the_limit_of_rounds_is_said_not_run() -> None:
    settings = SETTINGS.model_copy(update={"max_rounds": 1})
    async with mesh(settings, planner=ChainPlanner()) as m:
        request = await m.submit("VAT in Germany, then summarize the result")
        [vat] = await m.tasks_of(request, 1)
        await m.reply(vat)
        response = await m.response_to(request)
        data = response.data
        assert data.status == "partial"
        assert data.plan[-1] == ("1 deferred clause(s) not run: the limit of 1 round(s) is reached")
        unresolved = data.calls[-1]
        assert unresolved.task_id == f"{rid(request)}:unresolved-1"
        assert unresolved.status == "failed"
        assert unresolved.error is not None
        assert "the limit of rounds is reached" in unresolved.error.message


# --- callers apart ----------------------------------------------------------------------


async def test_a_request_no_caller_proved_is_dead_lettered_and_touches_nothing() -> None:
    async with mesh() as m:
        request = await m.submit("VAT in Germany", caller=None)
        await until(lambda: len(m.dead_letters) == 1)
        await m.settled()
        assert m.tasks == []
        assert m.responses == []
        assert all(answers == [] for answers in m.others.values())
        # No state either: the same id, proven, is the caller's request as ever.
        assert m.store.requests == {}
        request = await m.submit("VAT in Germany", request_id=request.requestid)
        [task] = await m.tasks_of(request, 1)
        await m.reply(task)
        assert (await m.response_to(request)).data.status == "ok"


async def test_a_reply_topic_not_the_callers_own_is_refused_on_its_own() -> None:
    async with mesh() as m:
        other_topic = response_topic(SETTINGS.responses_topic, OTHER_CALLER)
        request = await m.submit("VAT in Germany", reply_topic=other_topic)
        response = await m.response_to(request)
        assert response.data.error is not None
        assert response.data.error.code == "forbidden_reply_topic"
        assert other_topic in response.data.error.message
        await m.settled()
        assert m.tasks == []
        assert m.others[OTHER_CALLER] == []
        own = await m.submit(
            "VAT in Germany", reply_topic=response_topic(SETTINGS.responses_topic, DEV_CALLER)
        )
        [task] = await m.tasks_of(own, 1)
        await m.reply(task)
        assert (await m.response_to(own)).data.status == "ok"


async def test_two_callers_may_use_the_same_request_id() -> None:
    async with mesh() as m:
        ours = await m.submit("VAT in Germany", request_id="req-same")
        theirs = await m.submit("VAT in France", request_id="req-same", caller=OTHER_CALLER)
        [our_task] = await m.tasks_of(ours, 1)
        await until(lambda: any(t.requestid == rid(theirs, OTHER_CALLER) for t in m.tasks))
        [their_task] = [t for t in m.tasks if t.requestid == rid(theirs, OTHER_CALLER)]
        assert their_task.data.task_id == "other:req-same:1"
        await m.reply(their_task)
        await until(lambda: bool(m.others[OTHER_CALLER]))
        [answer] = m.others[OTHER_CALLER]
        assert answer.requestid == "req-same"
        assert answer.data.calls[0].arguments == {"country": "FR"}
        # Theirs answered; ours still open, then answered on its own topic.
        assert m.responses == []
        await m.reply(our_task)
        mine = await m.response_to(ours)
        assert mine.data.calls[0].arguments == {"country": "DE"}


async def test_an_explicit_call_the_caller_may_not_make_is_refused() -> None:
    async with mesh() as m:
        request = await m.submit(
            "summarize",
            caller=LIMITED_CALLER,
            calls=[{"micromodel": "summarizer", "arguments": {"text": "t"}}],
        )
        await until(lambda: bool(m.others[LIMITED_CALLER]))
        [response] = m.others[LIMITED_CALLER]
        assert response.requestid == request.requestid
        assert response.data.error is not None
        assert response.data.error.code == "forbidden_micromodel"
        assert "'limited' may not call summarizer" in response.data.error.message
        await m.settled()
        assert m.tasks == []


class SeenTools:
    """Plans nothing; keeps the tools it was shown."""

    name = "seen"

    def __init__(self) -> None:
        self.given: list[set[str]] = []

    async def plan(self, text: str, tools: Mapping[str, ToolView]) -> Plan:
        self.given.append(set(tools))
        return Plan(self.name, reason="nothing to plan")

    async def follow_up(
        self, deferred: list[Deferred], results: list[CallOutcome], tools: Mapping[str, ToolView]
    ) -> Plan:
        raise AssertionError("never planned, so never followed up")


async def test_the_planner_sees_only_what_the_caller_may_call() -> None:
    planner = SeenTools()
    async with mesh(planner=planner) as m:
        await m.submit("anything", caller=LIMITED_CALLER)
        await m.submit("anything")
        await until(lambda: len(planner.given) == 2)
    # `limited` may call vat-rates (and the ghost, not configured here); dev anything.
    assert planner.given == [{"vat-rates"}, {"vat-rates", "summarizer"}]


async def test_a_callers_open_requests_are_capped() -> None:
    async with mesh() as m:
        held = [
            await m.submit("VAT in Germany", caller=LIMITED_CALLER)
            for _ in range(LIMITED_MAX_IN_FLIGHT)
        ]
        await until(lambda: len(m.tasks) == LIMITED_MAX_IN_FLIGHT)
        over = await m.submit("VAT in France", caller=LIMITED_CALLER)
        await until(lambda: bool(m.others[LIMITED_CALLER]))
        [refusal] = m.others[LIMITED_CALLER]
        assert refusal.requestid == over.requestid
        assert refusal.data.error is not None
        assert refusal.data.error.code == "too_many_requests"
        assert refusal.data.error.retryable
        assert (
            f"retry after one of your {LIMITED_MAX_IN_FLIGHT} open requests is answered"
            in refusal.data.error.message
        )
        await m.settled()
        assert len(m.tasks) == LIMITED_MAX_IN_FLIGHT
        # Another caller is not held back by it.
        ours = await m.submit("VAT in Italy")
        await m.tasks_of(ours, 1)
        # One answered frees a slot.
        [first] = [t for t in m.tasks if t.requestid == rid(held[0], LIMITED_CALLER)]
        await m.reply(first)
        await until(lambda: len(m.others[LIMITED_CALLER]) == 2)
        after = await m.submit("VAT in Spain", caller=LIMITED_CALLER)
        await until(lambda: any(t.requestid == rid(after, LIMITED_CALLER) for t in m.tasks))


async def test_a_caller_whose_response_topic_is_gone_is_dead_lettered_unanswered() -> None:
    settings = SETTINGS.model_copy(update={"create_reply_topics": False})
    async with mesh(settings) as m:

        async def gone(topic: str) -> bool:
            return False

        m.assembly.orchestrator.intake.reply_topic_ready = gone
        request = await m.submit("VAT in Germany")
        await until(lambda: len(m.dead_letters) == 1)
        await m.settled()
        assert m.tasks == []
        assert m.responses_to(request) == []


# --- a remote planner -------------------------------------------------------------------


REMOTE_PLANNED = SETTINGS.model_copy(
    update={
        "planner_remote": RemoteModelSettings.model_validate(
            {
                "base_url": "https://cloud.example/v1",
                "model": "big-model",
                "price_input_per_mtok": 1.0,
                "price_output_per_mtok": 2.0,
            }
        )
    }
)
FR = '{"calls": [{"micromodel": "vat-rates", "arguments": {"country": "FR"}}]}'


def remote_planning(endpoint: PlanningEndpoint) -> RemotePlanning:
    return RemotePlanning(
        RemotePlanner(endpoint, Worker("remote-planner"), max_calls=5),  # type: ignore[arg-type]
        ceiling="public",
    )


async def test_a_public_request_is_planned_by_the_remote_planner_and_its_tokens_priced() -> None:
    endpoint = PlanningEndpoint(FR)
    async with mesh(REMOTE_PLANNED, remote_planner=remote_planning(endpoint)) as m:
        # Rules would plan Germany: the call to France is the remote model's.
        request = await m.submit("VAT in Germany?", classification="public")
        [task] = await m.tasks_of(request, 1)
        assert task.data.micromodel == "vat-rates"
        assert task.data.arguments == {"country": "FR"}
        await m.reply(task)
        data = (await m.response_to(request)).data
    assert data.planner == "remote+big-model@cloud.example"
    assert data.planning is not None
    assert data.planning.model == "big-model@cloud.example"
    assert data.cost is not None
    # 300 prompt tokens at 1.0 and 20 completion tokens at 2.0 per million.
    assert data.cost.by_model["big-model@cloud.example"] == pytest.approx(0.00034)
    assert "VAT in Germany?" in endpoint.asked[0]


@pytest.mark.parametrize(
    ("classification", "text", "why"),
    [
        ("internal", "VAT in Germany?", "may not read this request (internal)"),
        # Public as the caller says, but an email address makes it confidential.
        (
            "public",
            "VAT in Germany? Answer to jane.roe@example.org",
            "may not read this request (confidential)",
        ),
    ],
)
async def test_a_request_the_remote_planner_may_not_read_is_planned_on_premise(
    classification: str, text: str, why: str
) -> None:
    endpoint = PlanningEndpoint(FR)
    async with mesh(REMOTE_PLANNED, remote_planner=remote_planning(endpoint)) as m:
        request = await m.submit(text, classification=classification)
        [task] = await m.tasks_of(request, 1)
        assert task.data.arguments == {"country": "DE"}
        await m.reply(task)
        data = (await m.response_to(request)).data
    assert endpoint.asked == []
    assert data.planner == "rules"
    assert why in data.plan[0]
    assert data.plan[0].endswith("planned on-premise")
    # What was found is said by its kind, never its text.
    assert not any("jane.roe" in step for step in data.plan)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (
            RemoteModelError(
                "remote_unavailable",
                "remote model big-model at cloud.example: could not connect",
                retryable=True,
                attempts=3,
            ),
            "the remote planner failed (remote model big-model at cloud.example: could not "
            "connect): planned on-premise",
        ),
        ("Sure! Here is the plan", "the remote model's answer holds no plan"),
        ('{"calls": []}', "the remote planner planned no call: planned on-premise"),
    ],
    ids=["endpoint-down", "not-json", "no-calls"],
)
async def test_a_request_the_remote_planner_fails_is_planned_on_premise_and_answered(
    answer: str | Exception, why: str
) -> None:
    async with mesh(REMOTE_PLANNED, remote_planner=remote_planning(PlanningEndpoint(answer))) as m:
        request = await m.submit("VAT in Germany?", classification="public")
        [task] = await m.tasks_of(request, 1)
        await m.reply(task)
        data = (await m.response_to(request)).data
    assert data.status == "ok"
    assert data.planner == "rules"
    assert why in data.plan[0]

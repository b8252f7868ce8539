"""Publishing responses: each to its caller's own topic (made ready once), a failed one once
per request.

A response goes to the topic of the caller its scoped id names (callers),
under the caller's own request id, proven to that caller alone (an HMAC:
one reader, microseconds to make and check, where a signature costs the
orchestrator ~50 us and the caller ~110 us). No response goes anywhere else:
the shared responses topic is answered on no more.

A failed response for a request with nothing to gather is claimed under a
lease in Redis, published, then marked answered: a crash in between lets the
lease run out and the redelivered record answers it, and no request id gets
a second failed response.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError
from faststream.kafka import KafkaBroker

from slmesh.orchestrator.callers import Callers, own_request_id, unscope
from slmesh.orchestrator.gather.store import AnswerClaim, GatherStorage
from slmesh.orchestrator.outcomes import failed, too_large, too_large_message
from slmesh.orchestrator.settings import OrchestratorSettings
from slmesh.runtime.kafka import TopicDirectory, ensure_topics
from slmesh.runtime.kafka.publishing import publish_event
from slmesh.runtime.service.metrics import (
    cost_spent,
    remote_call,
    request_answered,
    tokens_spent,
)
from slmesh.runtime.trust import MeshParty
from slmesh.schemas import ErrorInfo, RequestCompleted

logger = logging.getLogger(__name__)

# How often a delivery waits on another that holds the lease to answer the same request.
ANSWER_POLL_S = 0.25


class ReplyTopics:
    """Whether responses can go to a topic: known ones from memory; a caller's own topic
    is created on first use where the settings allow it (development)."""

    def __init__(self, settings: OrchestratorSettings, directory: TopicDirectory) -> None:
        self.settings = settings
        self.directory = directory

    async def ready(self, topic: str) -> bool:
        """Whether responses can go to a caller's own topic (created here in development).

        Without the topic the producer would wait out its metadata timeout for
        a topic that will never appear, stalling this consumer.
        """
        if await self.directory.exists(topic):
            return True
        if not self.settings.reply_topics_created:
            return False
        await ensure_topics(self.settings, [topic])
        self.directory.add(topic)
        return True


class Responder:
    def __init__(
        self,
        settings: OrchestratorSettings,
        broker: KafkaBroker,
        store: GatherStorage,
        reply_topic_ready: Callable[[str], Awaitable[bool]],
        source: str,
        party: MeshParty,
        callers: Callers,
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.store = store
        # Whether responses can go to a topic (ReplyTopics.ready).
        self.reply_topic_ready = reply_topic_ready
        self.source = source
        self.party = party
        self.callers = callers

    async def respond(self, rid: str, response: RequestCompleted) -> bool:
        """Publish a response to the caller of `rid` (a scoped id), on its own topic.

        False, logged, when it cannot go there (the id names no caller, or the
        caller's topic is gone where none is made at run time): it goes
        nowhere else, where others could read it.
        """
        scoped = unscope(rid)
        if scoped is None or self.callers.identity(scoped.caller) is None:
            logger.error("request %s names no caller of the trust file: not answered", rid)
            return False
        topic = self.callers.topic(scoped.caller)
        if not await self.reply_topic_ready(topic):
            logger.error(
                "request %s not answered: caller %s's response topic %s does not exist, and "
                "this mesh creates none at run time (`slmesh topics apply` makes it)",
                rid,
                scoped.caller,
                topic,
            )
            return False
        # Proven to the caller alone: it reads its own topic, and nobody else can make
        # (or would need to check) its answers.
        prove = functools.partial(self.party.prove, to=scoped.caller)
        key = scoped.request_id
        try:
            await publish_event(self.broker, topic, response, key=key, prove=prove)
        except MessageSizeTooLargeError as exc:
            # Retrying would fail the same way: the request fails, saying why.
            message = too_large_message(response, exc)
            logger.error("request %s: %s", rid, message)
            response = too_large(response, message)
            await publish_event(self.broker, topic, response, key=key, prove=prove)
        counted(response, scoped.caller)
        return True

    async def fail_once(
        self,
        rid: str,
        error: ErrorInfo,
        answer: str,
        *,
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
        await self.fail_claimed(rid, error, answer, causation_id=causation_id, **data)
        return True

    async def fail_claimed(
        self,
        rid: str,
        error: ErrorInfo,
        answer: str,
        *,
        causation_id: str | None = None,
        **data: Any,
    ) -> None:
        """The failed response of a request whose answer this replica claimed (fail_once, or
        a refusal the gather store claimed when it refused to open it): published, then
        marked answered."""
        response = failed(self.source, own_request_id(rid), error, answer, causation_id, **data)
        await self.respond(rid, response)
        if not await self.store.answered(rid):
            logger.warning("request %s: failed response sent after its lease ran out", rid)

    async def fail_unclaimed(self, rid: str, error: ErrorInfo, answer: str) -> None:
        """A failed response sent without claiming it: when the claim itself cannot be made."""
        await self.respond(rid, failed(self.source, own_request_id(rid), error, answer))


def counted(response: RequestCompleted, caller: str) -> None:
    """A published response in the metrics: its status, its time, its model's tokens, what
    it cost `caller` by model, and its calls that left the premises."""
    data = response.data
    request_answered(data.status, data.elapsed_ms / 1000)
    if data.cost is not None:
        for model, cost in data.cost.by_model.items():
            cost_spent(model, caller, cost, data.cost.currency)
    for call in data.calls:
        if call.status == "ok" and call.routing is not None and call.routing.locality == "remote":
            remote_call(caller, call.routing.provider or "unnamed")
    for use, work in (("planning", data.planning), ("composing", data.composing)):
        if work is not None:
            tokens_spent(work.model, work.tokens.prompt, work.tokens.completion, use=use)

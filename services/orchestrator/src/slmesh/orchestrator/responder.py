"""Publishing responses: to the requester's topic (made ready once), a failed one once per request.

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

from slmesh.orchestrator.gather.store import AnswerClaim, GatherStorage
from slmesh.orchestrator.outcomes import failed, too_large, too_large_message
from slmesh.orchestrator.settings import OrchestratorSettings
from slmesh.runtime.kafka import TopicDirectory, ensure_topics
from slmesh.runtime.kafka.publishing import publish_event
from slmesh.runtime.service.metrics import request_answered, tokens_spent
from slmesh.runtime.trust import MeshParty
from slmesh.schemas import ErrorInfo, RequestCompleted

logger = logging.getLogger(__name__)

# How often a delivery waits on another that holds the lease to answer the same request.
ANSWER_POLL_S = 0.25


class ReplyTopics:
    """Whether responses can go to a topic: known ones from memory; a requester's own
    topic is created on first use where the settings allow it (development)."""

    def __init__(self, settings: OrchestratorSettings, directory: TopicDirectory) -> None:
        self.settings = settings
        self.directory = directory

    async def ready(self, topic: str) -> bool:
        """Whether responses can go to a requester's own topic (created here in development).

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
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.store = store
        # Whether responses can go to a topic (ReplyTopics.ready).
        self.reply_topic_ready = reply_topic_ready
        self.source = source
        # Responses are signed: any caller checks them against the orchestrator's public key,
        # and none can make one.
        self._prove = functools.partial(party.prove, to=None)

    async def respond(self, topic: str, response: RequestCompleted) -> None:
        """Publish a response; a requester's own topic was made ready when the request came."""
        if not await self.reply_topic_ready(topic):
            # Gone since: the answer goes where every requester can find it.
            logger.error(
                "reply topic %s is gone; request %s answered on %s",
                topic,
                response.requestid,
                self.settings.responses_topic,
            )
            topic = self.settings.responses_topic
        try:
            await publish_event(
                self.broker, topic, response, key=response.requestid, prove=self._prove
            )
        except MessageSizeTooLargeError as exc:
            # Retrying would fail the same way: the request fails, saying why.
            message = too_large_message(response, exc)
            logger.error("request %s: %s", response.requestid, message)
            response = too_large(response, message)
            await publish_event(
                self.broker, topic, response, key=response.requestid, prove=self._prove
            )
        counted(response)

    async def fail_once(
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
        response = failed(self.source, rid, error, answer, causation_id, **data)
        await self.respond(topic or self.settings.responses_topic, response)
        if not await self.store.answered(rid):
            logger.warning("request %s: failed response sent after its lease ran out", rid)
        return True

    async def fail_unclaimed(
        self, rid: str, error: ErrorInfo, answer: str, *, topic: str | None = None
    ) -> None:
        """A failed response sent without claiming it: when the claim itself cannot be made."""
        await self.respond(
            topic or self.settings.responses_topic, failed(self.source, rid, error, answer)
        )


def counted(response: RequestCompleted) -> None:
    """A published response in the metrics: its status, its time, its model's tokens."""
    data = response.data
    request_answered(data.status, data.elapsed_ms / 1000)
    for use, work in (("planning", data.planning), ("composing", data.composing)):
        if work is not None:
            tokens_spent(work.model, work.tokens.prompt, work.tokens.completion, use=use)

"""The orchestrator: requests in, one task per planned call out, replies gathered, one answer.

It keeps no request state in memory: the gather state is in Redis, so
replicas share one stream of requests and replies and any of them may
finish any request.

This module is the orchestrator's face: `Orchestrator`, its entry points,
each handed to the module of its verb (intake, completion, sweeper,
dispatch). The composition root (app) builds it and everything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiokafka.structs import ConsumerRecord

if TYPE_CHECKING:
    from slmesh.orchestrator.completion import Completion
    from slmesh.orchestrator.dispatch import Outstanding
    from slmesh.orchestrator.intake import Intake
    from slmesh.orchestrator.sweeper import Sweeper

__all__ = ["Orchestrator"]


class Orchestrator:
    """The entry points the consumers, the sweeper task and the fetch pace call."""

    def __init__(
        self, intake: Intake, completion: Completion, sweeper: Sweeper, outstanding: Outstanding
    ) -> None:
        self.intake = intake
        self.completion = completion
        self.sweeper = sweeper
        self.outstanding = outstanding

    async def on_request(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Plan, open the gather state, dispatch the tasks (or answer the error)."""
        await self.intake.on_request(record)

    async def give_up_request(
        self, record: ConsumerRecord[bytes, bytes], error: Exception, attempts: int
    ) -> None:
        """A request record whose handling kept failing: dead letter and failed response."""
        await self.intake.give_up(record, error, attempts)

    async def on_reply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Gather a reply; answer the request when it was the last one."""
        await self.completion.on_reply(record)

    async def give_up_reply(
        self, record: ConsumerRecord[bytes, bytes], error: Exception, attempts: int
    ) -> None:
        """A reply that could not be gathered: dead-lettered; its request answered at once."""
        await self.completion.give_up(record, error, attempts)

    async def sweep_forever(self) -> None:
        """Answer requests whose deadline passed, whichever replica started them."""
        await self.sweeper.sweep_forever()

    def awaits_replies(self) -> bool:
        """Whether replies to this replica's calls are still to come (its consumers stay fast)."""
        return self.outstanding.awaited()

"""Which recorded requests the orchestrator no longer remembers answering. Pure, but for the
setting that says how long it remembers.

The orchestrator answers a request id once because its gather state (in Redis)
says it did; that state lives `SLMESH_GATHER_TTL_S` (3600 s by default) past
the request's deadline, so at least that long past the request's record. A
request republished as it was after that is a new request to it, and its
answer goes to the original caller a second time. So `slmesh replay` tells
such requests apart before it publishes anything, by the record's timestamp.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import Field

from slmesh.cli.records import Seen, type_matches
from slmesh.runtime.settings import MeshSettings

DEFAULT_GATHER_TTL_S = 3600
# A request within this much of its state's end counts as past it: the replay reaches
# the orchestrator after this check, behind whatever its consumers have yet to read.
MARGIN = timedelta(seconds=60)


class ReplaySettings(MeshSettings):
    """The mesh's settings, and the orchestrator's one that says how long it remembers."""

    gather_ttl_s: int = Field(
        default=DEFAULT_GATHER_TTL_S,
        ge=60,
        description="The orchestrator's: how long finished requests are remembered.",
    )


def past_gather_state(seen: Seen, *, now: datetime, ttl_s: int) -> bool:
    """Whether the orchestrator may have forgotten the request of this record by now."""
    return now - seen.time >= timedelta(seconds=ttl_s) - MARGIN


def expired_requests(
    records: Iterable[Seen],
    *,
    now: datetime,
    ttl_s: int,
    requests_topic: str,
    to_topic: str | None = None,
) -> list[Seen]:
    """The requests among `records` that a republish (to their own topic, or `to_topic`)
    would put before the orchestrator after it forgot them."""
    return [
        seen
        for seen in records
        if (to_topic or seen.topic) == requests_topic
        and type_matches(seen, "RequestSubmitted")
        and past_gather_state(seen, now=now, ttl_s=ttl_s)
    ]

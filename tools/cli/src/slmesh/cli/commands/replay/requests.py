"""Requests replayed under new request ids (`--as-new`), and each new answer beside the
recorded one (`--compare`).

A request republished as it was is answered once only (the orchestrator
answers a request id once): under a new request id the mesh answers it afresh.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from slmesh.cli.commands.replay.republishing import (
    REPLAY,
    REPLAY_OF,
    REPLAY_SOURCE,
    Progress,
    as_new_request,
    compare,
)
from slmesh.cli.exits import NO_RESPONSE
from slmesh.cli.records import Seen, read_to_end, type_matches
from slmesh.runtime.client import MeshClient
from slmesh.runtime.settings import MeshSettings


async def replay_requests(
    settings: MeshSettings,
    records: Sequence[Seen],
    progress: Progress,
    *,
    compare_s: float | None = None,
) -> int:
    """Each request again under a new id; with `compare_s`, its answer (awaited that many
    seconds) beside the original."""
    code = 0
    async with MeshClient(settings, source="/slmesh/cli/replay") as client:
        for seen in records:
            new_id, body = as_new_request(seen)
            pending = client.expect(new_id) if compare_s is not None else None
            source = f"{seen.topic}/{seen.partition}/{seen.offset}".encode()
            await client.send_raw(
                body,
                key=new_id,
                headers=[
                    (REPLAY, b"true"),
                    (REPLAY_SOURCE, source),
                    (REPLAY_OF, (seen.request_id or "").encode()),
                ],
            )
            progress.step()
            print(f"replayed {seen.request_id} as {new_id}")
            if pending is None:
                continue
            try:
                response = await asyncio.wait_for(pending, compare_s)
            except TimeoutError:
                print(f"no response to {new_id} within {compare_s:g} s", file=sys.stderr)
                code = NO_RESPONSE
                continue
            original = await original_response(settings, seen)
            print(compare(original, response.data.model_dump(mode="json")))
    return code


async def original_response(settings: MeshSettings, request: Seen) -> dict[str, Any] | None:
    """The recorded answer to a request: on the responses topic, or its own reply topic."""
    topics = [settings.responses_topic]
    reply_topic = request.data.get("reply_topic")
    if isinstance(reply_topic, str) and reply_topic != settings.responses_topic:
        topics.append(reply_topic)
    async for seen in read_to_end(settings, topics):
        if seen.request_id == request.request_id and type_matches(seen, "RequestCompleted"):
            return seen.data
    return None

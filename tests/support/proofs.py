"""Records proven as any identity of the suite's keyring (tests/conftest.py makes it), and
registry cards to prove.

A test that puts a record on a topic in a service's place — a task as the
orchestrator would send it, a reply as a micromodel would — proves it with
that identity's key, as the service would; a test of a forgery proves it
with the wrong key, or not at all.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord

from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import MeshParty, SecretKey, TrustPolicy, key_path, trust_path
from slmesh.schemas import CONTENT_TYPE, MicromodelAnnounced, encode

ORCHESTRATOR = "orchestrator"

Headers = list[tuple[str, bytes]]
STRUCTURED: Headers = [("content-type", CONTENT_TYPE.encode())]


def keyring() -> Path:
    """The suite's keyring: every process and client of the tests reads it from here."""
    return Path(os.environ["SLMESH_KEYRING_DIR"])


@functools.cache
def party(identity: str) -> MeshParty:
    """`identity` of the suite's trust file, holding its own secret."""
    directory = keyring()
    secret = SecretKey.from_text(key_path(directory, identity).read_text())
    return MeshParty(identity, secret, TrustPolicy.load(trust_path(directory)))


def owner_of(micromodel: str) -> str:
    """The identity that serves `micromodel` in the suite's trust file."""
    owner = party(ORCHESTRATOR).policy.owner_of(micromodel)
    assert owner is not None, f"no identity of the suite's keyring serves {micromodel!r}"
    return owner


def _key(key: str | bytes | None) -> bytes | None:
    return key.encode() if isinstance(key, str) else key


def proven(
    identity: str,
    topic: str,
    key: str | bytes | None,
    value: bytes,
    *,
    to: str | None,
    headers: Sequence[tuple[str, bytes]] = STRUCTURED,
) -> Headers:
    """`headers` with the proof that `identity` wrote the record for `to` (None: signed, for
    anyone) on `topic`."""
    proof = party(identity).prove(topic, _key(key), value, to=to, headers=headers)
    return [*headers, *proof]


def task_headers(
    settings: MeshSettings,
    micromodel: str,
    key: str | bytes | None,
    value: bytes,
    *,
    headers: Sequence[tuple[str, bytes]] = STRUCTURED,
    signer: str = ORCHESTRATOR,
) -> Headers:
    """The headers of a task record on `micromodel`'s topic, proven by `signer` (the
    orchestrator, unless a test forges it) for the micromodel's owner."""
    topic = settings.task_topic(micromodel)
    return proven(signer, topic, key, value, to=owner_of(micromodel), headers=headers)


def reply_headers(
    settings: MeshSettings,
    signer: str,
    key: str | bytes | None,
    value: bytes,
    *,
    headers: Sequence[tuple[str, bytes]] = STRUCTURED,
) -> Headers:
    """The headers of a reply record on the replies topic, proven by `signer` (a micromodel's
    identity, unless a test forges it) for the orchestrator."""
    return proven(signer, settings.replies_topic, key, value, to=ORCHESTRATOR, headers=headers)


def card(
    name: str,
    replica: str,
    *,
    status: str = "up",
    time: datetime | None = None,
    heartbeat_s: float = 1.0,
    description: str = "A micromodel of the tests.",
    input_schema: dict[str, Any] | None = None,
    output_schema: dict[str, Any] | None = None,
    **placement: Any,
) -> MicromodelAnnounced:
    """A registry card as a replica of `name` announces it (its time: now, unless given);
    `placement`: where it says it runs (locality, provider, serves, price, ...)."""
    event = MicromodelAnnounced.create(
        data={
            "name": name,
            "version": "0.0.1",
            "description": description,
            "input_schema": input_schema
            or {
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
                "additionalProperties": False,
            },
            "output_schema": output_schema or {"type": "object"},
            "topic": f"slmesh.tasks.{name}",
            "model": "deterministic",
            "replica": replica,
            "status": status,
            "heartbeat_s": heartbeat_s,
            **placement,
        },
        source=f"/slmesh/{name}/{replica}",
        request_id="registry",
    )
    return event if time is None else event.model_copy(update={"time": time.astimezone(UTC)})


def card_key(event: MicromodelAnnounced) -> str:
    return f"{event.data.name}/{event.data.replica}"


def card_record(
    event: MicromodelAnnounced, *, at: datetime | None = None, by: str | None = None
) -> ConsumerRecord[bytes, bytes]:
    """A registry card as the catalogue reads it: the broker's time `at` (now), proven by
    identity `by` (None: unproven)."""
    topic = MeshSettings().registry_topic
    key, value = card_key(event), encode(event)
    headers = proven(by, topic, key, value, to=None) if by else []
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=0,
        timestamp=int((at or datetime.now(UTC)).timestamp() * 1000),
        timestamp_type=1,
        key=key.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(key),
        serialized_value_size=len(value),
        headers=headers,
    )

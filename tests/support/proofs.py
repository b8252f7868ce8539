"""Records proven as an identity of the suite's keyring, and registry cards to prove.

The tests that put records on the mesh's topics by hand (registry cards, and
any other record a service now checks) prove them as the suite's identities
(`tests/conftest.py` makes the keyring; fixture `keyring`), or leave them
unproven on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slmesh.runtime.trust import MeshParty, SecretKey, TrustPolicy, key_path, trust_path
from slmesh.schemas import CONTENT_TYPE, MicromodelAnnounced


def party_as(keyring: Path, identity: str) -> MeshParty:
    """`identity` of the keyring, with its secret: it proves what it writes as that one."""
    policy = TrustPolicy.load(trust_path(keyring))
    return MeshParty(identity, SecretKey.from_text(key_path(keyring, identity).read_text()), policy)


def proven_headers(
    keyring: Path,
    identity: str,
    topic: str,
    key: str | None,
    value: bytes,
    *,
    to: str | None = None,
) -> list[tuple[str, bytes]]:
    """A structured record's headers, with the proof of `identity` (signed when `to` is None,
    else for `to` alone)."""
    proof = party_as(keyring, identity).prove(
        topic, key.encode() if key is not None else None, value, to=to
    )
    return [("content-type", CONTENT_TYPE.encode()), *proof]


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
) -> MicromodelAnnounced:
    """A registry card as a replica of `name` announces it (its time: now, unless given)."""
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
        },
        source=f"/slmesh/{name}/{replica}",
        request_id="registry",
    )
    return event if time is None else event.model_copy(update={"time": time.astimezone(UTC)})


def card_key(event: MicromodelAnnounced) -> str:
    return f"{event.data.name}/{event.data.replica}"

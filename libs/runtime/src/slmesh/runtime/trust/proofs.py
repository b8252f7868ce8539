"""Proofs on records: who wrote a record, checked by whoever reads it.

Kafka records carry no producer identity, and the embedded broker enforces
no ACL, so a record proves its origin itself, in two headers:

- `slmesh-signer`: the identity that wrote it (a name in the trust file);
- `slmesh-proof`: `mac:<base64>` — an HMAC-SHA256 under the secret the signer
  shares with the one identity it wrote for (`keys.SecretKey.pair_secret`),
  or `sig:<base64>` — an Ed25519 signature anyone holding the trust file can
  check (registry cards, read by every orchestrator replica and the CLI).

What is proven is the topic the record was written for, its key, its value
and its CloudEvents `ce_*` headers (the binary content mode's attributes), so
a proven record moved to another topic, re-keyed or edited proves nothing.
The names of both ends are proven too: a pairwise proof cannot be reflected
back to its writer as if the other end had written it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from slmesh.runtime.trust.keys import SecretKey
from slmesh.runtime.trust.policy import Identity, Role, TrustPolicy

SIGNER_HEADER = "slmesh-signer"
PROOF_HEADER = "slmesh-proof"
_DOMAIN = b"slmesh-proof/v1"
_CE_PREFIX = "ce_"

HeaderValue = str | bytes | None
Headers = Iterable[tuple[str, HeaderValue]]


class Unproven(Exception):
    """A record whose origin is not proven; `reason` says why, in words for a dead letter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _part(raw: bytes) -> bytes:
    return len(raw).to_bytes(4, "big") + raw


def _bytes(value: HeaderValue) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else value.encode()


def proven_bytes(
    *,
    kind: Literal["mac", "sig"],
    signer: str,
    recipient: str,
    topic: str,
    key: bytes | None,
    value: bytes,
    headers: Headers = (),
) -> bytes:
    """The exact bytes a proof covers; every part length-prefixed, so none can bleed."""
    attributes = sorted(
        (name.lower(), _bytes(raw)) for name, raw in headers if name.lower().startswith(_CE_PREFIX)
    )
    parts = [_DOMAIN, kind.encode(), signer.encode(), recipient.encode(), topic.encode()]
    parts += [key or b"", value]
    for name, raw in attributes:
        parts += [name.encode(), raw]
    return b"".join(_part(p) for p in parts)


@dataclass(frozen=True)
class Proven:
    """Who proved a record, and what the trust file says of them."""

    name: str
    identity: Identity

    @property
    def role(self) -> Role:
        return self.identity.role


class MeshParty:
    """This process in the mesh: its identity, its secret, and the trust file.

    It proves what it writes and checks what it reads.
    """

    def __init__(self, name: str, secret: SecretKey, policy: TrustPolicy) -> None:
        own = policy.get(name)
        if own is None:
            raise ValueError(f"identity {name!r} is not in the trust file")
        if own.keys != secret.public:
            raise ValueError(
                f"the signing key given is not {name!r}'s: its public keys differ from the "
                "trust file's"
            )
        self.name = name
        self.identity = own
        self.policy = policy
        self._secret = secret

    def __repr__(self) -> str:
        return f"MeshParty({self.name!r}, role={self.identity.role!r})"

    # --- writing --------------------------------------------------------------

    def prove(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        *,
        to: str | None,
        headers: Headers = (),
    ) -> list[tuple[str, bytes]]:
        """The headers proving a record: for `to` alone (an HMAC), or to anyone (None: signed)."""
        if to is None:
            message = proven_bytes(
                kind="sig",
                signer=self.name,
                recipient="",
                topic=topic,
                key=key,
                value=value,
                headers=headers,
            )
            proof = b"sig:" + base64.b64encode(self._secret.sign(message))
        else:
            peer = self.policy.get(to)
            if peer is None:
                raise ValueError(f"no identity {to!r} in the trust file to write for")
            message = proven_bytes(
                kind="mac",
                signer=self.name,
                recipient=to,
                topic=topic,
                key=key,
                value=value,
                headers=headers,
            )
            secret = self._secret.pair_secret(self.name, to, peer.keys)
            proof = b"mac:" + base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest())
        return [(SIGNER_HEADER, self.name.encode()), (PROOF_HEADER, proof)]

    # --- reading --------------------------------------------------------------

    def check(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, HeaderValue]] | None,
        *,
        roles: Iterable[Role],
    ) -> Proven:
        """Who wrote a record read from (or written for) `topic`; raises Unproven.

        `roles`: the roles whose records are believed here (a reply must come
        from a micromodel, a request from a caller).
        """
        signer = proof = None
        for name, raw in headers or ():
            lowered = name.lower()
            if lowered == SIGNER_HEADER:
                signer = _bytes(raw)
            elif lowered == PROOF_HEADER:
                proof = _bytes(raw)
        if signer is None or proof is None:
            raise Unproven("the record carries no proof of its writer (slmesh-signer/-proof)")
        try:
            name = signer.decode()
        except UnicodeDecodeError:
            raise Unproven("the record's signer is not a name") from None
        identity = self.policy.get(name)
        if identity is None:
            raise Unproven(f"the record's signer {name[:64]!r} is not in the trust file")
        allowed = tuple(roles)
        if identity.role not in allowed:
            raise Unproven(
                f"the record's signer {name!r} is a {identity.role}; "
                f"only a {' or '.join(allowed)} writes here"
            )
        kind, _, encoded = proof.partition(b":")
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise Unproven("the record's proof is not base64") from None
        if kind == b"mac":
            message = proven_bytes(
                kind="mac",
                signer=name,
                recipient=self.name,
                topic=topic,
                key=key,
                value=value or b"",
                headers=headers or (),
            )
            secret = self._secret.pair_secret(self.name, name, identity.keys)
            expected = hmac.new(secret, message, hashlib.sha256).digest()
            if not hmac.compare_digest(expected, given):
                raise Unproven(
                    f"the record's proof does not match: not written by {name!r} for "
                    f"{self.name!r} on {topic}, or altered since"
                )
        elif kind == b"sig":
            message = proven_bytes(
                kind="sig",
                signer=name,
                recipient="",
                topic=topic,
                key=key,
                value=value or b"",
                headers=headers or (),
            )
            if not identity.keys.verify(given, message):
                raise Unproven(
                    f"the record's signature does not match: not written by {name!r} on "
                    f"{topic}, or altered since"
                )
        else:
            raise Unproven("the record's proof is of no known kind (mac: or sig:)")
        return Proven(name, identity)

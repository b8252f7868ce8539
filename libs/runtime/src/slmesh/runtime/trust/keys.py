"""An identity's secret: one 32-byte seed, two keys derived from it.

The Ed25519 key signs what many read (registry cards). The X25519 key agrees a
pairwise secret with each party it talks to (static-static Diffie-Hellman):
the orchestrator and one micromodel, or the orchestrator and one caller, prove
their records to each other with an HMAC under that secret. An HMAC costs
microseconds where an Ed25519 verification costs ~110 us, and a fan-out of
27 calls proves 54 records; only the two ends of a pair can make one.

Both public keys go into the operator's trust file; the seed stays in the
identity's own secret (a file or a variable), never anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SEED_BYTES = 32
# Domain separation: the exchange key is not the signing key's seed reused.
_EXCHANGE_LABEL = b"slmesh/x25519/v1"
_PAIR_LABEL = b"slmesh/pair/v1"


class KeyUnreadable(ValueError):
    """A key that cannot be read; the message never quotes the key."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str, what: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (ValueError, TypeError) as exc:
        raise KeyUnreadable(f"{what} is not base64") from exc
    if len(raw) != size:
        raise KeyUnreadable(f"{what} must be {size} bytes, not {len(raw)}")
    return raw


def new_seed_text() -> str:
    """A fresh identity secret, as kept in a key file."""
    return _b64(secrets.token_bytes(SEED_BYTES))


@dataclass(frozen=True)
class PublicKeys:
    """What the trust file says of an identity: its two public keys."""

    signing: str
    exchange: str

    @cached_property
    def verifier(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(_unb64(self.signing, "signing key", 32))

    @cached_property
    def exchanger(self) -> X25519PublicKey:
        return X25519PublicKey.from_public_bytes(_unb64(self.exchange, "exchange key", 32))

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self.verifier.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SecretKey:
    """An identity's seed; `repr` never shows it."""

    seed: bytes = field(repr=False)
    _pairs: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_text(cls, text: str) -> SecretKey:
        return cls(_unb64(text, "signing key", SEED_BYTES))

    @classmethod
    def generate(cls) -> SecretKey:
        return cls(secrets.token_bytes(SEED_BYTES))

    def text(self) -> str:
        return _b64(self.seed)

    @cached_property
    def _signer(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @cached_property
    def _exchanger(self) -> X25519PrivateKey:
        derived = hashlib.sha256(_EXCHANGE_LABEL + self.seed).digest()
        return X25519PrivateKey.from_private_bytes(derived)

    @cached_property
    def public(self) -> PublicKeys:
        raw = Encoding.Raw
        fmt = PublicFormat.Raw
        return PublicKeys(
            signing=_b64(self._signer.public_key().public_bytes(raw, fmt)),
            exchange=_b64(self._exchanger.public_key().public_bytes(raw, fmt)),
        )

    def sign(self, message: bytes) -> bytes:
        return self._signer.sign(message)

    def pair_secret(self, own: str, peer: str, peer_keys: PublicKeys) -> bytes:
        """The secret this identity shares with `peer` alone (both derive the same)."""
        cached = self._pairs.get(peer)
        if cached is None:
            shared = self._exchanger.exchange(peer_keys.exchanger)
            # Both ends order the two names the same way.
            names = "\x00".join(sorted((own, peer))).encode()
            cached = hmac.new(shared, _PAIR_LABEL + names, hashlib.sha256).digest()
            self._pairs[peer] = cached
        return cached

"""A keyring: a trust file and the secrets of the identities it names, in one folder.

What `slmesh dev` and the test suite make for a mesh on one machine: every
identity's secret beside the trust file, so each process it starts is handed
its own. In production there is no keyring: the trust file is public
configuration and each service is given its own secret alone (a Secret per
service); `slmesh trust` makes both.

Layout: `<dir>/trust.json` and `<dir>/keys/<identity>.key` (mode 0600).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from slmesh.runtime.trust.keys import SecretKey
from slmesh.runtime.trust.policy import ANY_MICROMODEL, Identity, Role, TrustPolicy

TRUST_FILE = "trust.json"
KEYS_DIR = "keys"


@dataclass(frozen=True)
class Member:
    """An identity a keyring should hold."""

    name: str
    role: Role
    serves: tuple[str, ...] = ()
    may_call: tuple[str, ...] = field(default=())
    max_in_flight: int | None = None


def key_path(directory: Path, name: str) -> Path:
    return directory / KEYS_DIR / f"{name}.key"


def trust_path(directory: Path) -> Path:
    return directory / TRUST_FILE


def ensure_keyring(directory: Path, members: Iterable[Member]) -> TrustPolicy:
    """The keyring at `directory` holding at least `members`: made, or extended.

    Existing identities keep their keys and entries (a running mesh's processes
    hold them); new ones are added with fresh keys.
    """
    path = trust_path(directory)
    current = TrustPolicy.load(path) if path.exists() else None
    identities: dict[str, Identity] = dict(current.identities) if current else {}
    added = False
    for member in members:
        if member.name in identities and key_path(directory, member.name).exists():
            continue
        secret = SecretKey.generate()
        write_secret(key_path(directory, member.name), secret)
        public = secret.public
        identities[member.name] = Identity(
            role=member.role,
            signing_key=public.signing,
            exchange_key=public.exchange,
            serves=list(member.serves),
            may_call=list(member.may_call),
            max_in_flight=member.max_in_flight,
        )
        added = True
    policy = TrustPolicy(identities=identities)
    if added or current is None:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(policy.model_dump_json(indent=2, exclude_none=True) + "\n")
        tmp.replace(path)
    return policy


def write_secret(path: Path, secret: SecretKey, *, exclusive: bool = False) -> None:
    """An identity's secret in a file only its owner can read (0600); `exclusive`: never
    over an existing file (FileExistsError)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret.text() + "\n")


def dev_members(micromodels: Iterable[str], *, callers: Iterable[str] = ("dev",)) -> list[Member]:
    """The identities of a dev mesh: the orchestrator, one per micromodel, callers
    that may call anything, and the operator (the CLI's own)."""
    return [
        Member("orchestrator", "orchestrator"),
        *(Member(name, "micromodel", serves=(name,)) for name in micromodels),
        *(Member(name, "caller", may_call=(ANY_MICROMODEL,)) for name in callers),
        Member("operator", "operator"),
    ]

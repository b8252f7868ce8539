"""This process's party from its settings: which trust file, which identity, which secret.

Resolved in this order, each naming the setting that gives it:
- the trust file: SLMESH_TRUST_FILE, else `trust.json` in SLMESH_KEYRING_DIR;
- the identity: SLMESH_IDENTITY, else the service's own name;
- its secret: SLMESH_SIGNING_KEY, else SLMESH_SIGNING_KEY_FILE, else
  `keys/<identity>.key` in SLMESH_KEYRING_DIR.

In dev with none of them set, the keyring is the per-user dev keyring
(`default_dev_keyring`), which `slmesh dev` fills. Without a trust file and a
secret a service does not start: a mesh that believes unproven records is the
hole this closes, so there is no "off".
"""

from __future__ import annotations

import os
from pathlib import Path

from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust.keyring import key_path, trust_path
from slmesh.runtime.trust.keys import KeyUnreadable, SecretKey
from slmesh.runtime.trust.policy import TrustFileError, TrustPolicy
from slmesh.runtime.trust.proofs import MeshParty


class TrustUnavailable(RuntimeError):
    """No usable identity for this process; the message names the settings to set."""


def default_dev_keyring() -> Path:
    """Where `slmesh dev` keeps the dev mesh's keyring, per user (not a cache: its keys
    are the dev mesh's identities, reused from run to run)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "slmesh" / "dev-keyring"


def keyring_of(settings: MeshSettings) -> Path | None:
    if settings.keyring_dir is not None:
        return settings.keyring_dir
    return default_dev_keyring() if settings.deployment == "dev" else None


def load_policy(settings: MeshSettings) -> TrustPolicy:
    keyring = keyring_of(settings)
    path = settings.trust_file or (trust_path(keyring) if keyring is not None else None)
    if path is None:
        raise TrustUnavailable(
            "no trust file: set SLMESH_TRUST_FILE (or SLMESH_KEYRING_DIR); "
            "`slmesh trust add` makes one"
        )
    if not path.exists():
        # The path is not quoted: a secret set in the wrong variable would be.
        given = "SLMESH_TRUST_FILE" if settings.trust_file is not None else "the keyring"
        raise TrustUnavailable(
            f"no trust file where {given} says (SLMESH_TRUST_FILE / SLMESH_KEYRING_DIR); "
            "`slmesh dev` makes the dev keyring, `slmesh trust add` a production one"
        )
    try:
        return TrustPolicy.load(path)
    except TrustFileError as exc:
        raise TrustUnavailable(str(exc)) from None


def _secret(settings: MeshSettings, identity: str) -> SecretKey:
    try:
        if settings.signing_key is not None:
            return SecretKey.from_text(settings.signing_key.get_secret_value())
        keyring = keyring_of(settings)
        path = settings.signing_key_file or (
            key_path(keyring, identity) if keyring is not None else None
        )
        if path is None or not path.exists():
            where = (
                "none is set"
                if path is None
                else "no file where "
                + ("SLMESH_SIGNING_KEY_FILE" if settings.signing_key_file else "the keyring")
                + " says"
            )
            raise TrustUnavailable(
                f"no signing key for identity {identity!r} ({where}): set "
                "SLMESH_SIGNING_KEY_FILE (or SLMESH_SIGNING_KEY, or SLMESH_KEYRING_DIR)"
            )
        return SecretKey.from_text(path.read_text())
    except KeyUnreadable as exc:
        # The key's text never goes into the message, only what is wrong with it.
        raise TrustUnavailable(f"the signing key of {identity!r} is unusable: {exc}") from None


def mesh_party(settings: MeshSettings, default_identity: str) -> MeshParty:
    """This process's party; raises TrustUnavailable saying what to set."""
    policy = load_policy(settings)
    identity = settings.identity or default_identity
    secret = _secret(settings, identity)
    try:
        policy.orchestrator  # noqa: B018 (every party proves to, or is, the orchestrator)
        return MeshParty(identity, secret, policy)
    except ValueError as exc:
        raise TrustUnavailable(str(exc)) from None

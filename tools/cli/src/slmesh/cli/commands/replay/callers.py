"""Whose request a replay is: the caller that proved the recorded one, and the party the
replay proves the new request as.

A request is the caller's word (headers `slmesh-signer` and `slmesh-proof`,
slmesh.runtime.trust), and the orchestrator answers a caller on its own response
topic alone. A request replayed under a new request id is a new record, so it
needs a new proof by the same caller, which only a holder of that caller's
secret can make (in dev the keyring holds every identity's). Before the CLI
lends a caller's name to a new request, the recorded one must prove that caller
wrote it: a header naming a caller is anyone's writing, its proof is not. A
request that names no caller, names one the trust file does not have as a
caller, or whose proof does not hold, is not replayed as new; nor is one whose
caller's secret the CLI does not hold.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from slmesh.cli.records import Seen
from slmesh.runtime.kafka import ensure_topics, list_topics
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import (
    PROOF_HEADER,
    SIGNER_HEADER,
    MeshParty,
    TrustUnavailable,
    is_identity,
    load_policy,
    mesh_party,
    response_topic,
)

_CE_PREFIX = "ce_"


class NotReplayable(Exception):
    """A recorded request that cannot be replayed as its caller's; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def header(seen: Seen, name: str) -> str | None:
    """A header of the record, by name in any case (Kafka keeps the producer's case)."""
    return next((v for k, v in seen.headers.items() if k.lower() == name), None)


@dataclass(frozen=True)
class Vouched:
    """A recorded request, and the party of the caller whose proof it carries."""

    seen: Seen
    party: MeshParty

    @property
    def caller(self) -> str:
        return self.party.name


class Callers:
    """The parties of the callers whose requests are replayed, each loaded once."""

    def __init__(self, settings: MeshSettings) -> None:
        self._settings = settings
        self._parties: dict[str, MeshParty | NotReplayable] = {}

    def vouch(self, seen: Seen) -> Vouched:
        """The request with its caller's party; raises NotReplayable."""
        if seen.topic != self._settings.requests_topic:
            # A proof holds on the topic it was made for: a request copied elsewhere (a
            # dead letter, say) is no caller's request.
            raise NotReplayable(f"it was recorded on {seen.topic}, not the requests topic")
        signer = header(seen, SIGNER_HEADER)
        if signer is None:
            raise NotReplayable(
                f"it names no caller (no {SIGNER_HEADER} header): a request replayed as new "
                "is proven by and answered to the caller of the original"
            )
        if not is_identity(signer):
            raise NotReplayable(f"its {SIGNER_HEADER} header is no identity name")
        party = self._party(signer)
        if not original_proof_holds(party, seen):
            raise NotReplayable(
                f"its proof does not hold for caller {signer!r}: the request is not "
                f"{signer!r}'s to replay"
            )
        return Vouched(seen, party)

    def _party(self, caller: str) -> MeshParty:
        known = self._parties.get(caller)
        if known is None:
            try:
                known = _caller_party(self._settings, caller)
            except NotReplayable as refused:
                known = refused
            self._parties[caller] = known
        if isinstance(known, NotReplayable):
            raise known
        return known


def _caller_party(settings: MeshSettings, caller: str) -> MeshParty:
    try:
        policy = load_policy(settings)
    except TrustUnavailable as exc:
        raise NotReplayable(f"no trust file to know its caller by: {exc}") from None
    identity = policy.get(caller)
    if identity is None:
        raise NotReplayable(f"its signer {caller!r} is not in the trust file")
    if identity.role != "caller":
        raise NotReplayable(f"its signer {caller!r} is a {identity.role}, not a caller")
    try:
        # The caller's own identity, whatever this process's is (an operator's).
        return mesh_party(settings.model_copy(update={"identity": caller}), caller)
    except TrustUnavailable as exc:
        raise NotReplayable(
            f"replay --as-new needs the secret of caller {caller!r}: set "
            f"SLMESH_SIGNING_KEY_FILE to its key file (or SLMESH_KEYRING_DIR to a keyring "
            f"holding it); {exc}"
        ) from None


def original_proof_holds(party: MeshParty, seen: Seen) -> bool:
    """Whether the recorded request carries `party`'s proof for its topic, key and value.

    Made again and compared: a caller's proof for the orchestrator is an HMAC under
    the secret the two share, and a signature is Ed25519's, deterministic; either
    is the same bytes when made again over the same record.
    """
    proof = header(seen, PROOF_HEADER)
    if proof is None:
        return False
    kind = proof.partition(":")[0]
    if kind not in ("mac", "sig"):
        return False
    attributes = [(k, v) for k, v in seen.headers.items() if k.lower().startswith(_CE_PREFIX)]
    expected = party.prove(
        seen.topic,
        seen.key.encode() if seen.key is not None else None,
        seen.value,
        to=party.policy.orchestrator if kind == "mac" else None,
        headers=attributes,
    )
    made = dict(expected)[PROOF_HEADER]
    return hmac.compare_digest(made, proof.encode())


@dataclass(frozen=True)
class Refused:
    """A recorded request not replayed as new, and why."""

    seen: Seen
    reason: str


async def vouch_requests(
    settings: MeshSettings, records: Sequence[Seen]
) -> tuple[list[Vouched], list[Refused]]:
    """Each request with its caller's party, or why it is not replayed; its caller's
    response topic is there (made in dev, where processes make what they need)."""
    callers = Callers(settings)
    vouched: list[Vouched] = []
    refused: list[Refused] = []
    for seen in records:
        try:
            vouched.append(callers.vouch(seen))
        except NotReplayable as exc:
            refused.append(Refused(seen, exc.reason))
    missing: set[str] = set()
    if vouched:
        missing = {caller_topic(settings, v) for v in vouched} - await list_topics(settings)
    # Made where processes make what they need (dev), as the orchestrator would; in
    # production, never by a replay.
    if missing and settings.deployment == "dev" and settings.topics_created_here:
        await ensure_topics(settings, sorted(missing))
        missing = set()
    refused += [
        Refused(
            v.seen,
            f"its caller's response topic {caller_topic(settings, v)} does not exist, and "
            "a replay is answered there alone",
        )
        for v in vouched
        if caller_topic(settings, v) in missing
    ]
    return [v for v in vouched if caller_topic(settings, v) not in missing], refused


def caller_topic(settings: MeshSettings, vouched: Vouched) -> str:
    """Where the orchestrator answers the caller of a vouched request, and nowhere else."""
    return response_topic(settings.responses_topic, vouched.caller)

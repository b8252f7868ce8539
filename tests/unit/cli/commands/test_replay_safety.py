"""What keeps `slmesh replay` from answering a caller twice or as someone else: which
requests the orchestrator has forgotten, and whose a request is before it is replayed as
new, proven as its caller's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from slmesh.cli.commands.replay.callers import Callers, NotReplayable, original_proof_holds
from slmesh.cli.commands.replay.expiry import (
    DEFAULT_GATHER_TTL_S,
    ReplaySettings,
    expired_requests,
    past_gather_state,
)
from slmesh.cli.records import Seen
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import (
    PROOF_HEADER,
    SIGNER_HEADER,
    Member,
    MeshParty,
    dev_members,
    ensure_keyring,
    key_path,
    mesh_party,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TTL = 3600
REQUESTS = "slmesh.requests"


def request(
    *,
    at: datetime = NOW,
    topic: str = REQUESTS,
    kind: str = "RequestSubmitted",
    rid: str = "req-1",
    headers: dict[str, str] | None = None,
    value: bytes | None = None,
) -> Seen:
    event = {"type": f"slmesh.{kind}", "id": "e1", "requestid": rid, "data": {"input": "VAT?"}}
    body = value if value is not None else orjson.dumps(event)
    return Seen(topic, 0, 0, int(at.timestamp() * 1000), rid, headers or {}, body, event)


# --- expiry ------------------------------------------------------------------------------


def test_the_lifetime_is_the_orchestrators_setting_or_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SLMESH_GATHER_TTL_S", raising=False)
    assert ReplaySettings().gather_ttl_s == DEFAULT_GATHER_TTL_S == 3600
    monkeypatch.setenv("SLMESH_GATHER_TTL_S", "600")
    assert ReplaySettings().gather_ttl_s == 600


@pytest.mark.parametrize(
    ("age_s", "past"),
    [(0, False), (TTL - 61, False), (TTL - 60, True), (TTL, True), (TTL * 24, True)],
)
def test_a_request_near_or_past_its_states_lifetime_is_past_it(age_s: int, past: bool) -> None:
    seen = request(at=NOW - timedelta(seconds=age_s))
    assert past_gather_state(seen, now=NOW, ttl_s=TTL) is past


def test_only_requests_republished_to_the_requests_topic_can_be_answered_twice() -> None:
    old = NOW - timedelta(hours=2)
    expired = request(at=old, rid="req-old")
    fresh = request(rid="req-fresh")
    old_reply = request(at=old, kind="TaskCompleted", topic="slmesh.replies")
    old_elsewhere = request(at=old, rid="req-copied", topic="slmesh.deadletter")
    records = [expired, fresh, old_reply, old_elsewhere]
    kept = expired_requests(records, now=NOW, ttl_s=TTL, requests_topic=REQUESTS)
    assert kept == [expired]
    # Sent to the requests topic from wherever they were recorded: any old request counts.
    sent_there = expired_requests(
        records, now=NOW, ttl_s=TTL, requests_topic=REQUESTS, to_topic=REQUESTS
    )
    assert sent_there == [expired, old_elsewhere]
    # Sent elsewhere, nothing reaches the orchestrator.
    assert (
        expired_requests(records, now=NOW, ttl_s=TTL, requests_topic=REQUESTS, to_topic="x") == []
    )


# --- whose request -------------------------------------------------------------------------


@pytest.fixture
def keyring(tmp_path: Path) -> Path:
    ensure_keyring(tmp_path, [*dev_members(["vat-rates"]), Member("erp", "caller")])
    return tmp_path


def settings_of(keyring: Path, **values: object) -> MeshSettings:
    return MeshSettings(keyring_dir=keyring, **values)  # type: ignore[arg-type]


def party(keyring: Path, name: str) -> MeshParty:
    return mesh_party(settings_of(keyring, identity=name), name)


def proven(
    keyring: Path,
    caller: str,
    *,
    to: str | None = "orchestrator",
    extra: dict[str, str] | None = None,
    rid: str = "req-1",
) -> Seen:
    """A request as `caller` sent it: proven for the orchestrator (or signed, `to=None`)."""
    unproven = request(rid=rid, headers=extra)
    headers = dict(extra or {})
    ce = [(k, v) for k, v in headers.items() if k.startswith("ce_")]
    for name, value in party(keyring, caller).prove(
        REQUESTS, rid.encode(), unproven.value, to=to, headers=ce
    ):
        headers[name] = value.decode()
    return request(rid=rid, headers=headers)


@pytest.mark.parametrize("to", ["orchestrator", None], ids=["mac", "sig"])
def test_a_callers_own_request_is_vouched_for_as_theirs(keyring: Path, to: str | None) -> None:
    seen = proven(keyring, "erp", to=to)
    vouched = Callers(settings_of(keyring)).vouch(seen)
    assert vouched.caller == "erp"
    assert original_proof_holds(vouched.party, seen)
    # What it proves a new request with, the orchestrator believes as the caller's.
    new = b'{"new": true}'
    headers = vouched.party.prove(REQUESTS, b"req-2", new, to="orchestrator")
    checked = party(keyring, "orchestrator").check(
        REQUESTS, b"req-2", new, headers, roles=["caller"]
    )
    assert checked.name == "erp"


def test_binary_mode_attributes_are_part_of_what_is_vouched_for(keyring: Path) -> None:
    seen = proven(keyring, "erp", extra={"ce_specversion": "1.0", "ce_source": "/erp"})
    assert Callers(settings_of(keyring)).vouch(seen).caller == "erp"
    altered = request(headers={**seen.headers, "ce_source": "/elsewhere"})
    with pytest.raises(NotReplayable, match="proof does not hold for caller 'erp'"):
        Callers(settings_of(keyring)).vouch(altered)


def test_this_processs_own_identity_is_not_the_one_lent(keyring: Path) -> None:
    """An operator's CLI (SLMESH_IDENTITY=operator) proves a replay as the caller."""
    seen = proven(keyring, "erp")
    assert Callers(settings_of(keyring, identity="operator")).vouch(seen).caller == "erp"


def refusal(keyring: Path, seen: Seen, **values: object) -> str:
    with pytest.raises(NotReplayable) as refused:
        Callers(settings_of(keyring, **values)).vouch(seen)
    return refused.value.reason


def test_a_request_naming_no_caller_is_refused(keyring: Path) -> None:
    assert "names no caller (no slmesh-signer header)" in refusal(keyring, request())


def test_a_header_naming_a_caller_is_not_its_proof(keyring: Path) -> None:
    genuine = proven(keyring, "erp")
    # Another caller's proof under erp's name; a proof of other bytes; a made-up proof.
    other = proven(keyring, "dev")
    forged = request(headers={SIGNER_HEADER: "erp", PROOF_HEADER: other.headers[PROOF_HEADER]})
    assert "proof does not hold for caller 'erp'" in refusal(keyring, forged)
    moved = request(headers=genuine.headers, value=genuine.value + b" ")
    assert "proof does not hold" in refusal(keyring, moved)
    for made_up in ("mac:AAAA", "mac:not base64!", "rsa:AAAA", ""):
        crafted = request(headers={SIGNER_HEADER: "erp", PROOF_HEADER: made_up})
        assert "proof does not hold" in refusal(keyring, crafted)
    assert "proof does not hold" in refusal(keyring, request(headers={SIGNER_HEADER: "erp"}))


def test_a_request_copied_off_the_requests_topic_is_refused(keyring: Path) -> None:
    genuine = proven(keyring, "erp")
    copied = request(topic="slmesh.deadletter", headers=genuine.headers)
    assert "recorded on slmesh.deadletter, not the requests topic" in refusal(keyring, copied)


@pytest.mark.parametrize(
    ("signer", "why"),
    [
        ("../../keys/erp", "no identity name"),
        ("Erp", "no identity name"),
        ("nobody", "'nobody' is not in the trust file"),
        ("vat-rates", "'vat-rates' is a micromodel, not a caller"),
        ("orchestrator", "'orchestrator' is a orchestrator, not a caller"),
        ("operator", "'operator' is a operator, not a caller"),
    ],
)
def test_only_a_caller_of_the_trust_file_is_lent(keyring: Path, signer: str, why: str) -> None:
    crafted = request(headers={SIGNER_HEADER: signer, PROOF_HEADER: "mac:AAAA"})
    assert why in refusal(keyring, crafted)


def test_without_the_callers_secret_the_replay_is_refused_saying_what_to_set(
    keyring: Path,
) -> None:
    seen = proven(keyring, "erp")
    key_path(keyring, "erp").unlink()
    why = refusal(keyring, seen)
    assert why.startswith("replay --as-new needs the secret of caller 'erp': set ")
    assert "SLMESH_SIGNING_KEY_FILE" in why
    # Another identity's key given: not erp's either.
    why = refusal(keyring, seen, signing_key_file=key_path(keyring, "operator"))
    assert "needs the secret of caller 'erp'" in why
    assert "not 'erp''s" in why


def test_a_callers_refusal_is_said_for_each_of_its_requests(keyring: Path) -> None:
    key_path(keyring, "erp").unlink()
    callers = Callers(settings_of(keyring))
    for rid in ("req-1", "req-2"):
        with pytest.raises(NotReplayable, match="needs the secret of caller 'erp'"):
            callers.vouch(proven_without_key(rid))


def proven_without_key(rid: str) -> Seen:
    return request(rid=rid, headers={SIGNER_HEADER: "erp", PROOF_HEADER: "mac:AAAA"})

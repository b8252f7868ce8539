"""Proofs: a record proves who wrote it, for whom, on which topic; anything else is Unproven."""

from __future__ import annotations

from pathlib import Path

import pytest

from slmesh.runtime.trust import (
    Member,
    MeshParty,
    SecretKey,
    TrustPolicy,
    Unproven,
    dev_members,
    ensure_keyring,
    key_path,
)


@pytest.fixture
def keyring(tmp_path: Path) -> Path:
    ensure_keyring(tmp_path, [*dev_members(["vat-rates", "summarizer"]), Member("erp", "caller")])
    return tmp_path


def party(keyring: Path, name: str) -> MeshParty:
    policy = TrustPolicy.load(keyring / "trust.json")
    return MeshParty(name, SecretKey.from_text(key_path(keyring, name).read_text()), policy)


def test_a_pairwise_proof_holds_for_its_reader_only(keyring: Path) -> None:
    vat, orch, summ = (party(keyring, n) for n in ("vat-rates", "orchestrator", "summarizer"))
    headers = vat.prove("slmesh.replies", b"r1", b"{}", to="orchestrator")
    proven = orch.check("slmesh.replies", b"r1", b"{}", headers, roles=("micromodel",))
    assert proven.name == "vat-rates"
    # The summarizer shares no secret with the vat-rates service for this pair.
    with pytest.raises(Unproven):
        summ.check("slmesh.replies", b"r1", b"{}", headers, roles=("micromodel",))


@pytest.mark.parametrize(
    ("topic", "key", "value"),
    [
        ("slmesh.other", b"r1", b"{}"),
        ("slmesh.replies", b"r2", b"{}"),
        ("slmesh.replies", b"r1", b"{ }"),
    ],
)
def test_a_moved_rekeyed_or_edited_record_proves_nothing(
    keyring: Path, topic: str, key: bytes, value: bytes
) -> None:
    vat, orch = party(keyring, "vat-rates"), party(keyring, "orchestrator")
    headers = vat.prove("slmesh.replies", b"r1", b"{}", to="orchestrator")
    with pytest.raises(Unproven, match="does not match"):
        orch.check(topic, key, value, headers, roles=("micromodel",))


def test_a_role_not_believed_here_is_refused(keyring: Path) -> None:
    erp, orch = party(keyring, "erp"), party(keyring, "orchestrator")
    headers = erp.prove("slmesh.replies", b"r1", b"{}", to="orchestrator")
    with pytest.raises(Unproven, match="is a caller"):
        orch.check("slmesh.replies", b"r1", b"{}", headers, roles=("micromodel",))


def test_a_reflected_proof_is_refused(keyring: Path) -> None:
    """The orchestrator's proof for vat-rates is not vat-rates' proof for the orchestrator."""
    vat, orch = party(keyring, "vat-rates"), party(keyring, "orchestrator")
    headers = orch.prove("t", b"k", b"v", to="vat-rates")
    forged = [("slmesh-signer", b"vat-rates"), headers[1]]
    with pytest.raises(Unproven):
        orch.check("t", b"k", b"v", forged, roles=("micromodel",))
    assert vat.check("t", b"k", b"v", headers, roles=("orchestrator",)).name == "orchestrator"


def test_signed_records_are_checked_by_anyone(keyring: Path) -> None:
    vat, operator = party(keyring, "vat-rates"), party(keyring, "operator")
    headers = vat.prove("slmesh.registry", b"vat-rates", b"card", to=None)
    assert operator.check("slmesh.registry", b"vat-rates", b"card", headers, roles=("micromodel",))
    with pytest.raises(Unproven, match="signature does not match"):
        operator.check("slmesh.registry", b"vat-rates", b"card2", headers, roles=("micromodel",))


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("slmesh-signer", b"nobody"), ("slmesh-proof", b"mac:AAAA")],
        [("slmesh-signer", b"vat-rates"), ("slmesh-proof", b"mac:not base64!")],
        [("slmesh-signer", b"vat-rates"), ("slmesh-proof", b"xyz:AAAA")],
        [("slmesh-signer", b"\xff"), ("slmesh-proof", b"mac:AAAA")],
    ],
)
def test_missing_or_malformed_proofs_are_unproven(
    keyring: Path, headers: list[tuple[str, bytes]]
) -> None:
    orch = party(keyring, "orchestrator")
    with pytest.raises(Unproven):
        orch.check("t", b"k", b"v", headers, roles=("micromodel",))


def test_binary_mode_attributes_are_covered(keyring: Path) -> None:
    vat, orch = party(keyring, "vat-rates"), party(keyring, "orchestrator")
    attributes = [("ce_id", b"1"), ("ce_requestid", b"r1")]
    headers = vat.prove("t", b"k", b"v", to="orchestrator", headers=attributes)
    assert orch.check("t", b"k", b"v", [*attributes, *headers], roles=("micromodel",))
    edited = [("ce_id", b"1"), ("ce_requestid", b"r2"), *headers]
    with pytest.raises(Unproven):
        orch.check("t", b"k", b"v", edited, roles=("micromodel",))


def test_a_key_that_is_not_the_identitys_is_refused(keyring: Path) -> None:
    policy = TrustPolicy.load(keyring / "trust.json")
    with pytest.raises(ValueError, match="not 'vat-rates'"):
        MeshParty("vat-rates", SecretKey.generate(), policy)


def test_a_keyring_keeps_its_keys_when_extended(keyring: Path) -> None:
    before = key_path(keyring, "vat-rates").read_text()
    policy = ensure_keyring(keyring, [Member("echo", "micromodel", serves=("echo",))])
    assert key_path(keyring, "vat-rates").read_text() == before
    assert policy.owner_of("echo") == "echo"
    assert policy.owner_of("vat-rates") == "vat-rates"
    assert oct(key_path(keyring, "echo").stat().st_mode & 0o777) == "0o600"


def test_a_micromodel_has_one_owner(keyring: Path) -> None:
    with pytest.raises(ValueError, match="served by both"):
        ensure_keyring(keyring, [Member("rogue", "micromodel", serves=("vat-rates",))])


def test_a_missing_trust_or_key_is_named_by_its_setting_never_quoted(
    tmp_path: Path, keyring: Path
) -> None:
    from slmesh.runtime.settings import MeshSettings
    from slmesh.runtime.trust import TrustUnavailable, mesh_party

    secret = "c2VjcmV0LWtleS1pbi10aGUtd3JvbmctdmFyaWFibGU="  # noqa: S105 (a fake, to be unseen)
    with pytest.raises(TrustUnavailable) as missing_trust:
        mesh_party(MeshSettings(trust_file=tmp_path / secret), "vat-rates")
    assert "SLMESH_TRUST_FILE" in str(missing_trust.value)
    assert secret not in str(missing_trust.value)
    settings = MeshSettings(trust_file=keyring / "trust.json", signing_key_file=tmp_path / secret)
    with pytest.raises(TrustUnavailable) as missing_key:
        mesh_party(settings, "vat-rates")
    assert "SLMESH_SIGNING_KEY_FILE" in str(missing_key.value)
    assert secret not in str(missing_key.value)
    with pytest.raises(TrustUnavailable, match="unusable") as bad_key:
        mesh_party(MeshSettings(keyring_dir=keyring, signing_key="not-a-key-hunter2"), "vat-rates")
    assert "hunter2" not in str(bad_key.value)

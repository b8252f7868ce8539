"""`slmesh topics apply`: its dry run (the topics and the ACL matrix from the trust file, the
broker asked nothing), and how what it applied is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from slmesh.cli.commands.topics.acls import AppliedAcls, binding, format_acls_applied
from slmesh.cli.main import main
from slmesh.runtime.kafka.acls import mesh_acls, principal
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import Member, TrustPolicy, dev_members, ensure_keyring, trust_path


def topics(*argv: str) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(["topics", *argv])
    return int(exit_.value.code or 0)


@pytest.fixture
def trust_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    members = [*dev_members(["vat-rates"]), Member("erp", "caller", may_call=("vat-rates",))]
    ensure_keyring(tmp_path, members)
    # Nowhere to reach: a dry run that asked the broker would fail.
    monkeypatch.setenv("SLMESH_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("SLMESH_TRUST_FILE", str(trust_path(tmp_path)))
    return trust_path(tmp_path)


def test_a_dry_run_prints_the_topics_and_the_matrix_and_asks_the_broker_nothing(
    trust_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert topics("apply", "--dry-run") == 0
    out = capsys.readouterr().out
    # The task topics of what the trust file's identities serve, each caller's answers.
    for topic in ("slmesh.tasks.vat-rates", "slmesh.responses.erp", "slmesh.responses.dev"):
        assert f"planned  {topic}  partitions=" in out
    assert "slmesh.tasks.summarizer" not in out
    assert "topics planned (dry run: the broker was not asked)" in out
    assert "User:erp           topic slmesh.responses.erp          Read" in out
    assert "User:vat-rates     topic slmesh.tasks.vat-rates        Read" in out
    assert "ACLs planned (dry run: the broker was not asked)" in out


def test_a_dry_run_without_acls_plans_the_topics_alone(
    trust_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert topics("apply", "--dry-run", "--skip-acls", "--micromodel", "summarizer") == 0
    out = capsys.readouterr().out
    assert "planned  slmesh.tasks.summarizer" in out
    assert "slmesh.tasks.vat-rates" not in out
    assert "User:" not in out
    assert "ACLs: skipped" in out


def test_without_a_trust_file_it_says_which_setting_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLMESH_TRUST_FILE", str(tmp_path / "absent.json"))
    assert topics("apply", "--dry-run") == 1
    assert "SLMESH_TRUST_FILE" in capsys.readouterr().err


def test_what_was_applied_is_told_with_the_bindings_not_in_the_matrix(trust_file: Path) -> None:
    matrix = mesh_acls(MeshSettings(), TrustPolicy.load(trust_file))
    first, *rest = matrix.grants
    # A caller that left: its grant is named, not removed.
    stale = (principal("crm"), 2, "slmesh.requests", 3, 4, 3, "*")
    told = format_acls_applied(matrix, AppliedAcls([first], rest, [stale]))
    assert f"{len(matrix.grants)} ACLs: 1 created, {len(rest)} already there" in told
    assert "not in the matrix" in told
    assert "  User:crm Write on topic slmesh.requests" in told
    assert binding(first)[0] == first.principal

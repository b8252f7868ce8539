"""`slmesh trust`: identities added with fresh keys, one owner per micromodel, keys never
overwritten, and a mesh's processes start from what it wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from slmesh.cli.main import main
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import TrustPolicy, mesh_party


def trust(*argv: str) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(["trust", *argv])
    return int(exit_.value.code or 0)


def test_identities_added_make_a_trust_file_services_start_from(tmp_path: Path) -> None:
    file = str(tmp_path / "trust.json")
    assert trust("add", "orchestrator", "--role", "orchestrator", "--trust-file", file,
                 "--key-file", str(tmp_path / "orch.key")) == 0  # fmt: skip
    erp_key = str(tmp_path / "erp.key")
    assert trust("add", "erp", "--role", "caller", "--may-call", "vat-rates", "--max-in-flight",
                 "4", "--trust-file", file, "--key-file", erp_key) == 0  # fmt: skip
    policy = TrustPolicy.load(Path(file))
    erp = policy.identities["erp"]
    assert erp.may_call == ["vat-rates"]
    assert erp.max_in_flight == 4
    assert oct((tmp_path / "erp.key").stat().st_mode & 0o777) == "0o600"
    settings = MeshSettings(
        trust_file=Path(file), identity="erp", signing_key_file=tmp_path / "erp.key"
    )
    assert mesh_party(settings, "dev").name == "erp"


def test_a_second_owner_of_a_micromodel_or_an_existing_key_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = str(tmp_path / "trust.json")
    key = str(tmp_path / "vat.key")
    assert trust("add", "vat-rates", "--role", "micromodel", "--serves", "vat-rates",
                 "--trust-file", file, "--key-file", key) == 0  # fmt: skip
    before = Path(key).read_text()
    assert trust("add", "evil", "--role", "micromodel", "--serves", "vat-rates",
                 "--trust-file", file, "--key-file", str(tmp_path / "evil.key")) == 1  # fmt: skip
    assert "served by both" in capsys.readouterr().out
    assert trust("add", "other", "--role", "caller", "--trust-file", file, "--key-file", key) == 1
    assert Path(key).read_text() == before
    assert "evil" not in TrustPolicy.load(Path(file)).identities

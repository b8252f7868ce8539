"""Where kustomize comes from: the pinned kubectl from PyPI, else what is on PATH."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from tests.deploy import kubectl

LINUX_AMD64 = platform.system() == "Linux" and platform.machine().lower() in ("x86_64", "amd64")


@pytest.mark.skipif(not LINUX_AMD64, reason="the pinned kubectl is built for linux/amd64")
def test_the_pinned_kubectl_renders_here_not_one_the_machine_has() -> None:
    command = kubectl.kustomize_command()
    assert command == [str(kubectl.CACHE / "kubectl"), "kustomize"]
    assert kubectl.CACHE.is_relative_to(kubectl.ROOT / ".slmesh")  # git-ignored


def fake_tool(directory: Path, name: str) -> Path:
    tool = directory / name
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    return tool


def test_without_the_pinned_kubectl_a_kustomize_then_a_kubectl_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def unavailable() -> Path:
        raise kubectl.KubectlUnavailable("not here")

    monkeypatch.setattr(kubectl, "pinned_kubectl", unavailable)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(kubectl.KubectlUnavailable, match="no kustomize or kubectl on PATH"):
        kubectl.kustomize_command()
    on_path = fake_tool(tmp_path, "kubectl")
    assert kubectl.kustomize_command() == [str(on_path), "kustomize"]
    standalone = fake_tool(tmp_path, "kustomize")
    assert kubectl.kustomize_command() == [str(standalone), "build"]

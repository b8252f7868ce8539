"""The rendered Kubernetes overlays and the compose file, read once per session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.kubectl import KubectlUnavailable, kustomize
from tests.deploy.layout import COMPOSE_FILE, K8S, OVERLAYS, load_yaml


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    """Each overlay of deploy/k8s as kustomize renders it (one YAML stream)."""
    try:
        return {overlay: kustomize(K8S / "overlays" / overlay) for overlay in OVERLAYS}
    except KubectlUnavailable as exc:
        pytest.fail(f"no kustomize to render deploy/k8s with: {exc}")


@pytest.fixture(scope="session")
def manifests(rendered: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    return {overlay: load_yaml(text) for overlay, text in rendered.items()}


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    loaded = load_yaml(COMPOSE_FILE.read_text())
    assert len(loaded) == 1
    document: dict[str, Any] = loaded[0]
    return document

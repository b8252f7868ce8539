"""deploy/k8s/overlays/dev/make-secrets.sh: every Secret and ConfigMap the dev overlay reads,
fresh, consistent with each other (the broker's users, the trust file, the keys)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from slmesh.runtime.trust import SecretKey, TrustPolicy
from tests.deploy.layout import K8S, load_yaml, services
from tests.deploy.test_kubernetes import KUBERNETES_VALIDATE, KUBERNETES_VERSION, secrets_used

SCRIPT = K8S / "overlays" / "dev" / "make-secrets.sh"

Manifest = dict[str, Any]


def made(namespace: str = "slmesh-dev") -> list[Manifest]:
    # The repository's own CLI makes the keys, as `uv run slmesh` would.
    env = {**os.environ, "SLMESH": f"{sys.executable} -m slmesh.cli"}
    out = subprocess.run(
        ["sh", str(SCRIPT), namespace], capture_output=True, text=True, check=True, env=env
    ).stdout
    return load_yaml(out)


@pytest.fixture(scope="module")
def stream() -> list[Manifest]:
    return made()


def by_name(docs: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_it_makes_valid_objects_in_the_namespace(stream: list[Manifest], tmp_path: Path) -> None:
    # The namespace first, so that `kubectl apply -f -` can put the rest in it.
    assert stream[0] == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "slmesh-dev"},
    }
    assert {d["metadata"].get("namespace") for d in stream[1:]} == {"slmesh-dev"}
    file = tmp_path / "made.yaml"
    file.write_text("\n---\n".join(json.dumps(d) for d in stream))
    checked = subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "-k", KUBERNETES_VERSION, "--quiet", str(file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ERROR" not in checked.stdout


def test_every_secret_the_dev_overlay_reads_is_made(
    stream: list[Manifest], manifests: dict[str, list[Manifest]]
) -> None:
    secrets = by_name(stream, "Secret")
    for doc in manifests["dev"]:
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            for name in secrets_used(doc):
                assert name in secrets, f"{doc['metadata']['name']} reads Secret {name}"
    assert "slmesh-trust" in by_name(stream, "ConfigMap")


def test_each_principal_is_a_broker_user_with_a_password_of_its_own(
    stream: list[Manifest],
) -> None:
    secrets = by_name(stream, "Secret")
    jaas = secrets["kafka-jaas"]["stringData"]["kafka_server_jaas.conf"]
    users = dict(re.findall(r'user_([a-z0-9-]+)="([^"]+)"', jaas))
    principals = {
        s["stringData"]["kafka-username"]: s["stringData"]["kafka-password"]
        for s in secrets.values()
        if "kafka-username" in s["stringData"]
    }
    assert {"topics-job", *services()} <= set(principals)
    assert users == {"admin": users["admin"], **principals}
    passwords = list(users.values())
    assert len(set(passwords)) == len(passwords), "no two principals share a password"
    assert all(len(p) >= 32 for p in passwords)


def test_each_identity_holds_the_key_the_trust_file_names(stream: list[Manifest]) -> None:
    trust = by_name(stream, "ConfigMap")["slmesh-trust"]["data"]["trust.json"]
    policy = TrustPolicy.model_validate_json(trust)
    secrets = by_name(stream, "Secret")
    for name, identity in policy.identities.items():
        key = SecretKey.from_text(secrets[f"slmesh-{name}"]["stringData"]["signing.key"])
        assert key.public == identity.keys
    assert policy.orchestrator == "orchestrator"
    for micromodel in (s for s in services() if s != "orchestrator"):
        assert policy.owner_of(micromodel) == micromodel
    assert "signing.key" not in secrets["slmesh-topics-job"]["stringData"]


def test_every_run_makes_new_keys_and_passwords(stream: list[Manifest]) -> None:
    again = by_name(made(), "Secret")
    for name, secret in by_name(stream, "Secret").items():
        assert secret["stringData"] != again[name]["stringData"], name

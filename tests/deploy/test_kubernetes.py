"""deploy/k8s: each overlay rendered with kustomize, every manifest validated.

Kubernetes' own kinds are validated by kubernetes-validate --strict (unknown
fields are errors). KEDA's ScaledObject and TriggerAuthentication are not in
its schemas: they are validated against the JSON schemas in crd_schemas/ of
the fields used here. Any other kind fails the test, so nothing goes
unvalidated unnoticed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from slmesh.runtime.kafka.groups import micromodel_group
from slmesh.runtime.settings import MeshSettings
from tests.deploy.layout import OVERLAYS, TOPICS, runs_a_model, services

KUBERNETES_VERSION = "1.35.0"
KUBERNETES_VALIDATE = Path(sys.executable).with_name("kubernetes-validate")
CRD_SCHEMAS = Path(__file__).with_name("crd_schemas")
MICROMODELS = [s for s in services() if s != "orchestrator"]

Manifest = dict[str, Any]


def of_kind(docs: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def crd_schema(doc: Manifest) -> Path | None:
    group = doc["apiVersion"].split("/")[0]
    if "." not in group:
        return None  # core, apps, batch, policy: Kubernetes' own
    if group.endswith(".k8s.io"):
        return None  # networking.k8s.io and friends: Kubernetes' own too
    return CRD_SCHEMAS / f"{doc['apiVersion'].replace('/', '_')}_{doc['kind']}.json"


def container(doc: Manifest) -> Manifest:
    (only,) = doc["spec"]["template"]["spec"]["containers"]
    result: Manifest = only
    return result


def image_repository(image: str) -> str:
    """The image without its tag or digest: the overlays set those (and prod a registry)."""
    path, _, last = image.split("@")[0].rpartition("/")
    repository = last.split(":")[0]
    return f"{path}/{repository}" if path else repository


def is_slmesh_image(image: str, name: str) -> bool:
    """slmesh/<name>, on Docker Hub's default or under a registry (prod's newName)."""
    repository = image_repository(image)
    return repository == f"slmesh/{name}" or repository.endswith(f"/slmesh/{name}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_kinds_validate_strictly(
    rendered: dict[str, str], manifests: dict[str, list[Manifest]], overlay: str, tmp_path: Path
) -> None:
    core = [d for d in manifests[overlay] if crd_schema(d) is None]
    assert core
    stream = tmp_path / f"{overlay}.yaml"
    stream.write_text("\n---\n".join(json.dumps(d) for d in core))
    checked = subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "-k", KUBERNETES_VERSION, "--quiet", str(stream)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ERROR" not in checked.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_validate_against_their_schemas(
    manifests: dict[str, list[Manifest]], overlay: str
) -> None:
    for doc in manifests[overlay]:
        schema = crd_schema(doc)
        if schema is None:
            continue
        assert schema.is_file(), f"{doc['kind']} ({doc['apiVersion']}): no schema to validate"
        jsonschema.validate(doc, json.loads(schema.read_text()))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_is_probed_sized_and_hardened(
    manifests: dict[str, list[Manifest]], overlay: str
) -> None:
    deployments = of_kind(manifests[overlay], "Deployment")
    for name in services():
        pod = deployments[name]["spec"]["template"]["spec"]
        main = container(deployments[name])
        # The image built from deploy/docker/<name>.Dockerfile, as compose tags it.
        assert is_slmesh_image(main["image"], name), f"{name} runs {main['image']}"
        assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert main["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert main["startupProbe"]["httpGet"]["path"] == "/livez"
        # A model takes time to assemble and load: minutes before the liveness probe counts.
        startup = main["startupProbe"]
        allowed_s = startup["periodSeconds"] * startup["failureThreshold"]
        assert allowed_s >= (300 if runs_a_model(name) else 60)
        resources = main["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys()
        assert "memory" in resources["limits"]
        if runs_a_model(name):
            # The GGUF alone is ~250 MB, the llama context some hundreds more.
            assert mebibytes(resources["requests"]["memory"]) >= 768
            assert mebibytes(resources["limits"]["memory"]) >= 1024
            mounts = {m["mountPath"] for m in main["volumeMounts"]}
            assert "/home/slmesh/.cache" in mounts, "where the model package assembles"
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert main["securityContext"]["readOnlyRootFilesystem"] is True
        assert main["securityContext"]["allowPrivilegeEscalation"] is False


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity.removesuffix(suffix)) * factor
    return float(quantity) / 2**20


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_a_disruption_budget(
    manifests: dict[str, list[Manifest]], overlay: str
) -> None:
    budgets = of_kind(manifests[overlay], "PodDisruptionBudget")
    deployments = of_kind(manifests[overlay], "Deployment")
    for name in services():
        selector = budgets[name]["spec"]["selector"]["matchLabels"]
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_topics_job_applies_every_topic(
    manifests: dict[str, list[Manifest]], overlay: str
) -> None:
    jobs = [d for d in manifests[overlay] if d["kind"] == "Job"]
    assert len(jobs) == 1
    (job,) = jobs
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == TOPICS
    main = container(job)
    assert is_slmesh_image(main["image"], "cli"), f"the topics job runs {main['image']}"
    # No --micromodel: the command's default is every bundled micromodel.
    assert [*main["command"], *main["args"]] == ["slmesh", "topics", "apply"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_and_scrapes_reach_the_services_from_outside_the_pod(
    manifests: dict[str, list[Manifest]], overlay: str
) -> None:
    # The kubelet and Prometheus are not in the pod: loopback would fail every probe.
    (config,) = of_kind(manifests[overlay], "ConfigMap").values()
    assert config["data"]["SLMESH_HTTP_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_export_traces_to_a_collector(
    manifests: dict[str, list[Manifest]], overlay: str
) -> None:
    (config,) = of_kind(manifests[overlay], "ConfigMap").values()
    assert config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http")
    for doc in of_kind(manifests[overlay], "Deployment").values():
        if doc["metadata"]["name"] in services():
            refs = [e["configMapRef"]["name"] for e in container(doc).get("envFrom", [])]
            assert refs == [config["metadata"]["name"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_let_services_reach_only_their_dependencies(
    manifests: dict[str, list[Manifest]], overlay: str
) -> None:
    policies = of_kind(manifests[overlay], "NetworkPolicy")
    selected = {"app.kubernetes.io/part-of": "slmesh"}
    deny = policies["slmesh-default-deny"]["spec"]
    assert deny["podSelector"]["matchLabels"] == selected
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny
    egress = policies["slmesh-egress"]["spec"]["egress"]
    reached = set()
    for rule in egress:
        for peer in rule["to"]:
            labels = peer.get("podSelector", {}).get("matchLabels", {})
            reached.add(labels.get("slmesh.io/serves") or labels.get("k8s-app"))
        assert rule["ports"], "every egress rule names its ports"
    assert reached == {"kube-dns", "kafka", "redis", "traces"}
    # Every service pod is one the policies select.
    for doc in of_kind(manifests[overlay], "Deployment").values():
        if doc["metadata"]["name"] in services():
            assert selected.items() <= doc["spec"]["template"]["metadata"]["labels"].items()


def test_prod_scales_each_micromodel_on_its_consumer_group_lag(
    manifests: dict[str, list[Manifest]],
) -> None:
    docs = manifests["prod"]
    scaled = of_kind(docs, "ScaledObject")
    (config,) = of_kind(docs, "ConfigMap").values()
    partitions = int(config["data"]["SLMESH_PARTITIONS"])
    settings = MeshSettings(partitions=partitions)
    assert set(scaled) == set(MICROMODELS)
    for name in MICROMODELS:
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"]["name"] == name
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= partitions
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["consumerGroup"] == micromodel_group(name)
        assert trigger["metadata"]["topic"] == settings.task_topic(name)
        assert trigger["metadata"]["bootstrapServersFromEnv"] in config["data"]
        auth = of_kind(docs, "TriggerAuthentication")[trigger["authenticationRef"]["name"]]
        secrets = {ref["name"] for ref in auth["spec"]["secretTargetRef"]}
        # Its own principal, which may only describe the micromodels' topics and groups.
        assert secrets == {"slmesh-autoscaler"}
    # KEDA sets the micromodels' replicas: a fixed count would fight it at every apply.
    for name in MICROMODELS:
        assert "replicas" not in of_kind(docs, "Deployment")[name]["spec"]


def test_dev_brings_its_own_broker_redis_and_collector(
    manifests: dict[str, list[Manifest]],
) -> None:
    docs = manifests["dev"]
    assert not of_kind(docs, "ScaledObject"), "dev clusters need no KEDA"
    serving = {
        d["spec"]["template"]["metadata"]["labels"].get("slmesh.io/serves")
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet")
    }
    assert {"kafka", "redis", "traces"} <= serving
    # No secret in the repository: make-secrets.sh makes them for each cluster.
    assert not of_kind(docs, "Secret")
    (kafka,) = of_kind(docs, "StatefulSet").values()
    env = {e["name"]: e.get("value") for e in container(kafka)["env"]}
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith(".StandardAuthorizer")
    assert set(env["KAFKA_SUPER_USERS"].split(";")) == {
        "User:admin",
        "User:topics-job",
        "User:ANONYMOUS",
    }
    assert "CONTROLLER://127.0.0.1:" in env["KAFKA_LISTENERS"]
    # The services wait for the topics job's topics: they may create none.
    (config,) = of_kind(docs, "ConfigMap").values()
    assert config["data"]["SLMESH_CREATE_TOPICS"] == "false"


def secrets_used(doc: Manifest) -> set[str]:
    """Every Secret a workload's pods read: in env, envFrom and volumes."""
    spec = doc["spec"]["template"]["spec"]
    names: set[str] = set()
    for each in [*spec["containers"], *spec.get("initContainers", [])]:
        for variable in each.get("env", []):
            ref = variable.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                names.add(ref["name"])
        names |= {s["secretRef"]["name"] for s in each.get("envFrom", []) if "secretRef" in s}
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
        for source in volume.get("projected", {}).get("sources", []):
            if "secret" in source:
                names.add(source["secret"]["name"])
    return names


# Not an identity's: the mesh's one Redis password, and in prod the Redis CA (which the
# topics job reads too: the settings check every file they name).
SHARED_SECRETS = {"slmesh-redis"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_workload_mounts_only_its_own_secret(
    manifests: dict[str, list[Manifest]], overlay: str
) -> None:
    docs = manifests[overlay]
    deployments = of_kind(docs, "Deployment")
    config = next(iter(of_kind(docs, "ConfigMap").values()))["data"]
    trust_dir = str(Path(config["SLMESH_TRUST_FILE"]).parent)
    for name in services():
        doc = deployments[name]
        assert secrets_used(doc) == {f"slmesh-{name}", *SHARED_SECRETS}, name
        main = container(doc)
        env = {e["name"]: e for e in main["env"]}
        assert env["SLMESH_IDENTITY"]["value"] == name
        assert env["SLMESH_KAFKA_USERNAME"]["valueFrom"]["secretKeyRef"]["name"] == f"slmesh-{name}"
        # The key file alone is mounted, readable by the pod's group, read-only.
        key_file = Path(env["SLMESH_SIGNING_KEY_FILE"]["value"])
        volumes = {v["name"]: v for v in doc["spec"]["template"]["spec"]["volumes"]}
        mounts = {m["mountPath"]: m for m in main["volumeMounts"]}
        identity = volumes[mounts[str(key_file.parent)]["name"]]["secret"]
        assert identity["secretName"] == f"slmesh-{name}"
        assert identity["items"] == [{"key": "signing.key", "path": key_file.name}]
        assert identity["defaultMode"] == 0o440
        assert mounts[str(key_file.parent)]["readOnly"] is True
        trust = volumes[mounts[trust_dir]["name"]]
        assert trust["configMap"]["name"] == "slmesh-trust"
    (job,) = of_kind(docs, "Job").values()
    # Its own principal, and no key: it proves no record.
    assert secrets_used(job) - SHARED_SECRETS == {"slmesh-topics-job"}
    job_mounts = {m["mountPath"] for m in container(job)["volumeMounts"]}
    assert trust_dir in job_mounts


def test_prod_takes_its_secrets_from_the_cluster(manifests: dict[str, list[Manifest]]) -> None:
    docs = manifests["prod"]
    assert not of_kind(docs, "Secret"), "production Secrets are made by operators"
    (config,) = of_kind(docs, "ConfigMap").values()
    data = config["data"]
    assert data["SLMESH_DEPLOYMENT"] == "production"
    assert data["SLMESH_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert data["SLMESH_REDIS_URL"].startswith("rediss://")
    for doc in [*of_kind(docs, "Deployment").values(), *of_kind(docs, "Job").values()]:
        mounts = {m["mountPath"] for m in container(doc)["volumeMounts"]}
        for variable in ("SLMESH_KAFKA_SSL_CA_FILE", "SLMESH_REDIS_SSL_CA_FILE"):
            assert str(Path(data[variable]).parent) in mounts

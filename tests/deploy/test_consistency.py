"""The code, the images, compose and Kubernetes agree: every service is deployed everywhere,
every setting a deployment sets is one its service reads, every topic is made."""

from __future__ import annotations

from typing import Any

import pytest

from slmesh.cli.commands.topics.apply import mesh_topic_plan
from slmesh.cli.devstack import DEFAULT_MICROMODELS
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import topics
from tests.deploy.layout import (
    OVERLAYS,
    TOPICS,
    dockerfile_for,
    services,
    settings_class,
    unknown_settings,
)

Manifest = dict[str, Any]


def test_the_bundled_micromodels_are_the_services() -> None:
    """The topics job's default (every bundled micromodel) covers every deployed one."""
    assert set(services()) == {"orchestrator", *DEFAULT_MICROMODELS}


@pytest.mark.parametrize("service", services())
def test_every_service_has_an_image_a_compose_service_and_a_deployment(
    service: str, compose: dict[str, Any], manifests: dict[str, list[Manifest]]
) -> None:
    assert dockerfile_for(service).is_file()
    assert service in compose["services"]
    for overlay in OVERLAYS:
        names = {d["metadata"]["name"] for d in manifests[overlay] if d["kind"] == "Deployment"}
        assert service in names, f"overlay {overlay} deploys no {service}"


def compose_settings(compose: dict[str, Any]) -> dict[str, list[str]]:
    """The variables compose gives each of the mesh's containers."""
    given: dict[str, list[str]] = {}
    for name in [*services(), TOPICS]:
        given[name] = [str(k) for k in compose["services"][name].get("environment", {})]
    return given


def test_compose_sets_only_settings_its_services_read(compose: dict[str, Any]) -> None:
    unknown = {
        name: bad
        for name, variables in compose_settings(compose).items()
        if (bad := unknown_settings(variables, settings_class(name)))
    }
    assert not unknown, f"not settings of the service that gets them: {unknown}"
    # And the variables meant for the mesh all are SLMESH_* or OpenTelemetry's.
    for variables in compose_settings(compose).values():
        assert all(v.startswith(("SLMESH_", "OTEL_")) for v in variables)


def kubernetes_settings(docs: list[Manifest]) -> dict[str, list[str]]:
    """The variables each workload of the mesh gets: its env and the ConfigMaps it loads."""
    config_maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    given: dict[str, list[str]] = {}
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        name = doc["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
        if name not in [*services(), TOPICS]:
            continue  # dev's own Kafka, Redis and Jaeger
        variables: list[str] = []
        for container in doc["spec"]["template"]["spec"]["containers"]:
            variables += [e["name"] for e in container.get("env", [])]
            for source in container.get("envFrom", []):
                assert "prefix" not in source
                referenced = config_maps[source["configMapRef"]["name"]]
                variables += list(referenced["data"])
        given[name] = variables
    return given


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_sets_only_settings_its_services_read(
    manifests: dict[str, list[Manifest]], overlay: str
) -> None:
    given = kubernetes_settings(manifests[overlay])
    assert set(given) == {*services(), TOPICS}
    unknown = {
        name: bad
        for name, variables in given.items()
        if (bad := unknown_settings(variables, settings_class(name)))
    }
    assert not unknown, f"not settings of the service that gets them: {unknown}"
    for variables in given.values():
        assert all(v.startswith(("SLMESH_", "OTEL_")) for v in variables)


def test_settings_check_catches_a_misspelt_variable() -> None:
    mesh = settings_class(TOPICS)
    assert unknown_settings(["SLMESH_BOOTSTRAP_SERVER", "SLMESH_PARTITIONS"], mesh) == [
        "SLMESH_BOOTSTRAP_SERVER"
    ]
    assert unknown_settings(["SLMESH_MODEL__THREADS"], mesh) == ["SLMESH_MODEL__THREADS"]
    micromodel = settings_class("summarizer")
    assert unknown_settings(["SLMESH_MODEL__THREADS", "SLMESH_MODEL__THREAD"], micromodel) == [
        "SLMESH_MODEL__THREAD"
    ]
    assert unknown_settings(["OTEL_EXPORTER_OTLP_ENDPOINT", "PATH"], mesh) == []


def test_the_topics_job_makes_every_topic_the_code_uses(
    compose: dict[str, Any], manifests: dict[str, list[Manifest]]
) -> None:
    settings = MeshSettings()
    used = {
        topics.REQUESTS,
        topics.REPLIES,
        topics.DEAD_LETTERS,
        topics.REGISTRY,
        settings.requests_topic,
        settings.replies_topic,
        settings.deadletter_topic,
        settings.registry_topic,
        *(settings.task_topic(name) for name in services() if name != "orchestrator"),
        # Each caller of the trust file is answered on a topic of its own.
        f"{topics.RESPONSES}.erp",
    }
    # What `slmesh topics apply` makes without --micromodel: every bundled micromodel's,
    # and the response topic of each caller of the trust file.
    planned = {t.name for t in mesh_topic_plan(settings, list(DEFAULT_MICROMODELS), ["erp"])}
    assert used <= planned
    # Nothing is answered on the responses topic itself: it is no topic of the mesh's.
    assert topics.RESPONSES not in planned
    # Neither deployment renames a topic: the job and the services use the same names.
    renaming = ("_TOPIC", "SLMESH_TASKS_PREFIX")
    for variables in compose_settings(compose).values():
        assert not [v for v in variables if v.endswith(renaming)]
    for overlay in OVERLAYS:
        for variables in kubernetes_settings(manifests[overlay]).values():
            assert not [v for v in variables if v.endswith(renaming)]
    # And both run the command unnarrowed (test_compose, test_kubernetes check the command).
    assert compose["services"][TOPICS]["command"] == ["topics", "apply"]

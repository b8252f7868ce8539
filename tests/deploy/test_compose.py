"""deploy/docker-compose.yml: valid against the Compose Specification, and the mesh it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.layout import (
    COMPOSE_FILE,
    DEPLOY,
    TOPICS,
    dockerfile_for,
    parse_dockerfile,
    services,
)

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping"
    return {str(k): str(v) for k, v in env.items()}


def test_valid_against_the_compose_specification() -> None:
    checked = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("name", services())
def test_every_service_is_built_checked_and_started_in_order(
    compose: dict[str, Any], name: str
) -> None:
    service = compose["services"][name]
    assert service["build"] == {"context": "..", "dockerfile": f"deploy/docker/{name}.Dockerfile"}
    # The image's HEALTHCHECK (/readyz) applies: compose neither restates nor disables it.
    assert "healthcheck" not in service
    (check,) = parse_dockerfile(dockerfile_for(name)).final.all("HEALTHCHECK")
    assert "/readyz" in check
    assert service["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "jaeger": {"condition": "service_healthy"},
        TOPICS: {"condition": "service_completed_successfully"},
    }
    env = environment(service)
    assert env["SLMESH_DEPLOYMENT"] == "production"
    assert env["SLMESH_BROKER_PROFILE"] == "kafka"
    assert env["SLMESH_HTTP_PORT"] == "8080"
    assert env["SLMESH_HTTP_HOST"] == "0.0.0.0"  # scraped from other containers
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
    # Over the secured listener, checking the broker's certificate.
    assert env["SLMESH_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["SLMESH_KAFKA_SSL_CA_FILE"].startswith("/etc/slmesh/kafka/")
    assert "kafka-ca:/etc/slmesh/kafka:ro" in service["volumes"]
    assert env["SLMESH_REDIS_PASSWORD"]


def test_the_topics_job_makes_every_topic_before_the_services(compose: dict[str, Any]) -> None:
    job = compose["services"][TOPICS]
    assert job["build"]["dockerfile"] == "deploy/docker/cli.Dockerfile"
    # The image's entrypoint is `slmesh`; no --micromodel narrows it to fewer topics.
    assert job["command"] == ["topics", "apply"]
    assert job["restart"] == "no"
    assert job["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert environment(job)["SLMESH_DEPLOYMENT"] == "production"


def test_kafka_runs_kraft_with_only_secured_client_listeners(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = environment(kafka)
    assert "controller" in env["KAFKA_PROCESS_ROLES"]
    assert "KAFKA_ZOOKEEPER_CONNECT" not in env
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    for listener in env["KAFKA_ADVERTISED_LISTENERS"].split(","):
        name = listener.split("://")[0]
        assert protocols[name] == "SASL_SSL", f"clients reach {name} over {protocols[name]}"
    assert "java.security.auth.login.config" in env["KAFKA_OPTS"]
    assert kafka["depends_on"] == {"kafka-secrets": {"condition": "service_completed_successfully"}}
    assert "--command-config" in " ".join(kafka["healthcheck"]["test"])
    secrets = compose["services"]["kafka-secrets"]
    assert "./compose/kafka-secrets.sh:/scripts/kafka-secrets.sh:ro" in secrets["volumes"]
    assert (DEPLOY / "compose" / "kafka-secrets.sh").is_file()


def test_redis_has_a_password_and_the_append_only_file(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "requirepass" in command
    assert environment(redis)["REDIS_PASSWORD"]
    assert "REDISCLI_AUTH" in " ".join(redis["healthcheck"]["test"])


def test_jaeger_receives_otlp_and_shows_its_ui(compose: dict[str, Any]) -> None:
    jaeger = compose["services"]["jaeger"]
    ports = {p.rsplit(":", 1)[-1] for p in jaeger["ports"]}
    assert {"16686", "4318"} <= ports
    assert jaeger["healthcheck"]["test"]

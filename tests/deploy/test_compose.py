"""deploy/docker-compose.yml: valid against the Compose Specification, and the mesh it runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from slmesh.runtime.trust import TrustPolicy
from tests.deploy.layout import (
    COMPOSE_FILE,
    DEPLOY,
    TOPICS,
    dockerfile_for,
    load_yaml,
    parse_dockerfile,
    services,
)

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
# Publishes the broker on the host, only when given as a second compose file.
HOST_BROKER = DEPLOY / "compose" / "host-broker.yml"


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


# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ...
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?([^}]*)\}")
BROKER_PRINCIPALS = {"admin", "topics-job", "ANONYMOUS"}


def test_no_variable_has_a_default_so_no_secret_has_one() -> None:
    """Every ${VAR} in compose is a password or the trust folder: required, never defaulted."""
    for compose_file in (COMPOSE_FILE, HOST_BROKER):
        found = INTERPOLATION.findall(compose_file.read_text())
        for name, operator, _ in found:
            assert operator == ":?", f"${{{name}}} in {compose_file.name} has a default or none"
    assert {"KAFKA_ADMIN_PASSWORD", "SLMESH_REDIS_PASSWORD", "SLMESH_TRUST_DIR"} <= {
        name for name, _, _ in INTERPOLATION.findall(COMPOSE_FILE.read_text())
    }


def test_every_password_comes_from_a_required_variable(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in environment(service).items():
            if "PASSWORD" in key and key != "KAFKA_CLIENT_USERS":
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", value), f"{name}: {key}={value}"


def test_the_broker_is_not_published_on_the_host_unless_asked(compose: dict[str, Any]) -> None:
    assert "ports" not in compose["services"]["kafka"]
    (override,) = load_yaml(HOST_BROKER.read_text())
    assert set(override["services"]) == {"kafka"}
    assert all(p.startswith("127.0.0.1:") for p in override["services"]["kafka"]["ports"])
    checked = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(HOST_BROKER)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def kafka_user(service: dict[str, Any]) -> str:
    return environment(service)["SLMESH_KAFKA_USERNAME"]


def test_each_service_is_its_own_principal_with_its_own_key(compose: dict[str, Any]) -> None:
    secrets = compose["secrets"]
    trust = compose["configs"]["trust"]["file"]
    assert trust.endswith("/trust.json")
    for name in services():
        service = compose["services"][name]
        env = environment(service)
        assert env["SLMESH_IDENTITY"] == name
        assert kafka_user(service) == name
        variable = "KAFKA_PASSWORD_" + name.upper().replace("-", "_")
        assert env["SLMESH_KAFKA_PASSWORD"].startswith(f"${{{variable}:?")
        # Its key alone, where its settings look for it; the trust file everyone shares.
        assert service["secrets"] == [{"source": f"{name}-key", "target": "signing-key"}]
        assert env["SLMESH_SIGNING_KEY_FILE"] == "/run/secrets/signing-key"
        assert secrets[f"{name}-key"]["file"].endswith(f"/keys/{name}.key")
        assert service["configs"] == [{"source": "trust", "target": env["SLMESH_TRUST_FILE"]}]
    job = compose["services"][TOPICS]
    assert kafka_user(job) == "topics-job"
    assert "secrets" not in job, "the topics job proves no record: it has no key"
    assert job["configs"] == [{"source": "trust", "target": environment(job)["SLMESH_TRUST_FILE"]}]
    users = [
        kafka_user(s)
        for s in compose["services"].values()
        if "SLMESH_KAFKA_USERNAME" in environment(s)
    ]
    assert len(users) == len(set(users)), "one Kafka user each"
    # The broker has a user for each, and for nobody else.
    made = environment(compose["services"]["kafka-secrets"])["KAFKA_CLIENT_USERS"].split()
    assert sorted(made) == sorted(users)


def test_the_broker_enforces_acls_with_no_client_super_user_but_the_topics_job(
    compose: dict[str, Any],
) -> None:
    env = environment(compose["services"]["kafka"])
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith(".StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert set(env["KAFKA_SUPER_USERS"].split(";")) == {f"User:{p}" for p in BROKER_PRINCIPALS}
    # ANONYMOUS is the broker's own connection to its controller: that listener is the
    # loopback's alone, and every other one authenticates (SASL).
    listeners = dict(item.split("://") for item in env["KAFKA_LISTENERS"].split(","))
    assert listeners["CONTROLLER"].startswith("127.0.0.1:")
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].endswith(
        "@127.0.0.1:" + listeners["CONTROLLER"].split(":")[1]
    )
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert all(protocols[name].startswith("SASL_") for name in listeners if name != "CONTROLLER")


def interpolated(value: str, variables: dict[str, str]) -> str:
    return INTERPOLATION.sub(lambda m: variables[m.group(1)], value)


def test_make_secrets_gives_compose_every_variable_and_file_it_needs(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "mesh"
    # The repository's own CLI makes the keys, as `uv run slmesh` would.
    env = {**os.environ, "SLMESH": f"{sys.executable} -m slmesh.cli"}
    subprocess.run(
        ["sh", str(DEPLOY / "compose" / "make-secrets.sh"), str(folder)],
        env=env,
        check=True,
        capture_output=True,
    )
    lines = (folder / "compose.env").read_text().splitlines()
    variables = dict(line.split("=", 1) for line in lines)
    required = {name for name, _, _ in INTERPOLATION.findall(COMPOSE_FILE.read_text())}
    assert set(variables) == required
    passwords = [v for k, v in variables.items() if "PASSWORD" in k]
    assert len(set(passwords)) == len(passwords), "no two principals share a password"
    for source in [*compose["secrets"].values(), *compose["configs"].values()]:
        assert Path(interpolated(source["file"], variables)).is_file()
    policy = TrustPolicy.load(folder / "trust.json")
    callers = {
        environment(s)["SLMESH_IDENTITY"]
        for n, s in compose["services"].items()
        if n not in services() and "SLMESH_IDENTITY" in environment(s)
    }
    assert set(policy.identities) == {*services(), *callers}
    assert all(policy.identities[c].role == "caller" for c in callers)
    # The containers (uid 10001) read the keys through a bind mount; the folder keeps others out.
    assert (folder.stat().st_mode & 0o777) == 0o700
    assert ((folder / "compose.env").stat().st_mode & 0o777) == 0o600
    assert all((k.stat().st_mode & 0o777) == 0o644 for k in (folder / "keys").iterdir())
    made_again = subprocess.run(
        ["sh", str(DEPLOY / "compose" / "make-secrets.sh"), str(folder)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made_again.returncode == 1, "a trust file is never made over"

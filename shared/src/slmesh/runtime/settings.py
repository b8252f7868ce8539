"""Settings from the environment: one base for the mesh, one subclass per service."""

from __future__ import annotations

import os
import socket
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from slmesh.schemas import DEFAULT_MAX_EVENT_BYTES, topics


def _default_replica() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class MeshSettings(BaseSettings):
    """What every slmesh process needs: where the broker and Redis are, and the topic names.

    Every field reads `SLMESH_<FIELD>` from the environment.
    """

    model_config = SettingsConfigDict(
        env_prefix="SLMESH_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated."
    )
    broker_profile: Literal["tansu", "kafka"] = Field(
        default="tansu",
        description="Client posture for the broker in use (see slmesh.runtime.broker).",
    )
    kafka_username: str | None = Field(default=None, description="SASL/PLAIN user, if any.")
    kafka_password: SecretStr | None = Field(default=None, description="SASL/PLAIN password.")
    redis_url: SecretStr = Field(
        default=SecretStr("redis://127.0.0.1:6379/0"),
        description="Redis URL; secret because it may carry a password.",
    )
    requests_topic: str = topics.REQUESTS
    responses_topic: str = topics.RESPONSES
    replies_topic: str = topics.REPLIES
    deadletter_topic: str = topics.DEAD_LETTERS
    tasks_prefix: str = topics.TASKS_PREFIX
    registry_topic: str = topics.REGISTRY
    heartbeat_s: float = Field(
        default=5.0, gt=0, le=3600, description="Seconds between registry heartbeats."
    )
    startup_wait_s: float = Field(
        default=300.0, ge=0, description="How long a service waits for the broker and Redis."
    )
    # Micromodels: how a task that fails is retried, and how long one may run.
    task_retries: int = Field(
        default=2, ge=0, le=10, description="Retries of a task whose handler raised."
    )
    retry_backoff_ms: int = Field(
        default=200, ge=0, description="First retry delay; doubled each retry, at most 5 s."
    )
    max_run_ms: int = Field(
        default=120_000, ge=10, description="A task running longer fails (run_time_exceeded)."
    )
    shadow_topic: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._\-]{1,249}$",
        description="Micromodels: consume this topic instead of the micromodel's own, in a "
        "group of its own, without announcing itself: a candidate version under shadow "
        "evaluation (`slmesh shadow`), apart from the live flow.",
    )
    record_retries: int = Field(
        default=8,
        ge=0,
        le=20,
        description="Retries in place of a record whose handling raised (the broker or Redis "
        "away a moment): 0.5 s doubling to 10 s, about 45 s at 8. Then the record is "
        "dead-lettered and answered as failed, and its partition moves on.",
    )
    partitions: int = Field(
        default=6, ge=1, description="Partitions of topics this process creates."
    )
    max_event_bytes: int = Field(default=DEFAULT_MAX_EVENT_BYTES, ge=1024)
    replica: str = Field(default_factory=_default_replica, description="This process's name.")
    log_level: str = "INFO"
    http_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve /metrics (Prometheus), /livez and /readyz on this port; 0 picks "
        "a free one (logged); unset, none is served.",
    )
    stuck_after_s: float = Field(
        default=600.0,
        gt=0,
        description="A model call running this long fails the liveness probe: its thread "
        "is stuck, and only a restart frees it.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: lines for a terminal; json: one object per line, with the "
        "request, task and trace ids of what each line is about.",
    )

    def task_topic(self, micromodel: str) -> str:
        return topics.task_topic(micromodel, self.tasks_prefix)

    def source(self, service: str) -> str:
        """CloudEvents `source` of events this replica produces."""
        return f"/slmesh/{service}/{self.replica}"


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, for logs and status lines."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(parts.password, "***", 1)).geturl()

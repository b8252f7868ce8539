"""Settings from the environment: one base for the mesh, one subclass per service.

Settings that do not load raise `InvalidSettingsError`, which names each variable and
what is wrong with it and never a value (settings_errors): a value can be a secret.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from slmesh.runtime.settings_errors import invalid_settings
from slmesh.schemas import DEFAULT_MAX_EVENT_BYTES, topics

KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]


def _default_replica() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class MeshSettings(BaseSettings):
    """What every slmesh process needs: where the broker and Redis are, and the topic names.

    Every field reads `SLMESH_<FIELD>` from the environment.
    """

    model_config = SettingsConfigDict(
        env_prefix="SLMESH_",
        env_nested_delimiter="__",
        frozen=True,
        extra="ignore",
        # Wherever a ValidationError of these settings is still shown, it shows no input.
        hide_input_in_errors=True,
    )

    if not TYPE_CHECKING:
        # Out of the type checker's sight, which keeps checking the fields' keywords.
        def __init__(self, **values: Any) -> None:
            try:
                super().__init__(**values)
            except (ValidationError, SettingsError) as exc:
                # `from None`: the original, which quotes the input, is not shown as context.
                raise invalid_settings(exc, type(self)) from None

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated."
    )
    broker_profile: Literal["tansu", "kafka"] = Field(
        default="tansu",
        description="Client posture for the broker in use (see slmesh.runtime.kafka.profiles).",
    )
    # How every Kafka client of the process connects: FastStream's broker and each raw
    # aiokafka client get the same settings (slmesh.runtime.kafka.security).
    kafka_security_protocol: KafkaSecurityProtocol | None = Field(
        default=None,
        description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL; unset: SASL_PLAINTEXT when "
        "a user is set, else PLAINTEXT.",
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        default="PLAIN", description="PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER."
    )
    kafka_username: str | None = Field(default=None, description="SASL user.")
    kafka_password: SecretStr | None = Field(default=None, description="SASL password.")
    kafka_oauth_token_file: Path | None = Field(
        default=None,
        description="OAUTHBEARER: a file holding the bearer token, read again for each "
        "authentication (a mounted token that is rotated stays current).",
    )
    kafka_ssl_ca_file: Path | None = Field(
        default=None, description="PEM CA bundle the broker's certificate is checked against."
    )
    kafka_ssl_cert_file: Path | None = Field(
        default=None, description="PEM client certificate (mutual TLS)."
    )
    kafka_ssl_key_file: Path | None = Field(default=None, description="PEM client key.")
    kafka_ssl_key_password: SecretStr | None = Field(
        default=None, description="Password of the client key, if it is encrypted."
    )
    kafka_ssl_check_hostname: bool = Field(
        default=True, description="Check that the broker's certificate names its host."
    )
    redis_url: SecretStr = Field(
        default=SecretStr("redis://127.0.0.1:6379/0"),
        description="Redis URL (rediss:// for TLS); secret because it may carry a password.",
    )
    redis_username: str | None = Field(
        default=None, description="Redis ACL user (else the URL's, else the default user)."
    )
    redis_password: SecretStr | None = Field(
        default=None, description="Redis password (else the URL's)."
    )
    redis_ssl_ca_file: Path | None = Field(
        default=None, description="PEM CA bundle for Redis over TLS (rediss://)."
    )
    redis_ssl_cert_file: Path | None = Field(
        default=None, description="PEM client certificate for Redis over TLS."
    )
    redis_ssl_key_file: Path | None = Field(default=None, description="PEM client key.")
    redis_namespace: str = Field(
        default="slmesh",
        pattern=r"^[A-Za-z0-9._\-]{1,64}$",
        description="Prefix of every key this mesh keeps in Redis, so meshes can share one.",
    )
    redis_sentinels: str | None = Field(
        default=None,
        description="Redis Sentinel: host:port,host:port; set, the master is asked of them "
        "(and found again after a failover) instead of redis_url's host.",
    )
    redis_sentinel_master: str = Field(
        default="mymaster", description="The name the sentinels know the master by."
    )
    redis_sentinel_password: SecretStr | None = Field(
        default=None, description="Password of the sentinels themselves, if they have one."
    )
    # Trust (slmesh.runtime.trust): who this process is, and whom it believes.
    trust_file: Path | None = Field(
        default=None,
        description="The operator's trust file (identities, public keys, roles); unset: "
        "trust.json in the keyring.",
    )
    identity: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9\-]{0,62}$",
        description="This process's identity in the trust file; unset: the service's name "
        "(a client: dev).",
    )
    signing_key: SecretStr | None = Field(
        default=None, description="This identity's secret key (base64), if not in a file."
    )
    signing_key_file: Path | None = Field(
        default=None, description="A file holding this identity's secret key (a mounted Secret)."
    )
    keyring_dir: Path | None = Field(
        default=None,
        description="A folder with trust.json and keys/<identity>.key (dev and tests); unset "
        "in dev: the per-user dev keyring that `slmesh dev` fills.",
    )
    # Who makes topics, and how safely they are kept.
    deployment: Literal["dev", "production"] = Field(
        default="dev",
        description="dev: services create the topics they need, one copy each. production: "
        "topics are made by operators (`slmesh topics apply`), three copies, two in sync.",
    )
    create_topics: bool | None = Field(
        default=None,
        description="Services create missing topics at start; unset: only in dev. Off, a "
        "service names each missing topic and waits for it.",
    )
    topic_replication: int | None = Field(
        default=None,
        ge=1,
        description="Replication factor of created topics; unset: dev 1, production 3.",
    )
    topic_min_insync_replicas: int | None = Field(
        default=None,
        ge=1,
        description="min.insync.replicas of created topics (with acks=all, a write needs "
        "this many copies); unset: dev 1, production 2.",
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
    http_host: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._:%\-]{1,253}$",
        description="The address /metrics, /livez and /readyz are served on; unset: "
        "127.0.0.1 in dev, 0.0.0.0 in production (probes and scrapes come from outside "
        "the pod).",
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

    @field_validator("redis_url")
    @classmethod
    def _redis_url_has_a_scheme(cls, url: SecretStr) -> SecretStr:
        # Else redis-py refuses it only when the service first connects.
        if not url.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return url

    @model_validator(mode="after")
    def _connections_are_whole(self) -> Self:
        """Refuse, at start and by name, a connection that could never work.

        The messages name variables and quote only values already checked against a
        closed set (a protocol, a mechanism), never free text (settings_errors).
        """
        protocol = self.security_protocol
        if protocol.startswith("SASL_"):
            if self.kafka_sasl_mechanism == "OAUTHBEARER":
                if self.kafka_oauth_token_file is None:
                    raise ValueError(
                        "SLMESH_KAFKA_SASL_MECHANISM=OAUTHBEARER needs "
                        "SLMESH_KAFKA_OAUTH_TOKEN_FILE"
                    )
            elif self.kafka_username is None or self.kafka_password is None:
                raise ValueError(
                    f"SLMESH_KAFKA_SECURITY_PROTOCOL={protocol} with "
                    f"{self.kafka_sasl_mechanism} needs SLMESH_KAFKA_USERNAME and "
                    "SLMESH_KAFKA_PASSWORD"
                )
        if self.min_insync_replicas > self.replication:
            raise ValueError(
                f"min.insync.replicas {self.min_insync_replicas} exceeds the replication "
                f"factor {self.replication}: no write with acks=all could succeed"
            )
        if (self.kafka_ssl_cert_file is None) != (self.kafka_ssl_key_file is None):
            raise ValueError("SLMESH_KAFKA_SSL_CERT_FILE and SLMESH_KAFKA_SSL_KEY_FILE go together")
        redis_tls = [
            f"SLMESH_{name.upper()}"
            for name in ("redis_ssl_ca_file", "redis_ssl_cert_file", "redis_ssl_key_file")
            if getattr(self, name) is not None
        ]
        if redis_tls and not self.redis_url.get_secret_value().startswith("rediss://"):
            raise ValueError(
                f"{' and '.join(redis_tls)} need TLS: SLMESH_REDIS_URL must be rediss://"
            )
        if (self.redis_ssl_cert_file is None) != (self.redis_ssl_key_file is None):
            raise ValueError("SLMESH_REDIS_SSL_CERT_FILE and SLMESH_REDIS_SSL_KEY_FILE go together")
        for name in (
            "kafka_ssl_ca_file",
            "kafka_ssl_cert_file",
            "kafka_ssl_key_file",
            "kafka_oauth_token_file",
            "redis_ssl_ca_file",
            "redis_ssl_cert_file",
            "redis_ssl_key_file",
        ):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                # Not the path: it may be a secret set in the wrong variable.
                raise ValueError(f"SLMESH_{name.upper()}: no such file")
        return self

    @property
    def security_protocol(self) -> KafkaSecurityProtocol:
        if self.kafka_security_protocol is not None:
            return self.kafka_security_protocol
        return "SASL_PLAINTEXT" if self.kafka_username is not None else "PLAINTEXT"

    @property
    def topics_created_here(self) -> bool:
        """Whether this process may create the topics it needs."""
        if self.create_topics is not None:
            return self.create_topics
        return self.deployment == "dev"

    @property
    def replication(self) -> int:
        if self.topic_replication is not None:
            return self.topic_replication
        return 1 if self.deployment == "dev" else 3

    @property
    def min_insync_replicas(self) -> int:
        if self.topic_min_insync_replicas is not None:
            return self.topic_min_insync_replicas
        return 1 if self.deployment == "dev" else 2

    @property
    def http_bind_host(self) -> str:
        """Where the health and metrics endpoints listen."""
        if self.http_host is not None:
            return self.http_host
        # A developer's machine keeps them to itself; in a pod the kubelet and
        # Prometheus ask from outside it, so production serves every interface.
        return "127.0.0.1" if self.deployment == "dev" else "0.0.0.0"  # noqa: S104

    def task_topic(self, micromodel: str, version: str | None = None) -> str:
        """A micromodel's task topic; `version`: that of a version served side by side."""
        return topics.task_topic(micromodel, self.tasks_prefix, version)

    def source(self, service: str) -> str:
        """CloudEvents `source` of events this replica produces."""
        return f"/slmesh/{service}/{self.replica}"


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, for logs and status lines."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(parts.password, "***", 1)).geturl()

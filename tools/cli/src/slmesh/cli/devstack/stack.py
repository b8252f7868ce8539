"""The whole mesh on one machine: embedded broker, Redis, and every service as its own process.

What `slmesh dev`, the integration tests and the benchmarks start. Services
are separate processes, as in production, so a test that kills one kills a
real consumer.

`slmesh dev` restarts a service that dies (slmesh.cli.devstack.supervision); the
tests' stacks leave it dead unless they ask for restarts, because the tests
that kill replicas on purpose want them to stay dead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from slmesh.cli.commands.topics.apply import apply_topics, mesh_topic_plan
from slmesh.cli.conventions import DEFAULT_BROKER_PORT, DEFAULT_MICROMODELS, ORCHESTRATOR_MODULE
from slmesh.cli.devstack.embedded_broker import EmbeddedBroker, port_is_free
from slmesh.cli.devstack.embedded_redis import RedisHandle, ensure_redis
from slmesh.cli.devstack.processes import OutputSink, ProcessGroup, ServiceProcess, describe_exit
from slmesh.cli.devstack.stand_in import StandInCloud, new_api_key
from slmesh.cli.devstack.supervision import Reporter, RestartPolicy, Supervisor
from slmesh.runtime.lifecycle import Lifecycle
from slmesh.runtime.service import MISCONFIGURED, MODEL_LOAD_FAILED, READY_MARKER
from slmesh.runtime.settings import MeshSettings, redact_url
from slmesh.runtime.trust import Member, dev_members, ensure_keyring, keyring_of

logger = logging.getLogger(__name__)

# How `slmesh dev` restarts its services. Both the micromodels and the
# orchestrator exit with MODEL_LOAD_FAILED when their model does not load.
SERVICE_RESTARTS = RestartPolicy(
    hopeless={
        MODEL_LOAD_FAILED: "its model does not load (MODEL_LOAD_FAILED)",
        MISCONFIGURED: "its settings cannot work (MISCONFIGURED)",
    }
)


@dataclass
class DevStackConfig:
    micromodels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MICROMODELS))
    # Micromodels whose model is remote: each runs its module under its own name
    # (SLMESH_NAME), on the stand-in cloud, started when any is asked for.
    cloud_micromodels: dict[str, str] = field(default_factory=dict)
    # Settings of one micromodel beyond the stack's (SLMESH_NAME to run a declaration under
    # another name, its place: SLMESH_LOCALITY, SLMESH_MAX_CLASSIFICATION, SLMESH_ON_PII...).
    micromodel_env: dict[str, dict[str, str]] = field(default_factory=dict)
    # The orchestrators plan on the stand-in cloud's model (SLMESH_PLANNER_REMOTE__*), the
    # requests it may read; `env` may set the rest (SLMESH_PLANNER_MAX_CLASSIFICATION...).
    cloud_planner: bool = False
    orchestrator_replicas: int = 1
    micromodel_replicas: int = 1
    broker_port: int | None = DEFAULT_BROKER_PORT
    redis_url: str | None = None
    own_redis: bool = False
    workdir: Path = field(default_factory=lambda: Path(".slmesh"))
    # Extra environment for every service, e.g. a short default timeout in tests.
    env: dict[str, str] = field(default_factory=dict)
    # Micromodels the orchestrator may call beyond those started here.
    extra_catalogue: list[str] = field(default_factory=list)
    # Declared pipelines the orchestrators run by name (SLMESH_PIPELINES_DIR); None: none.
    pipelines_dir: Path | None = None
    sink: OutputSink | None = None
    log_level: str = "INFO"
    # Restart services that die, by this policy; None leaves a dead service dead.
    restarts: RestartPolicy | None = None
    # Told of every death, restart and surrender; None logs them.
    on_supervision: Reporter | None = None
    # Where the embedded broker sends its own telemetry (Tansu's OTLP exporter,
    # gRPC: Jaeger's :4317). Its own setting: the services' OTLP endpoint is
    # often an HTTP one (:4318), which the broker's exporter does not speak.
    # The keyring every process of the stack takes its identity from (made or extended
    # at start); unset: SLMESH_KEYRING_DIR, else the per-user dev keyring.
    keyring_dir: Path | None = None
    # Identities beyond the orchestrator, the micromodels and the dev caller (tests'
    # own services and callers).
    extra_identities: list[Member] = field(default_factory=list)
    broker_otlp_endpoint: str | None = field(
        default_factory=lambda: os.environ.get("SLMESH_BROKER_OTLP_ENDPOINT") or None
    )


class DevStack(Lifecycle):
    def __init__(self, config: DevStackConfig | None = None) -> None:
        self.config = config or DevStackConfig()
        self.broker: EmbeddedBroker | None = None
        self.redis: RedisHandle | None = None
        self.keyring = self.config.keyring_dir or keyring_of(MeshSettings())
        self.services = ProcessGroup()
        self.stand_in: StandInCloud | None = None
        self.supervisor = (
            Supervisor(self.config.restarts, self.config.on_supervision)
            if self.config.restarts is not None
            else None
        )

    @property
    def catalogue(self) -> list[str]:
        return [
            *self.config.micromodels,
            *self.config.cloud_micromodels,
            *self.config.extra_catalogue,
        ]

    def _started(self) -> tuple[EmbeddedBroker, RedisHandle]:
        if self.broker is None or self.redis is None:
            raise RuntimeError("the dev stack is not started")
        return self.broker, self.redis

    def env(self) -> dict[str, str]:
        """The environment that points a service (or a client) at this stack."""
        broker, redis = self._started()
        return {
            "SLMESH_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "SLMESH_BROKER_PROFILE": "tansu",
            "SLMESH_REDIS_URL": redis.url,
            # Started micromodels announce themselves; only the others are configured.
            "SLMESH_MICROMODELS": orjson.dumps(self.config.extra_catalogue).decode(),
            "SLMESH_LOG_LEVEL": self.config.log_level,
            **({"SLMESH_KEYRING_DIR": str(self.keyring)} if self.keyring is not None else {}),
            **self.config.env,
        }

    def settings(self) -> MeshSettings:
        broker, redis = self._started()
        return MeshSettings(
            bootstrap_servers=broker.bootstrap_servers,
            redis_url=redis.url,
            keyring_dir=self.keyring,
        )

    async def start(self) -> None:
        cfg = self.config
        cfg.workdir.mkdir(parents=True, exist_ok=True)
        callers: list[str] = []
        if self.keyring is not None:
            # Every process started here proves what it writes with its own key.
            policy = ensure_keyring(
                self.keyring, [*dev_members(self.catalogue), *cfg.extra_identities]
            )
            callers = list(policy.callers())
        port = cfg.broker_port
        if port is not None and not port_is_free(port):
            logger.warning("port %d is taken; the broker takes a free port instead", port)
            port = None
        self.broker = EmbeddedBroker(
            port, log_path=cfg.workdir / "broker.log", otlp_endpoint=cfg.broker_otlp_endpoint
        )
        await self.broker.start()
        self.redis = await ensure_redis(cfg.redis_url, own=cfg.own_redis, workdir=cfg.workdir)
        # Topics first, as operators make them (`slmesh topics apply`): no service races
        # another to create them, and services that create none find them.
        # Each caller's response topic too: it reads it from its first request.
        plan = mesh_topic_plan(self.settings(), self.catalogue, callers)
        await apply_topics(self.settings(), plan)
        # Services registered before start (e.g. a benchmark's relays) start with the micromodels.
        registered = list(self.services)
        micromodels = [
            self.add_service(f"{name}-{i + 1}", module, cfg.micromodel_env.get(name))
            for name, module in cfg.micromodels.items()
            for i in range(cfg.micromodel_replicas)
        ]
        if cfg.cloud_micromodels or cfg.cloud_planner:
            # With a key, as a cloud has: the key's path to the server is shown working.
            self.stand_in = StandInCloud(cfg.workdir, api_key=new_api_key())
            await self.stand_in.start()
            micromodels += [
                self.add_service(
                    f"{name}-{i + 1}",
                    module,
                    {
                        "SLMESH_NAME": name,
                        **self.stand_in.remote_env(),
                        **cfg.micromodel_env.get(name, {}),
                    },
                )
                for name, module in cfg.cloud_micromodels.items()
                for i in range(cfg.micromodel_replicas)
            ]
        # Micromodels first: once they are ready they are in the registry, and
        # orchestrators that start after them know every one from their first request.
        await self.start_services([*registered, *micromodels])
        planner_env = (
            {
                **self.stand_in.remote_env("SLMESH_PLANNER_REMOTE__"),
                # A plan of a few calls. The stand-in's 270M model repeats its calls up to
                # the budget, at a few grammar-constrained tokens a second on a busy 2-core
                # machine: a cut-short plan keeps its complete calls (planning.remote).
                "SLMESH_PLANNER_REMOTE__MAX_TOKENS": "96",
            }
            if cfg.cloud_planner and self.stand_in is not None
            else None
        )
        if cfg.pipelines_dir is not None:
            pipelines = {"SLMESH_PIPELINES_DIR": str(cfg.pipelines_dir.resolve())}
            planner_env = {**(planner_env or {}), **pipelines}
        orchestrators = [
            self.add_service(f"orchestrator-{i + 1}", ORCHESTRATOR_MODULE, planner_env)
            for i in range(cfg.orchestrator_replicas)
        ]
        await self.start_services(orchestrators)

    def add_service(
        self, name: str, module: str, env: dict[str, str] | None = None
    ) -> ServiceProcess:
        """Register a service process (not started) that runs `python -m module`."""
        service = ServiceProcess(
            name,
            [sys.executable, "-m", module],
            {**self.env(), "SLMESH_REPLICA": name, **(env or {})},
            sink=self.config.sink,
            ready_pattern=READY_MARKER,
        )
        return self.services.add(service)

    async def start_services(self, services: list[ServiceProcess], timeout: float = 90.0) -> None:  # noqa: ASYNC109
        """Start services together and wait until each has joined its consumer groups.

        Started together because joining a group on the embedded broker takes
        seconds, and one after another would add those seconds up.
        """
        for service in services:
            await service.start()
        await asyncio.gather(*(s.wait_ready(timeout) for s in services))
        # Watched from ready on: one that dies while starting fails the start instead.
        if self.supervisor is not None:
            for service in services:
                self.supervisor.watch(service)

    def status(self) -> list[tuple[str, str, str]]:
        """(part, state, detail) rows for display."""
        rows: list[tuple[str, str, str]] = []
        if self.broker is not None:
            state = "running" if self.broker.running else "stopped"
            detail = f"{self.broker.bootstrap_servers} (pid {self.broker.pid})"
            rows.append(("broker (tansu)", state, detail))
        if self.redis is not None:
            where = f"started here, pid {self.redis.pid}" if self.redis.owned else "existing server"
            rows.append(("redis", "running", f"{redact_url(self.redis.url)} ({where})"))
        if self.stand_in is not None:
            state = "running" if self.stand_in.running else "stopped"
            detail = f"{self.stand_in.base_url} (pid {self.stand_in.pid}, {self.stand_in.model_id})"
            rows.append(("stand-in cloud", state, detail))
        for service in self.services:
            rows.append((service.name, *self._service_status(service)))
        return rows

    def _service_status(self, service: ServiceProcess) -> tuple[str, str]:
        supervision = self.supervisor.supervision(service.name) if self.supervisor else None
        if supervision is not None and supervision.phase == "restarting":
            last = supervision.last_death
            return "restarting", f"restart {supervision.restarts}; last run {last}"
        if supervision is not None and supervision.phase == "given up":
            return "dead", f"given up: {supervision.reason}"
        code = service.returncode
        if code is not None:
            # Never "running": a process that is gone says how it went.
            state = "stopped" if service.stop_requested else "dead"
            return state, f"pid {service.pid}, {describe_exit(code)}"
        restarts = supervision.restarts if supervision is not None else 0
        again = f", restarted {restarts}x" if restarts else ""
        return service.state, f"pid {service.pid}{again}"

    async def stop(self) -> None:
        # Supervision ends first, so the stops below are not taken for deaths.
        if self.supervisor is not None:
            await self.supervisor.stop()
        await self.services.stop_all()
        if self.stand_in is not None:
            await self.stand_in.stop()
        if self.redis is not None:
            await self.redis.stop()
        if self.broker is not None:
            await self.broker.stop()

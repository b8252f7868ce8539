"""What a service counts for Prometheus: tasks, requests, latencies, tokens, in flight, lag.

One set of names for every service (a micromodel fills the task series, the
orchestrator the request series, both the token series), in the process's
default registry, beside the process collector's CPU and memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# From a deterministic hop (milliseconds) to a model's call (tens of seconds).
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

TASKS = Counter(
    "slmesh_tasks",
    "Tasks a micromodel answered, by outcome (status ok or failed, and the error code).",
    ["micromodel", "status", "code"],
)
TASK_SECONDS = Histogram(
    "slmesh_task_seconds",
    "Time a micromodel spent on a task, from its record to its reply.",
    ["micromodel"],
    buckets=SECONDS,
)
REQUESTS = Counter(
    "slmesh_requests",
    "Responses the orchestrator published, by status (ok, partial, failed).",
    ["status"],
)
REQUEST_SECONDS = Histogram(
    "slmesh_request_seconds",
    "From a request's arrival to its response.",
    buckets=SECONDS,
)
TOKENS = Counter(
    "slmesh_model_tokens",
    "Tokens a local model read (prompt) and wrote (completion), by model and use.",
    ["model", "kind", "use"],
)
COST = Counter(
    "slmesh_cost",
    "What the models answering a caller's requests cost, by model and caller, in the "
    "currency of their prices (cards and the orchestrator's model setting).",
    ["model", "caller", "currency"],
)
REMOTE_CALLS = Counter(
    "slmesh_remote_calls",
    "Calls a caller's requests sent to a remote model, by provider.",
    ["caller", "provider"],
)
IN_FLIGHT = Gauge("slmesh_requests_in_flight", "Requests this orchestrator replica awaits.")


def task_done(micromodel: str, seconds: float, *, code: str | None = None) -> None:
    TASKS.labels(micromodel, "failed" if code else "ok", code or "").inc()
    TASK_SECONDS.labels(micromodel).observe(seconds)


def tokens_spent(model: str, prompt: int, completion: int, *, use: str) -> None:
    TOKENS.labels(model, "prompt", use).inc(prompt)
    TOKENS.labels(model, "completion", use).inc(completion)


def cost_spent(model: str, caller: str, cost: float, currency: str) -> None:
    COST.labels(model, caller, currency).inc(cost)


def remote_call(caller: str, provider: str) -> None:
    REMOTE_CALLS.labels(caller, provider).inc()


def request_answered(status: str, seconds: float) -> None:
    REQUESTS.labels(status).inc()
    REQUEST_SECONDS.observe(seconds)


def count_in_flight(count: Callable[[], int]) -> None:
    IN_FLIGHT.set_function(count)


# (group, topic, partition, lag) for each partition a consumer holds.
LagRows = Callable[[], Iterable[tuple[str, str, int, int]]]


class ConsumerLag(Collector):
    """`slmesh_consumer_lag`: records behind the end, per partition held here, read at scrape."""

    def __init__(self) -> None:
        self._sources: list[LagRows] = []

    def follow(self, rows: LagRows) -> None:
        self._sources.append(rows)

    def collect(self) -> Iterator[Any]:
        family = GaugeMetricFamily(
            "slmesh_consumer_lag",
            "Records between the end of a partition and this consumer's committed offset.",
            labels=["group", "topic", "partition"],
        )
        for rows in self._sources:
            for group, topic, partition, lag in rows():
                family.add_metric([group, topic, str(partition)], lag)
        yield family


CONSUMER_LAG = ConsumerLag()
REGISTRY.register(CONSUMER_LAG)


def follow_lag(sources: Sequence[LagRows]) -> None:
    for rows in sources:
        CONSUMER_LAG.follow(rows)

"""Least privilege the broker enforces: which Kafka principal may do what to which topic,
consumer group or the cluster, derived from the trust file and the settings.

Proofs (slmesh.runtime.trust) make a forged record useless; ACLs keep it off the
topic in the first place, and keep a reader off a topic it has no business
reading (another caller's answers, another micromodel's tasks). Each identity
of the trust file is the principal `User:<name>` (its SASL user, or its client
certificate's name mapped so); two principals are not in the trust file, as
they prove no record: the topics job, which creates the topics and these ACLs,
and the autoscaler, which reads the micromodels' consumer lag.

What each role does on the broker, and so all it is granted:

- orchestrator: reads requests, replies (each in its group) and the registry
  (without a group); writes the task topic of every micromodel an identity
  serves, each caller's own response topic (and reads it back: a replica that
  took a request over looks there before answering twice, orchestrator.lookback),
  and dead letters;
- micromodel: reads the task topics of the micromodels it `serves`, in their
  groups; writes replies, its registry cards and dead letters;
- caller: writes requests; reads its own response topic, in its own group if
  it reads through one;
- operator: reads every mesh topic (tail, trace, dlq, registry), describes every
  mesh group (lag), writes where dead letters are requeued to (requests,
  replies, task topics);
- topics job: creates and describes every mesh topic; creates and describes ACLs
  (Alter and Describe on the cluster);
- autoscaler: describes each micromodel's task topic and group (its lag).

Every grant is on a literal name, never a prefix: a micromodel or caller added
later gets nothing until the trust file names it and the ACLs are applied
again. Read, Write and Alter imply Describe in Kafka, so a topic read or
written needs no Describe of its own. Idempotent producers (the `kafka`
profile) need no IdempotentWrite on the cluster: since Kafka 2.8, Write on a
topic allows them.

Pure: no broker here. `slmesh topics apply` puts the matrix on the broker and
prints it; the deploy tests check it against the topics the code uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from slmesh.runtime.kafka.groups import (
    ORCHESTRATOR_REPLIES_GROUP,
    ORCHESTRATOR_REQUESTS_GROUP,
    caller_group,
    micromodel_group,
)
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust.policy import TrustPolicy, response_topic

ResourceKind = Literal["topic", "group", "cluster"]
Operation = Literal["Read", "Write", "Create", "Describe", "Alter"]

# The principals outside the trust file (they prove no record).
TOPICS_JOB = "topics-job"
AUTOSCALER = "autoscaler"
# Kafka's one name for the cluster resource.
CLUSTER_NAME = "kafka-cluster"

# What Kafka lets an operation do besides itself (its authorizer's implied operations).
_IMPLIES: dict[Operation, frozenset[Operation]] = {
    "Read": frozenset({"Describe"}),
    "Write": frozenset({"Describe"}),
    "Alter": frozenset({"Describe"}),
}


def principal(name: str) -> str:
    """The Kafka principal of an identity (or of the topics job, the autoscaler)."""
    return f"User:{name}"


@dataclass(frozen=True, order=True)
class Resource:
    kind: ResourceKind
    name: str

    def __str__(self) -> str:
        return "cluster" if self.kind == "cluster" else f"{self.kind} {self.name}"


def topic(name: str) -> Resource:
    return Resource("topic", name)


def group(name: str) -> Resource:
    return Resource("group", name)


CLUSTER = Resource("cluster", CLUSTER_NAME)


@dataclass(frozen=True, order=True)
class Grant:
    """One ACL: `principal` is allowed `operation` on `resource`, from any host."""

    principal: str
    resource: Resource
    operation: Operation


@dataclass(frozen=True)
class AclMatrix:
    """Every grant of a mesh, sorted; nothing outside it is allowed (but to super users)."""

    grants: tuple[Grant, ...]

    def of(self, who: str) -> list[Grant]:
        return [g for g in self.grants if g.principal == who]

    def principals(self) -> list[str]:
        return sorted({g.principal for g in self.grants})

    def topics(self) -> set[str]:
        return {g.resource.name for g in self.grants if g.resource.kind == "topic"}

    def groups(self) -> set[str]:
        return {g.resource.name for g in self.grants if g.resource.kind == "group"}

    def allows(self, who: str, resource: Resource, operation: Operation) -> bool:
        """Whether the broker would allow it, counting what Kafka implies (Read: Describe)."""
        return any(
            g.principal == who
            and g.resource == resource
            and (g.operation == operation or operation in _IMPLIES.get(g.operation, ()))
            for g in self.grants
        )


# Versions of micromodels served side by side, each on a task topic and group of its own.
Versions = Mapping[str, Sequence[str]]


def task_topics(settings: MeshSettings, micromodel: str, versions: Versions) -> list[str]:
    """A micromodel's task topics: its plain one and one per version served beside it."""
    return [
        settings.task_topic(micromodel),
        *(settings.task_topic(micromodel, v) for v in versions.get(micromodel, ())),
    ]


def task_groups(micromodel: str, versions: Versions) -> list[str]:
    """A micromodel's consumer groups: its plain one and one per version served beside it."""
    return [
        micromodel_group(micromodel),
        *(micromodel_group(micromodel, v) for v in versions.get(micromodel, ())),
    ]


def topics_in_use(
    settings: MeshSettings, policy: TrustPolicy, versions: Versions | None = None
) -> list[str]:
    """Every topic a mesh of this trust file uses: the settings' own, the task topics of
    each micromodel an identity serves (and of its `versions`), the response topic of each
    caller."""
    versions = versions or {}
    return [
        settings.requests_topic,
        settings.replies_topic,
        settings.deadletter_topic,
        settings.registry_topic,
        *(t for m in served_micromodels(policy) for t in task_topics(settings, m, versions)),
        *(response_topic(settings.responses_topic, c) for c in sorted(policy.callers())),
    ]


def served_micromodels(policy: TrustPolicy) -> list[str]:
    """The micromodels some identity of the trust file serves, by name."""
    return sorted(
        m for name in policy.micromodel_services() for m in policy.identities[name].serves
    )


def mesh_acls(
    settings: MeshSettings,
    policy: TrustPolicy,
    *,
    topics_job: str = TOPICS_JOB,
    autoscaler: str | None = AUTOSCALER,
    versions: Versions | None = None,
) -> AclMatrix:
    """The grants of every principal of the mesh; the autoscaler's only if there is one.
    `versions`: micromodels' versions served side by side, each on its own topic and group."""
    versions = versions or {}
    micromodels = served_micromodels(policy)
    callers = sorted(policy.callers())
    tasks = [topic(t) for m in micromodels for t in task_topics(settings, m, versions)]
    groups = [g for m in micromodels for g in task_groups(m, versions)]
    answers = [topic(response_topic(settings.responses_topic, c)) for c in callers]
    requests, replies = topic(settings.requests_topic), topic(settings.replies_topic)
    deadletters, registry = topic(settings.deadletter_topic), topic(settings.registry_topic)
    grants: set[Grant] = set()

    def allow(who: str, operation: Operation, *resources: Resource) -> None:
        grants.update(Grant(principal(who), r, operation) for r in resources)

    for name, identity in policy.identities.items():
        if identity.role == "orchestrator":
            allow(name, "Read", requests, replies, registry, *answers)
            allow(
                name, "Read", group(ORCHESTRATOR_REQUESTS_GROUP), group(ORCHESTRATOR_REPLIES_GROUP)
            )
            # The registry: the cards of the pipelines it runs.
            allow(name, "Write", *tasks, *answers, deadletters, registry)
        elif identity.role == "micromodel":
            for micromodel in identity.serves:
                allow(
                    name, "Read", *(topic(t) for t in task_topics(settings, micromodel, versions))
                )
                allow(name, "Read", *(group(g) for g in task_groups(micromodel, versions)))
            allow(name, "Write", replies, registry, deadletters)
        elif identity.role == "caller":
            allow(name, "Write", requests)
            allow(name, "Read", topic(response_topic(settings.responses_topic, name)))
            allow(name, "Read", group(caller_group(name)))
        elif identity.role == "operator":
            every_topic = [topic(t) for t in topics_in_use(settings, policy, versions)]
            allow(name, "Read", *every_topic)
            # Requeued dead letters go back where they came from: what services consume.
            allow(name, "Write", requests, replies, *tasks)
            allow(name, "Describe", *(group(g) for g in _service_groups(groups)))
    every_topic = [topic(t) for t in topics_in_use(settings, policy, versions)]
    allow(topics_job, "Create", *every_topic)
    allow(topics_job, "Describe", *every_topic, CLUSTER)
    # CreateAcls needs Alter on the cluster: as much as an administrator, so the topics
    # job's credential goes to the job alone (deploy/README.md).
    allow(topics_job, "Alter", CLUSTER)
    if autoscaler is not None:
        allow(autoscaler, "Describe", *tasks, *(group(g) for g in groups))
    return AclMatrix(tuple(sorted(grants)))


def _service_groups(micromodel_groups: Iterable[str]) -> list[str]:
    """The consumer groups the mesh's services consume in."""
    return [ORCHESTRATOR_REQUESTS_GROUP, ORCHESTRATOR_REPLIES_GROUP, *micromodel_groups]

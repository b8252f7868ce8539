"""Least privilege: the ACL matrix covers every topic the code uses and nothing more, each
principal's grants are its part alone, and docs/security.md prints the matrix the code
derives."""

from __future__ import annotations

import pytest

from slmesh.cli.commands.topics.acls import format_matrix
from slmesh.cli.commands.topics.apply import mesh_topic_plan
from slmesh.cli.conventions import DEFAULT_MICROMODELS
from slmesh.runtime.kafka.acls import (
    AUTOSCALER,
    CLUSTER,
    TOPICS_JOB,
    AclMatrix,
    group,
    mesh_acls,
    principal,
    served_micromodels,
    topic,
)
from slmesh.runtime.kafka.groups import (
    ORCHESTRATOR_REPLIES_GROUP,
    ORCHESTRATOR_REQUESTS_GROUP,
    caller_group,
    micromodel_group,
)
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import Identity, Role, TrustPolicy, response_topic
from slmesh.schemas import topics
from tests.deploy.layout import ROOT, services

MICROMODELS = [s for s in services() if s != "orchestrator"]
CALLERS = ["console", "erp"]
SETTINGS = MeshSettings()


def identity(role: Role, **what: list[str]) -> Identity:
    return Identity(role=role, signing_key="-", exchange_key="-", **what)


# The mesh of this repository's services, as deploy/ runs it: each micromodel service serves
# itself; two callers, so that one's answers can be kept from the other.
POLICY = TrustPolicy(
    identities={
        "orchestrator": identity("orchestrator"),
        **{m: identity("micromodel", serves=[m]) for m in MICROMODELS},
        **{c: identity("caller", may_call=["*"]) for c in CALLERS},
        "operator": identity("operator"),
    }
)


@pytest.fixture(scope="module")
def matrix() -> AclMatrix:
    return mesh_acls(SETTINGS, POLICY)


def test_the_matrix_covers_every_topic_the_code_uses_and_no_other(matrix: AclMatrix) -> None:
    used = {
        topics.REQUESTS,
        topics.REPLIES,
        topics.DEAD_LETTERS,
        topics.REGISTRY,
        SETTINGS.requests_topic,
        SETTINGS.replies_topic,
        SETTINGS.deadletter_topic,
        SETTINGS.registry_topic,
        *(SETTINGS.task_topic(m) for m in MICROMODELS),
        *(response_topic(SETTINGS.responses_topic, c) for c in CALLERS),
    }
    assert matrix.topics() == used
    # Nothing is answered on the responses topic itself: nobody is granted it.
    assert topics.RESPONSES not in matrix.topics()
    # The topics job makes exactly those, and grants on exactly those.
    planned = mesh_topic_plan(SETTINGS, served_micromodels(POLICY), sorted(POLICY.callers()))
    assert {t.name for t in planned} == used
    assert {
        g.resource.name for g in matrix.of(principal(TOPICS_JOB)) if g.operation == "Create"
    } == used


def test_the_matrix_names_the_consumer_groups_the_code_joins(matrix: AclMatrix) -> None:
    assert matrix.groups() == {
        ORCHESTRATOR_REQUESTS_GROUP,
        ORCHESTRATOR_REPLIES_GROUP,
        *(micromodel_group(m) for m in MICROMODELS),
        *(caller_group(c) for c in CALLERS),
    }
    # Every group is read by whoever consumes in it, and by no one else.
    for m in MICROMODELS:
        readers = {
            g.principal
            for g in matrix.grants
            if g.resource.name == micromodel_group(m) and g.operation == "Read"
        }
        assert readers == {principal(m)}


def test_a_micromodel_reads_only_its_own_tasks_and_writes_no_request(matrix: AclMatrix) -> None:
    for m in MICROMODELS:
        who = principal(m)
        for other in MICROMODELS:
            assert matrix.allows(who, topic(SETTINGS.task_topic(other)), "Read") == (other == m)
            assert not matrix.allows(who, topic(SETTINGS.task_topic(other)), "Write")
        assert not matrix.allows(who, topic(SETTINGS.requests_topic), "Write")
        assert not matrix.allows(who, topic(SETTINGS.requests_topic), "Describe")
        for c in CALLERS:
            assert not matrix.allows(
                who, topic(response_topic(SETTINGS.responses_topic, c)), "Describe"
            )
        writes = {g.resource.name for g in matrix.of(who) if g.operation == "Write"}
        assert writes == {
            SETTINGS.replies_topic,
            SETTINGS.registry_topic,
            SETTINGS.deadletter_topic,
        }


def test_a_caller_reads_only_its_own_answers_and_writes_only_requests(matrix: AclMatrix) -> None:
    for c in CALLERS:
        who = principal(c)
        for other in CALLERS:
            answers = topic(response_topic(SETTINGS.responses_topic, other))
            assert matrix.allows(who, answers, "Read") == (other == c)
            assert matrix.allows(who, answers, "Describe") == (other == c)
        writes = {g.resource.name for g in matrix.of(who) if g.operation == "Write"}
        assert writes == {SETTINGS.requests_topic}
        assert not matrix.allows(who, topic(SETTINGS.replies_topic), "Describe")
        assert not matrix.allows(who, topic(SETTINGS.deadletter_topic), "Read")


def test_the_orchestrator_reads_no_task_and_forges_no_reply(matrix: AclMatrix) -> None:
    who = principal("orchestrator")
    for m in MICROMODELS:
        assert not matrix.allows(who, topic(SETTINGS.task_topic(m)), "Read")
    for t in (SETTINGS.requests_topic, SETTINGS.replies_topic):
        assert not matrix.allows(who, topic(t), "Write")
    # It writes the registry for the pipelines it runs; a micromodel's card it signed is
    # refused by every reader (slmesh.runtime.registry.admission).
    assert matrix.allows(who, topic(SETTINGS.registry_topic), "Write")


def test_only_the_topics_job_creates_and_only_it_grants(matrix: AclMatrix) -> None:
    powerful = {g.principal for g in matrix.grants if g.operation in ("Create", "Alter")}
    assert powerful == {principal(TOPICS_JOB)}
    assert {g.principal for g in matrix.grants if g.resource == CLUSTER} == {principal(TOPICS_JOB)}
    assert {g.operation for g in matrix.of(principal(AUTOSCALER))} == {"Describe"}


def test_docs_print_the_matrix_of_the_default_dev_mesh() -> None:
    """docs/security.md shows what `slmesh topics apply --dry-run` prints for the mesh
    `slmesh dev` makes: its identities (trust.dev_members), the default settings."""
    from slmesh.runtime.trust import dev_members

    dev = TrustPolicy(
        identities={
            m.name: identity(m.role, serves=list(m.serves), may_call=list(m.may_call))
            for m in dev_members(DEFAULT_MICROMODELS)
        }
    )
    printed = format_matrix(mesh_acls(MeshSettings(), dev))
    assert printed in (ROOT / "docs" / "security.md").read_text(), (
        "docs/security.md is stale: paste `slmesh topics apply --dry-run`'s matrix:\n" + printed
    )


def test_a_version_served_side_by_side_has_its_own_topic_group_and_grants() -> None:
    versioned = mesh_acls(SETTINGS, POLICY, versions={"summarizer": ["0.2.0"]})
    tasks = topic(SETTINGS.task_topic("summarizer", "0.2.0"))
    assert tasks.name == "slmesh.tasks.summarizer.v0.2.0"
    assert versioned.allows(principal("summarizer"), tasks, "Read")
    assert versioned.allows(
        principal("summarizer"), group(micromodel_group("summarizer", "0.2.0")), "Read"
    )
    assert versioned.allows(principal("orchestrator"), tasks, "Write")
    # Another micromodel may not read it, nor may a caller write it.
    assert not versioned.allows(principal("classifier"), tasks, "Read")
    assert not versioned.allows(principal("erp"), tasks, "Write")
    plan = {
        t.name
        for t in mesh_topic_plan(SETTINGS, ["summarizer"], versions={"summarizer": ["0.2.0"]})
    }
    assert {"slmesh.tasks.summarizer", "slmesh.tasks.summarizer.v0.2.0"} <= plan

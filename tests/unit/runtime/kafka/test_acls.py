"""The ACL matrix: each role's grants, from the trust file and the settings, and no more."""

from __future__ import annotations

from slmesh.runtime.kafka.acls import (
    AUTOSCALER,
    CLUSTER,
    TOPICS_JOB,
    Grant,
    group,
    mesh_acls,
    principal,
    served_micromodels,
    topic,
    topics_in_use,
)
from slmesh.runtime.settings import MeshSettings
from slmesh.runtime.trust import Identity, Role, TrustPolicy


def identity(
    role: Role, *, serves: tuple[str, ...] = (), may_call: tuple[str, ...] = ()
) -> Identity:
    # The matrix reads roles and names only: placeholder keys do.
    return Identity(
        role=role, signing_key="-", exchange_key="-", serves=list(serves), may_call=list(may_call)
    )


POLICY = TrustPolicy(
    identities={
        "orchestrator": identity("orchestrator"),
        "rates": identity("micromodel", serves=("vat-rates", "vat-history")),
        "summarizer": identity("micromodel", serves=("summarizer",)),
        "erp": identity("caller", may_call=("vat-rates",)),
        "crm": identity("caller", may_call=("*",)),
        "ops": identity("operator"),
    }
)
SETTINGS = MeshSettings(requests_topic="in", replies_topic="back", tasks_prefix="do.")


def grants_of(name: str) -> set[tuple[str, str, str]]:
    matrix = mesh_acls(SETTINGS, POLICY)
    return {(g.resource.kind, g.resource.name, g.operation) for g in matrix.of(principal(name))}


def test_a_micromodel_service_reads_only_the_tasks_of_what_it_serves() -> None:
    assert grants_of("rates") == {
        ("topic", "do.vat-rates", "Read"),
        ("group", "slmesh.micromodel.vat-rates", "Read"),
        ("topic", "do.vat-history", "Read"),
        ("group", "slmesh.micromodel.vat-history", "Read"),
        ("topic", "back", "Write"),
        ("topic", "slmesh.registry", "Write"),
        ("topic", "slmesh.deadletter", "Write"),
    }
    matrix = mesh_acls(SETTINGS, POLICY)
    rates = principal("rates")
    assert not matrix.allows(rates, topic("do.summarizer"), "Read")
    assert not matrix.allows(rates, topic("in"), "Write")
    assert not matrix.allows(rates, topic("slmesh.responses.erp"), "Describe")


def test_a_caller_writes_requests_and_reads_its_own_answers_only() -> None:
    assert grants_of("erp") == {
        ("topic", "in", "Write"),
        ("topic", "slmesh.responses.erp", "Read"),
        ("group", "slmesh.caller.erp", "Read"),
    }
    matrix = mesh_acls(SETTINGS, POLICY)
    assert not matrix.allows(principal("erp"), topic("slmesh.responses.crm"), "Read")
    assert not matrix.allows(principal("erp"), topic("slmesh.responses.crm"), "Describe")
    assert not matrix.allows(principal("erp"), topic("do.vat-rates"), "Write")


def test_the_orchestrator_dispatches_gathers_and_answers_each_caller_on_its_topic() -> None:
    assert grants_of("orchestrator") == {
        ("topic", "in", "Read"),
        ("group", "slmesh.orchestrator.requests", "Read"),
        ("topic", "back", "Read"),
        ("group", "slmesh.orchestrator.replies", "Read"),
        ("topic", "slmesh.registry", "Read"),
        # The cards of the pipelines it runs.
        ("topic", "slmesh.registry", "Write"),
        ("topic", "do.vat-rates", "Write"),
        ("topic", "do.vat-history", "Write"),
        ("topic", "do.summarizer", "Write"),
        ("topic", "slmesh.responses.erp", "Write"),
        ("topic", "slmesh.responses.erp", "Read"),
        ("topic", "slmesh.responses.crm", "Write"),
        ("topic", "slmesh.responses.crm", "Read"),
        ("topic", "slmesh.deadletter", "Write"),
    }


def test_the_operator_inspects_everything_and_requeues_where_services_consume() -> None:
    grants = grants_of("ops")
    every = set(topics_in_use(SETTINGS, POLICY))
    assert {name for kind, name, op in grants if op == "Read"} == every
    assert {name for kind, name, op in grants if op == "Write"} == {
        "in",
        "back",
        "do.vat-rates",
        "do.vat-history",
        "do.summarizer",
    }
    assert {name for kind, name, op in grants if kind == "group"} == {
        "slmesh.orchestrator.requests",
        "slmesh.orchestrator.replies",
        "slmesh.micromodel.vat-rates",
        "slmesh.micromodel.vat-history",
        "slmesh.micromodel.summarizer",
    }
    assert all(op == "Describe" for kind, _, op in grants if kind == "group")


def test_only_the_topics_job_creates_and_grants() -> None:
    matrix = mesh_acls(SETTINGS, POLICY)
    creators = {g.principal for g in matrix.grants if g.operation in ("Create", "Alter")}
    assert creators == {principal(TOPICS_JOB)}
    assert matrix.allows(principal(TOPICS_JOB), CLUSTER, "Alter")
    assert {
        g.resource.name for g in matrix.of(principal(TOPICS_JOB)) if g.operation == "Create"
    } == set(topics_in_use(SETTINGS, POLICY))


def test_the_autoscaler_only_describes_the_micromodels_lag() -> None:
    assert grants_of(AUTOSCALER) == {
        *(("topic", f"do.{m}", "Describe") for m in served_micromodels(POLICY)),
        *(("group", f"slmesh.micromodel.{m}", "Describe") for m in served_micromodels(POLICY)),
    }
    assert principal(AUTOSCALER) not in mesh_acls(SETTINGS, POLICY, autoscaler=None).principals()


def test_every_grant_is_on_a_topic_the_mesh_uses_or_its_groups() -> None:
    matrix = mesh_acls(SETTINGS, POLICY)
    assert matrix.topics() == set(topics_in_use(SETTINGS, POLICY))
    assert matrix.groups() == {
        "slmesh.orchestrator.requests",
        "slmesh.orchestrator.replies",
        "slmesh.micromodel.vat-rates",
        "slmesh.micromodel.vat-history",
        "slmesh.micromodel.summarizer",
        "slmesh.caller.erp",
        "slmesh.caller.crm",
    }
    # Sorted, one each: the printed table and the broker's bindings are stable.
    assert list(matrix.grants) == sorted(set(matrix.grants))


def test_read_implies_describe_as_kafka_has_it_and_nothing_else() -> None:
    matrix = mesh_acls(SETTINGS, POLICY)
    orchestrator = principal("orchestrator")
    assert matrix.allows(orchestrator, topic("in"), "Describe")
    assert not matrix.allows(orchestrator, topic("in"), "Write")
    assert not matrix.allows(orchestrator, group("slmesh.micromodel.summarizer"), "Read")
    assert Grant(orchestrator, topic("in"), "Read") in matrix.grants

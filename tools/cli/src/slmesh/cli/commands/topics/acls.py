"""`slmesh topics apply`: the mesh's ACL matrix (slmesh.runtime.kafka.acls) put on the broker,
and printed.

aiokafka's admin client has no ACL calls, so the requests are its protocol
classes, sent as its admin client sends its own: DescribeAcls (API key 29) for
what is there, CreateAcls (30) for what is missing, one binding a request.
Both are version 1 (Kafka 4 dropped version 0). Creating a binding that exists is
a no-op for Kafka, but asking first lets the command say what it changed and
which bindings on the mesh's topics and groups, or of its principals, are not in
the matrix (stale grants of a caller that left, or hand-made ones): those are
named, never removed.

A broker without ACLs is said so: one that does not list the requests among its
APIs; a Kafka broker without an authorizer (SECURITY_DISABLED); and Tansu, the
embedded dev broker, which lists them, answers DescribeAcls with no binding, and
answers CreateAcls with a frame no client can read, so the connection is lost.
Granting needs Alter on the cluster, and Describe to list.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import IncompatibleBrokerVersion, KafkaConnectionError, KafkaError, for_code
from aiokafka.protocol.admin import CreateAclsRequest, DescribeAclsRequest

from slmesh.runtime.kafka import admin_kwargs
from slmesh.runtime.kafka.acls import AclMatrix, Grant, Operation, ResourceKind
from slmesh.runtime.settings import MeshSettings

# Kafka's wire codes (org.apache.kafka.common.acl and .resource).
_KINDS: dict[ResourceKind, int] = {"topic": 2, "group": 3, "cluster": 4}
_OPERATIONS: dict[Operation, int] = {
    "Read": 3,
    "Write": 4,
    "Create": 5,
    "Alter": 7,
    "Describe": 8,
}
_OPERATION_NAMES = {
    1: "Any",
    2: "All",
    3: "Read",
    4: "Write",
    5: "Create",
    6: "Delete",
    7: "Alter",
    8: "Describe",
    9: "ClusterAction",
    10: "DescribeConfigs",
    11: "AlterConfigs",
    12: "IdempotentWrite",
    13: "CreateTokens",
    14: "DescribeTokens",
}
_KIND_NAMES = {2: "topic", 3: "group", 4: "cluster", 5: "transactional-id", 6: "token", 7: "user"}
_ANY = 1
_LITERAL = 3
_PATTERN_NAMES = {3: "", 4: " (prefix)"}
_ALLOW = 3
_ANY_HOST = "*"
# The broker has no authorizer (authorizer.class.name is unset).
_SECURITY_DISABLED = 54
_CLUSTER_AUTHORIZATION_FAILED = 31

# One binding as the broker lists it: principal, resource kind, name, pattern, operation,
# permission, host (codes as on the wire).
Binding = tuple[str, int, str, int, int, int, str]


class AclsUnsupported(RuntimeError):
    """The broker enforces no ACLs, so it cannot be given the matrix."""


class AclsRefused(RuntimeError):
    """The broker refused to list or create ACLs for this principal."""


@dataclass(frozen=True)
class AppliedAcls:
    created: list[Grant]
    existing: list[Grant]
    # ALLOW bindings on the mesh's resources, or of its principals, not in the matrix.
    strays: list[Binding]


def binding(grant: Grant) -> Binding:
    return (
        grant.principal,
        _KINDS[grant.resource.kind],
        grant.resource.name,
        _LITERAL,
        _OPERATIONS[grant.operation],
        _ALLOW,
        _ANY_HOST,
    )


async def apply_acls(settings: MeshSettings, matrix: AclMatrix) -> AppliedAcls:
    """Create the matrix's grants the broker lacks; leave every other binding as it is."""
    where = settings.bootstrap_servers
    client = AIOKafkaClient(**admin_kwargs(settings))
    try:
        await client.bootstrap()
        existing = await _described(client, where)
        created, kept = [], []
        for grant in matrix.grants:
            if binding(grant) in existing:
                kept.append(grant)
                continue
            await _create(client, grant, where)
            created.append(grant)
        return AppliedAcls(created, kept, _strays(matrix, existing))
    finally:
        await client.close()


async def _send(client: AIOKafkaClient, request: Any, where: str) -> Any:
    try:
        return await client.send(client.get_random_node(), request)
    except (IncompatibleBrokerVersion, NotImplementedError) as exc:
        # aiokafka checks the broker's API versions before it sends: this broker lists no
        # version of the request that aiokafka can send.
        raise AclsUnsupported(
            f"the broker at {where} does not support ACLs (it has no "
            f"{type(request).__name__.removesuffix('Request')} API aiokafka can use: "
            f"{exc or 'no version'})"
        ) from exc


def _refusal(code: int, message: str | None, doing: str, where: str) -> Exception:
    if code == _SECURITY_DISABLED:
        return AclsUnsupported(
            f"the broker at {where} enforces no ACLs: it has no authorizer "
            "(set authorizer.class.name, e.g. KAFKA_AUTHORIZER_CLASS_NAME="
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer)"
        )
    if code == _CLUSTER_AUTHORIZATION_FAILED:
        return AclsRefused(
            f"the broker at {where} refused {doing}: this principal needs Alter and "
            "Describe on the cluster (or to be a super user), as the topics job has"
        )
    return AclsRefused(
        f"the broker at {where} refused {doing}: {message or for_code(code).__name__}"
    )


async def _described(client: AIOKafkaClient, where: str) -> set[Binding]:
    """Every binding on the broker (the filter matches any)."""
    request = DescribeAclsRequest(
        resource_type=_ANY,
        resource_name=None,
        resource_pattern_type_filter=_ANY,
        principal=None,
        host=None,
        operation=_ANY,
        permission_type=_ANY,
    )
    response = await _send(client, request, where)
    if response.error_code:
        raise _refusal(response.error_code, response.error_message, "to list ACLs", where)
    found: set[Binding] = set()
    for kind, name, pattern, acls in response.resources:
        for who, host, operation, permission in acls:
            found.add((who, kind, name, pattern, operation, permission, host))
    return found


async def _create(client: AIOKafkaClient, grant: Grant, where: str) -> None:
    who, kind, name, pattern, operation, permission, host = binding(grant)
    request = CreateAclsRequest(kind, name, pattern, who, host, operation, permission)
    try:
        with _unreadable_answers_unlogged():
            response = await _send(client, request, where)
    except KafkaConnectionError as exc:
        raise AclsUnsupported(
            f"the broker at {where} lost the connection when asked to create an ACL: it "
            "does not support ACLs (Tansu, the embedded dev broker, answers so), or it went "
            f"away meanwhile ({exc})"
        ) from exc
    except KafkaError as exc:
        raise AclsRefused(f"the broker at {where} did not create {describe(grant)}: {exc}") from exc
    for code, message in response.creation_responses:
        if code:
            raise _refusal(code, message, f"to create {describe(grant)}", where)


@contextlib.contextmanager
def _unreadable_answers_unlogged() -> Iterator[None]:
    """aiokafka logs an answer it cannot decode with its traceback before it drops the
    connection; the error raised here says what that means."""
    connection_log = logging.getLogger("aiokafka.conn")
    level = connection_log.level
    connection_log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        connection_log.setLevel(level)


def _strays(matrix: AclMatrix, existing: Iterable[Binding]) -> list[Binding]:
    wanted = {binding(g) for g in matrix.grants}
    principals = set(matrix.principals())
    names = {(2, t) for t in matrix.topics()} | {(3, g) for g in matrix.groups()}
    return sorted(
        b
        for b in existing
        if b not in wanted and b[5] == _ALLOW and (b[0] in principals or (b[1], b[2]) in names)
    )


def describe(grant: Grant) -> str:
    return f"{grant.principal} {grant.operation} on {grant.resource}"


def _describe_binding(b: Binding) -> str:
    who, kind, name, pattern, operation, _, host = b
    resource = "cluster" if kind == 4 else f"{_KIND_NAMES.get(kind, kind)} {name}"
    from_host = "" if host == _ANY_HOST else f" from {host}"
    operation_name = _OPERATION_NAMES.get(operation, str(operation))
    return f"{who} {operation_name} on {resource}{_PATTERN_NAMES.get(pattern, '')}{from_host}"


_ORDER: dict[Operation, int] = {"Read": 0, "Write": 1, "Create": 2, "Describe": 3, "Alter": 4}


def format_matrix(matrix: AclMatrix) -> str:
    """The matrix as a table: one row per principal and resource, its operations."""
    rows: dict[tuple[str, str], list[Operation]] = {}
    for grant in matrix.grants:
        rows.setdefault((grant.principal, str(grant.resource)), []).append(grant.operation)
    table = [("principal", "resource", "operations")]
    for (who, resource), operations in rows.items():
        operations.sort(key=_ORDER.__getitem__)
        table.append((who, resource, ", ".join(operations)))
    widths = [max(len(row[i]) for row in table) for i in range(2)]
    return "\n".join(
        f"{who:<{widths[0]}}  {resource:<{widths[1]}}  {ops}" for who, resource, ops in table
    )


def format_acls_applied(matrix: AclMatrix, applied: AppliedAcls | None) -> str:
    """The matrix, then what applying it changed (None: a dry run, nothing asked)."""
    lines = [format_matrix(matrix)]
    if applied is None:
        lines.append(f"{len(matrix.grants)} ACLs planned (dry run: the broker was not asked)")
        return "\n".join(lines)
    lines.append(
        f"{len(matrix.grants)} ACLs: {len(applied.created)} created, "
        f"{len(applied.existing)} already there"
    )
    if applied.strays:
        lines.append(
            "on the broker but not in the matrix (left as they are; remove stale ones with "
            "kafka-acls.sh --remove):"
        )
        lines += [f"  {_describe_binding(b)}" for b in applied.strays]
    return "\n".join(lines)

"""`slmesh topics`: the mesh's topics listed (`listing`), or every one it uses created by
an operator, with the ACLs that let each principal do its part and no more (`apply`,
`acls`; the dev stack makes its topics so too, without ACLs)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from slmesh.cli.readers import run_reader

if TYPE_CHECKING:
    from slmesh.runtime.settings import MeshSettings

NAME = "topics"
HELP = (
    "the mesh's topics: list them (partitions, records, end offsets), or apply: "
    "create every one the mesh uses, and its ACLs"
)
DESCRIPTION = (
    "apply reads the trust file (SLMESH_TRUST_FILE, else trust.json in SLMESH_KEYRING_DIR) "
    "and creates each missing mesh topic, each caller's response topic among them, with "
    "SLMESH_PARTITIONS, the replication factor and min.insync.replicas of the settings "
    "(SLMESH_DEPLOYMENT, SLMESH_TOPIC_REPLICATION, SLMESH_TOPIC_MIN_INSYNC_REPLICAS); "
    "existing topics are left as they are. First it grants each principal (User:<identity>, "
    "User:topics-job, User:autoscaler) what its role needs and no more, and prints that "
    "matrix. A broker without ACLs fails it, unless --skip-acls. Run it once before the "
    "services where they create no topics, and again after the trust file changes."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=["list", "apply"], default="list")
    parser.add_argument("--all", action="store_true", help="list: every topic on the broker")
    parser.add_argument(
        "--micromodel",
        action="append",
        help="apply: a micromodel whose task topic to create (repeatable; default: every "
        "one an identity of the trust file serves)",
    )
    parser.add_argument(
        "--version",
        action="append",
        default=[],
        metavar="NAME=VERSION",
        help="apply: a version of a micromodel served side by side with the others "
        "(SLMESH_VERSION): its own task topic, consumer group and grants (repeatable)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="apply: print the topics and the ACL matrix; ask the broker nothing",
    )
    parser.add_argument(
        "--skip-acls",
        action="store_true",
        help="apply: create the topics only (a broker that enforces no ACLs)",
    )


def run(args: argparse.Namespace) -> int:
    return run_reader(_topics(args))


async def _topics(args: argparse.Namespace) -> int:
    from slmesh.cli.commands.topics.listing import format_topics, topic_rows
    from slmesh.runtime.settings import MeshSettings

    settings = MeshSettings()
    if args.action == "apply":
        return await _apply(settings, args)
    print(format_topics(await topic_rows(settings, every=args.all)))
    return 0


async def _apply(settings: MeshSettings, args: argparse.Namespace) -> int:
    from slmesh.cli.commands.topics.acls import (
        AclsRefused,
        AclsUnsupported,
        apply_acls,
        format_acls_applied,
    )
    from slmesh.cli.commands.topics.apply import (
        apply_topics,
        format_applied,
        mesh_topic_plan,
        planned_topics,
    )
    from slmesh.runtime.kafka import TopicCreationError
    from slmesh.runtime.kafka.acls import mesh_acls, served_micromodels
    from slmesh.runtime.trust import TrustUnavailable, load_policy

    try:
        policy = load_policy(settings)
    except TrustUnavailable as exc:
        print(f"slmesh topics apply: {exc}", file=sys.stderr)
        return 1
    micromodels = args.micromodel or served_micromodels(policy)
    versions: dict[str, list[str]] = {}
    for given in args.version:
        name, _, version = given.partition("=")
        if not name or not version:
            print(f"slmesh topics apply: --version {given!r}: give NAME=VERSION", file=sys.stderr)
            return 2
        versions.setdefault(name, []).append(version)
    plan = mesh_topic_plan(settings, micromodels, sorted(policy.callers()), versions)
    matrix = mesh_acls(settings, policy, versions=versions)
    if args.dry_run:
        print(format_applied(settings, planned_topics(plan)))
        print(format_acls_applied(matrix, None) if not args.skip_acls else "ACLs: skipped")
        return 0
    applied_acls = None
    if not args.skip_acls:
        # Before the topics: a service that finds its topics finds its grants too.
        try:
            applied_acls = await apply_acls(settings, matrix)
        except AclsUnsupported as exc:
            print(f"{exc}; nothing was created (--skip-acls: the topics alone)", file=sys.stderr)
            return 1
        except AclsRefused as exc:
            print(exc, file=sys.stderr)
            return 1
    try:
        applied = await apply_topics(settings, plan)
    except TopicCreationError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(format_applied(settings, applied))
    if applied_acls is None:
        print("ACLs: skipped (--skip-acls)")
    else:
        print(format_acls_applied(matrix, applied_acls))
    return 0

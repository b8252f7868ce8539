"""`slmesh topics`: the mesh's topics listed (`listing`), or every one it uses created by
an operator (`apply`; the dev stack makes its topics so too)."""

from __future__ import annotations

import argparse
import sys

from slmesh.cli.conventions import DEFAULT_MICROMODELS
from slmesh.cli.readers import run_reader

NAME = "topics"
HELP = (
    "the mesh's topics: list them (partitions, records, end offsets), or apply: "
    "create every one the mesh uses"
)
DESCRIPTION = (
    "apply creates each missing mesh topic with SLMESH_PARTITIONS, the "
    "replication factor and min.insync.replicas of the settings (SLMESH_DEPLOYMENT, "
    "SLMESH_TOPIC_REPLICATION, SLMESH_TOPIC_MIN_INSYNC_REPLICAS); existing topics are "
    "left as they are. Run it once before the services where they create no topics."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=["list", "apply"], default="list")
    parser.add_argument("--all", action="store_true", help="list: every topic on the broker")
    parser.add_argument(
        "--micromodel",
        action="append",
        help="apply: a micromodel whose task topic to create (repeatable; default: every "
        f"bundled one: {', '.join(DEFAULT_MICROMODELS)})",
    )
    parser.add_argument("--dry-run", action="store_true", help="apply: say what, create nothing")


def run(args: argparse.Namespace) -> int:
    return run_reader(_topics(args))


async def _topics(args: argparse.Namespace) -> int:
    from slmesh.cli.commands.topics.apply import apply_topics, format_applied, mesh_topic_plan
    from slmesh.cli.commands.topics.listing import format_topics, topic_rows
    from slmesh.runtime.kafka import TopicCreationError
    from slmesh.runtime.settings import MeshSettings

    settings = MeshSettings()
    if args.action == "apply":
        micromodels = args.micromodel or list(DEFAULT_MICROMODELS)
        plan = mesh_topic_plan(settings, micromodels)
        try:
            applied = await apply_topics(settings, plan, dry_run=args.dry_run)
        except TopicCreationError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(format_applied(settings, applied, dry_run=args.dry_run))
        return 0
    print(format_topics(await topic_rows(settings, every=args.all)))
    return 0

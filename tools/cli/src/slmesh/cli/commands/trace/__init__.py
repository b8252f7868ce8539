"""`slmesh trace <request-id>`: a request's hops as a waterfall, read from the topics alone
(`waterfall`)."""

from __future__ import annotations

import argparse
import sys

from slmesh.cli.conventions import NO_BROKER, NOT_FOUND
from slmesh.cli.readers import run_reader

NAME = "trace"
HELP = "a request's hops as a waterfall, from the topics alone"
DESCRIPTION = f"Exit code: 0 shown, {NO_BROKER} no broker, {NOT_FOUND} no such request."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "request_id",
        help="the caller's own request id (its request and response carry it), or the "
        "mesh's `<caller>:<request id>` (its tasks and replies carry it) for one caller's",
    )
    parser.add_argument("--json", action="store_true", help="the tree as JSON")


def run(args: argparse.Namespace) -> int:
    return run_reader(_trace(args))


async def _trace(args: argparse.Namespace) -> int:
    import orjson

    from slmesh.cli.commands.trace.waterfall import as_json, collect, render
    from slmesh.runtime.settings import MeshSettings

    tree = await collect(MeshSettings(), args.request_id)
    if tree.received_ms is None and not tree.calls and tree.response is None:
        print(f"no record of request {args.request_id} on the mesh's topics", file=sys.stderr)
        return NOT_FOUND
    print(orjson.dumps(as_json(tree)).decode() if args.json else render(tree))
    return 0

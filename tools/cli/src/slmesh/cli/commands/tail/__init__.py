"""`slmesh tail <topic>`: a topic's records as they come, one line each (`lines`)."""

from __future__ import annotations

import argparse

from slmesh.cli.readers import run_reader

NAME = "tail"
HELP = "a topic's records as they come, one line each"
DESCRIPTION = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic", help="e.g. slmesh.requests, or requests, tasks.vat-rates")
    parser.add_argument("--from-beginning", action="store_true", help="what it holds, first")
    parser.add_argument("--request-id", help="only this request's records")
    parser.add_argument("--type", help="only this event type (TaskCompleted, ...)")
    parser.add_argument("--max", type=int, help="stop after this many records")
    parser.add_argument("--timeout", type=float, help="stop after this many quiet seconds")
    parser.add_argument("--json", action="store_true", help="one JSON object per record")


def run(args: argparse.Namespace) -> int:
    return run_reader(_tail(args))


async def _tail(args: argparse.Namespace) -> int:
    from slmesh.cli.commands.tail.lines import tail
    from slmesh.runtime.settings import MeshSettings

    await tail(
        MeshSettings(),
        args.topic,
        from_beginning=args.from_beginning,
        request_id=args.request_id,
        kind=args.type,
        limit=args.max,
        quiet_s=args.timeout,
        as_json=args.json,
        out=lambda line: print(line, flush=True),
    )
    return 0

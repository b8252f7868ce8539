"""`slmesh replay`: records picked from the topics, printed or published again.

- `selection`: which records (pure).
- `republishing`: records published again, marked as replays; or printed (`--dry-run`).
- `requests`: requests again under new request ids (`--as-new`), each new answer beside
  the recorded one (`--compare`).
"""

from __future__ import annotations

import argparse
import sys

from slmesh.cli.conventions import NO_BROKER, NO_RESPONSE, NOT_FOUND
from slmesh.cli.readers import run_reader

NAME = "replay"
HELP = "print or publish again records picked from the topics"
DESCRIPTION = (
    "A request published again as it was is answered once only (the "
    "orchestrator answers a request id once): --as-new replays requests under new "
    "request ids, answered on the mesh's responses topic, and --compare shows each "
    f"answer beside the original. Exit code: 0 done, {NO_BROKER} no broker, "
    f"{NOT_FOUND} nothing selected, {NO_RESPONSE} a replayed request got no answer."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", action="append", help="a topic to replay from (repeatable)")
    parser.add_argument("--all", action="store_true", help="every mesh topic")
    parser.add_argument("--partition", type=int)
    parser.add_argument("--from-offset", type=int)
    parser.add_argument("--to-offset", type=int, help="inclusive")
    parser.add_argument("--since", help="ISO time, or 90s / 10m / 2h / 1d ago")
    parser.add_argument("--until", help="ISO time, or 90s / 10m / 2h / 1d ago")
    parser.add_argument("--request-id", action="append", help="repeatable")
    parser.add_argument("--type", help="event type (TaskRequested, slmesh.TaskCompleted, ...)")
    parser.add_argument("--micromodel", help="only records about this micromodel")
    parser.add_argument("--dry-run", action="store_true", help="print JSON lines, publish nothing")
    parser.add_argument("--to", help="publish to this topic instead of each record's own")
    parser.add_argument("--rate", type=float, help="at most this many records a second")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--as-new", action="store_true", help="requests, under new request ids")
    parser.add_argument("--compare", action="store_true", help="with --as-new: new beside old")
    parser.add_argument("--timeout", type=float, default=120.0, help="--compare: seconds to wait")


def run(args: argparse.Namespace) -> int:
    return run_reader(_replay(args))


async def _replay(args: argparse.Namespace) -> int:
    if args.compare and not args.as_new:
        print("--compare compares a request's new answer: it needs --as-new", file=sys.stderr)
        return 2

    from slmesh.cli.commands.replay.republishing import Progress, dry_run_lines, republish
    from slmesh.cli.commands.replay.requests import replay_requests
    from slmesh.cli.commands.replay.selection import Selection, parse_time
    from slmesh.cli.records import mesh_topic_names, read_to_end, topic_name
    from slmesh.runtime.settings import MeshSettings

    settings = MeshSettings()
    selection = Selection(
        partition=args.partition,
        from_offset=args.from_offset,
        to_offset=args.to_offset,
        since=parse_time(args.since) if args.since else None,
        until=parse_time(args.until) if args.until else None,
        request_ids=frozenset(args.request_id or ()),
        kind="RequestSubmitted" if args.as_new else args.type,
        micromodel=args.micromodel,
    )
    if args.all:
        topics = await mesh_topic_names(settings)
    elif args.as_new:
        topics = [settings.requests_topic]
    else:
        topics = [topic_name(t) for t in args.topic or ()]
    if not topics:
        print("say what to replay: --topic T (repeatable), --all, or --as-new", file=sys.stderr)
        return 2
    records = [s async for s in read_to_end(settings, topics) if selection.matches(s)]
    if not records:
        print("no record matches the selection", file=sys.stderr)
        return NOT_FOUND
    if args.dry_run:
        for line in dry_run_lines(records):
            print(line)
        return 0
    progress = Progress(len(records), quiet=args.quiet)
    if args.as_new:
        compare_s = args.timeout if args.compare else None
        return await replay_requests(settings, records, progress, compare_s=compare_s)
    count = await republish(settings, records, to_topic=args.to, rate=args.rate, progress=progress)
    print(f"republished {count} record(s) to {args.to or 'their own topics'}")
    return 0

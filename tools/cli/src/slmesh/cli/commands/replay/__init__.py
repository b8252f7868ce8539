"""`slmesh replay`: records picked from the topics, printed or published again.

- `selection`: which records (pure).
- `republishing`: records published again, marked as replays; or printed (`--dry-run`).
- `requests`: requests again under new request ids (`--as-new`), each new answer beside
  the recorded one (`--compare`).
- `callers`: whose request each is, proven so, and the caller's party a new one is proven as.
- `expiry`: which requests the orchestrator no longer remembers answering (`--yes`).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from slmesh.cli.conventions import NO_BROKER, NO_RESPONSE, NOT_FOUND, REFUSED
from slmesh.cli.readers import run_reader

if TYPE_CHECKING:
    from slmesh.cli.commands.replay.expiry import ReplaySettings
    from slmesh.cli.records import Seen

NAME = "replay"
HELP = "print or publish again records picked from the topics"
DESCRIPTION = (
    "A request published again as it was is answered once only (the "
    "orchestrator answers a request id once, for as long as it remembers: "
    "SLMESH_GATHER_TTL_S): --as-new replays requests under new request ids, proven as "
    "their original caller's (this needs that caller's secret) and answered on that "
    "caller's own response topic, and --compare shows each answer beside the original. "
    "Requests older than the orchestrator remembers are not republished as they were: "
    "their callers would be answered twice; --yes replays them as new instead. Exit "
    f"code: 0 done, 2 usage (or such requests without --yes), {NO_BROKER} no broker, "
    f"{NOT_FOUND} nothing selected, {NO_RESPONSE} a replayed request got no answer, "
    f"{REFUSED} a request cannot be replayed as its caller's (nothing was replayed)."
)

# argparse's own code for a usage error: the command was not told enough to go on.
USAGE = 2


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
    parser.add_argument(
        "--yes",
        action="store_true",
        help="replay requests older than the orchestrator remembers, as new requests",
    )
    parser.add_argument(
        "--gather-ttl-s",
        type=int,
        help="how long the orchestrator remembers a request (default: SLMESH_GATHER_TTL_S, "
        "else 3600)",
    )


def run(args: argparse.Namespace) -> int:
    return run_reader(_replay(args))


async def _replay(args: argparse.Namespace) -> int:
    if args.compare and not args.as_new:
        print("--compare compares a request's new answer: it needs --as-new", file=sys.stderr)
        return USAGE

    from slmesh.cli.commands.replay.expiry import ReplaySettings
    from slmesh.cli.commands.replay.republishing import dry_run_lines
    from slmesh.cli.commands.replay.selection import Selection, parse_time
    from slmesh.cli.records import mesh_topic_names, read_to_end, topic_name

    settings = ReplaySettings()
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
        return USAGE
    records = [s async for s in read_to_end(settings, topics) if selection.matches(s)]
    if not records:
        print("no record matches the selection", file=sys.stderr)
        return NOT_FOUND
    if args.dry_run:
        for line in dry_run_lines(records):
            print(line)
        return 0
    return await _publish(args, settings, records)


async def _publish(args: argparse.Namespace, settings: ReplaySettings, records: list[Seen]) -> int:
    """The records published again; requests the orchestrator would answer twice, as new
    ones or not at all; nothing at all when a request cannot be replayed as its caller's."""
    from datetime import UTC, datetime

    from slmesh.cli.commands.replay.callers import vouch_requests
    from slmesh.cli.commands.replay.expiry import expired_requests
    from slmesh.cli.commands.replay.republishing import Progress, republish
    from slmesh.cli.commands.replay.requests import replay_requests

    if args.as_new:
        # Under new request ids: none is answered twice, however old.
        as_new, as_they_were = records, []
    else:
        ttl_s = args.gather_ttl_s or settings.gather_ttl_s
        as_new = expired_requests(
            records,
            now=datetime.now(UTC),
            ttl_s=ttl_s,
            requests_topic=settings.requests_topic,
            to_topic=args.to,
        )
        if as_new and not args.yes:
            print(
                f"{len(as_new)} of the selected requests are older than the orchestrator "
                f"remembers what it answered (gather state lifetime {ttl_s} s, "
                "SLMESH_GATHER_TTL_S or --gather-ttl-s): republished as they were, their "
                "callers would be answered twice. --yes replays them as new requests instead "
                "(new request ids, proven as and answered to their own callers). Nothing "
                "was replayed.",
                file=sys.stderr,
            )
            return USAGE
        expired = {id(seen) for seen in as_new}
        as_they_were = [seen for seen in records if id(seen) not in expired]
    vouched, refused = await vouch_requests(settings, as_new) if as_new else ([], [])
    if refused:
        for request in refused:
            print(f"cannot replay {request.seen.request_id} as new: {request.reason}")
        print(
            f"{len(refused)} of {len(as_new)} requests cannot be replayed as their callers'; "
            "nothing was replayed",
            file=sys.stderr,
        )
        return REFUSED
    progress = Progress(len(records), quiet=args.quiet)
    if as_they_were:
        count = await republish(
            settings, as_they_were, to_topic=args.to, rate=args.rate, progress=progress
        )
        print(f"republished {count} record(s) to {args.to or 'their own topics'}")
    if not vouched:
        return 0
    compare_s = args.timeout if args.compare else None
    return await replay_requests(settings, vouched, progress, compare_s=compare_s)

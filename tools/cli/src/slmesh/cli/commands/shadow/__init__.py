"""`slmesh shadow <micromodel>`: a candidate version answers a micromodel's recorded tasks,
beside the live flow, and its answers are set against the recorded ones (`evaluation`);
restricted tasks stay where they are, and production topics are the operators' to make
(`admission`)."""

from __future__ import annotations

import argparse
import sys

from slmesh.cli.conventions import NO_BROKER, NO_RESPONSE, NOT_FOUND, REFUSED
from slmesh.cli.readers import run_reader

NAME = "shadow"
HELP = "a candidate version answers a micromodel's recorded tasks; compared"
DESCRIPTION = (
    "Start the candidate first, as a micromodel process with "
    "SLMESH_SHADOW_TOPIC=slmesh.shadow.<micromodel> (it consumes that topic in a group "
    "of its own and never announces itself: the live flow is untouched). Tasks of "
    "restricted data are not copied unless --include-restricted; in production "
    "(SLMESH_DEPLOYMENT=production) the shadow topics must exist already. Exit code: 0 "
    f"every task answered, {NO_RESPONSE} some were not in time, {NOT_FOUND} no task "
    f"matches (or only restricted ones, or a shadow topic is missing), {NO_BROKER} no broker, "
    f"{REFUSED} a candidate topic outside slmesh.shadow.*."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("micromodel")
    parser.add_argument("--candidate-topic", help="default: slmesh.shadow.<micromodel>")
    parser.add_argument("--since", help="ISO time, or 90s / 10m / 2h / 1d ago")
    parser.add_argument("--until", help="ISO time, or 90s / 10m / 2h / 1d ago")
    parser.add_argument("--request-id", action="append", help="repeatable")
    parser.add_argument("--rate", type=float, help="at most this many tasks a second")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for replies")
    parser.add_argument("--json", action="store_true", help="the report as JSON")
    parser.add_argument(
        "--include-restricted",
        action="store_true",
        help="copy tasks of restricted data to the candidate too",
    )


def run(args: argparse.Namespace) -> int:
    return run_reader(_shadow(args))


async def _shadow(args: argparse.Namespace) -> int:
    import orjson

    from slmesh.cli.commands.replay.selection import Selection, parse_time
    from slmesh.cli.commands.shadow.admission import candidate_topic_refusal
    from slmesh.cli.commands.shadow.evaluation import format_report, run_shadow
    from slmesh.runtime.kafka.topics import SHADOW_REPLIES
    from slmesh.runtime.settings import MeshSettings

    settings = MeshSettings()
    if args.candidate_topic is not None:
        refused = candidate_topic_refusal(args.candidate_topic, SHADOW_REPLIES)
        if refused is not None:
            print(f"--candidate-topic: {refused}", file=sys.stderr)
            return REFUSED
    selection = Selection(
        since=parse_time(args.since) if args.since else None,
        until=parse_time(args.until) if args.until else None,
        request_ids=frozenset(args.request_id or ()),
    )
    from slmesh.runtime.trust import TrustUnavailable

    try:
        report = await run_shadow(
            settings,
            args.micromodel,
            selection,
            candidate_topic=args.candidate_topic,
            timeout_s=args.timeout,
            rate=args.rate,
            include_restricted=args.include_restricted,
        )
    except TrustUnavailable as exc:
        print(f"slmesh shadow: the operator cannot prove shadow tasks: {exc}", file=sys.stderr)
        return REFUSED
    if args.json:
        summary = report.summary()
        summary["pairs"] = [{**vars(p), "same": p.same} for p in report.pairs]
        print(orjson.dumps(summary).decode())
    else:
        print(format_report(report))
    if not report.pairs:
        return NOT_FOUND
    return 0 if len(report.answered) == len(report.pairs) else NO_RESPONSE

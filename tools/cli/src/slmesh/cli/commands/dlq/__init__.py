"""`slmesh dlq`: the dead letters listed, shown or requeued to the topics they came from
(read and requeued by slmesh.runtime.kafka.deadletters)."""

from __future__ import annotations

import argparse

from slmesh.cli.text import short

NAME = "dlq"
HELP = "list, show and requeue dead letters"
DESCRIPTION = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "show", "requeue"])
    parser.add_argument("ids", nargs="*", metavar="PARTITION:OFFSET", help="dead letters by id")
    parser.add_argument("--all", action="store_true", help="every dead letter (with --code: those)")
    parser.add_argument("--code", help="only dead letters with this error code")
    parser.add_argument("--limit", type=int, default=50, help="list: the latest N")


def run(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(_dlq(args))


async def _dlq(args: argparse.Namespace) -> int:
    from slmesh.runtime.kafka.deadletters import read_dead_letters, requeue
    from slmesh.runtime.settings import MeshSettings

    settings = MeshSettings()
    letters = await read_dead_letters(settings)
    if args.action == "list":
        shown = [d for d in letters if args.code in (None, d.code)]
        if not shown:
            print(f"no dead letters on {settings.deadletter_topic}")
        for d in shown[-args.limit :]:
            print(
                f"{d.id:>8}  {d.timestamp:%Y-%m-%d %H:%M:%S}  {d.service:<14} {d.code:<26} "
                f"from {d.original_topic}: {short(d.error, 70)}"
            )
        return 0
    wanted = set(args.ids)
    chosen = [d for d in letters if d.id in wanted or (args.all and args.code in (None, d.code))]
    missing = wanted - {d.id for d in chosen}
    if missing:
        print(f"no dead letter {', '.join(sorted(missing))} on {settings.deadletter_topic}")
        return 1
    if args.action == "show":
        for d in chosen:
            print(f"dead letter {d.id} ({d.timestamp.isoformat()})")
            for name, value in sorted(d.headers.items()):
                print(f"  {name}: {value}")
            print(f"  key: {d.key.decode(errors='replace') if d.key else '-'}")
            print(f"  body ({len(d.value)} bytes): {d.value[:4000].decode(errors='replace')}")
        return 0
    for letter, topic in await requeue(settings, chosen):
        print(f"requeued {letter.id} to {topic}")
    return 0

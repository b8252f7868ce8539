"""`slmesh dlq`: the dead letters listed, shown or requeued to the mesh topics they came from
(read and requeued by slmesh.runtime.kafka.deadletters).

- `destinations`: which topics a dead letter may be requeued to (pure).
- `confirmation`: the operator's yes before `requeue --all` writes.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from slmesh.cli.conventions import REFUSED
from slmesh.cli.text import short

if TYPE_CHECKING:
    from slmesh.runtime.kafka.deadletters import DeadLetter
    from slmesh.runtime.settings import MeshSettings

NAME = "dlq"
HELP = "list, show and requeue dead letters"
DESCRIPTION = (
    "requeue puts a dead letter back on the topic it came from, key, value and headers as "
    "they were, when that is the requests topic, the replies topic or a task topic; a "
    "letter naming any other topic is skipped and said. requeue --all asks first (--yes: "
    f"do not ask). Exit code: 0 done, 1 no such dead letter, 2 not confirmed, {REFUSED} "
    "some letters were skipped."
)

# argparse's own code for a usage error: the command was not told enough to go on.
NOT_CONFIRMED = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "show", "requeue"])
    parser.add_argument("ids", nargs="*", metavar="PARTITION:OFFSET", help="dead letters by id")
    parser.add_argument("--all", action="store_true", help="every dead letter (with --code: those)")
    parser.add_argument("--code", help="only dead letters with this error code")
    parser.add_argument("--limit", type=int, default=50, help="list: the latest N")
    parser.add_argument("--yes", action="store_true", help="requeue --all: do not ask")


def run(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(_dlq(args))


async def _dlq(args: argparse.Namespace) -> int:
    from slmesh.runtime.kafka.deadletters import read_dead_letters
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
    return await _requeue(settings, chosen, every=args.all, assumed=args.yes)


async def _requeue(
    settings: MeshSettings, chosen: list[DeadLetter], *, every: bool, assumed: bool
) -> int:
    from slmesh.cli.commands.dlq.confirmation import Consent, consent
    from slmesh.cli.commands.dlq.destinations import plan_requeue, refused_line
    from slmesh.runtime.kafka.deadletters import requeue

    plan = plan_requeue(chosen, settings)
    for letter, why in plan.refused:
        print(refused_line(letter, why))
    if plan.requeued and every:
        where = ", ".join(f"{topic} ({count})" for topic, count in plan.topics().items())
        question = f"requeue {len(plan.requeued)} dead letters to {where}? [y/N]"
        answer = consent(question, assumed=assumed)
        if answer is Consent.NO_TERMINAL:
            print(
                f"requeue --all would write {len(plan.requeued)} dead letters to {where}; "
                "with no terminal to ask on, pass --yes to mean it. Nothing was requeued.",
                file=sys.stderr,
            )
            return NOT_CONFIRMED
        if answer is Consent.DECLINED:
            print("nothing was requeued", file=sys.stderr)
            return NOT_CONFIRMED
    if plan.requeued:
        for letter, topic in await requeue(settings, plan.requeued):
            print(f"requeued {letter.id} to {topic}")
    if plan.refused:
        print(
            f"skipped {len(plan.refused)} of {len(chosen)} dead letters: they name no topic "
            "a dead letter is requeued to",
            file=sys.stderr,
        )
        return REFUSED
    return 0

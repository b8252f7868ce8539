"""The `slmesh` command: the parser built from the commands' own arguments, and the
command named run.

Every command is a module of `slmesh.cli.commands` that imports at its top only what
its arguments need: `slmesh --help` and parsing import no Kafka client, Redis, pydantic
or runtime, and `run` brings in what its command uses, and no more.
"""

from __future__ import annotations

import argparse
import sys

from slmesh.cli.commands import (
    Command,
    ask,
    dev,
    dlq,
    lag,
    pipelines,
    registry,
    replay,
    schemas,
    shadow,
    tail,
    topics,
    trace,
    trust,
)
from slmesh.cli.conventions import INVALID_SETTINGS

DESCRIPTION = "`slmesh`: run the mesh locally, ask it things, write the contract files."

# In the order `slmesh --help` lists them.
COMMANDS: tuple[Command, ...] = (
    dev,
    ask,
    dlq,
    topics,
    tail,
    lag,
    registry,
    pipelines,
    trace,
    replay,
    shadow,
    trust,
    schemas,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slmesh", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_arguments(
            sub.add_parser(command.NAME, help=command.HELP, description=command.DESCRIPTION)
        )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    # Imported once the arguments are good: `--help` and a usage error need no logging.
    import logging

    from slmesh.runtime.service.logs import configure_logging
    from slmesh.runtime.settings_errors import InvalidSettingsError

    configure_logging("WARNING")
    # The dev stack narrates its own progress; library INFO lines would drown it.
    logging.getLogger("slmesh").setLevel(logging.WARNING)
    command = next(c for c in COMMANDS if args.command == c.NAME)
    try:
        code = command.run(args)
    except InvalidSettingsError as exc:
        # Said without a traceback: the message names each variable, never its value.
        print(f"slmesh {args.command}: {exc}", file=sys.stderr)
        code = INVALID_SETTINGS
    sys.exit(code)

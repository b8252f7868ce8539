"""The `slmesh` commands, a module or a package each, named as the command.

Each one is a `Command`: its name, help and description, `add_arguments(parser)`,
and `run(args) -> int` (the exit code). At its top it imports only what building the
parser needs (argparse, the exit codes, the defaults); `run` imports what the command
uses, so `slmesh --help` loads no Kafka, Redis or pydantic, and a command loads none of
another's libraries. A package holds the modules of its command's work beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import argparse


class Command(Protocol):
    """What `slmesh.cli.main` needs of a command module to parse and run it."""

    @property
    def NAME(self) -> str: ...  # noqa: N802 (a module's constant)

    @property
    def HELP(self) -> str: ...  # noqa: N802

    @property
    def DESCRIPTION(self) -> str | None: ...  # noqa: N802

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...

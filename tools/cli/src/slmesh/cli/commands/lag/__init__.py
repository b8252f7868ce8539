"""`slmesh lag`: each consumer group of the mesh, how far behind it is per topic (`report`)."""

from __future__ import annotations

import argparse

from slmesh.cli.readers import run_reader

NAME = "lag"
HELP = "each consumer group's lag per topic (a micromodel's: its name)"
DESCRIPTION = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments: every consumer group of the mesh is shown."""


def run(args: argparse.Namespace) -> int:
    return run_reader(_lag())


async def _lag() -> int:
    from slmesh.cli.commands.lag.report import format_lags, group_lags
    from slmesh.runtime.settings import MeshSettings

    print(format_lags(await group_lags(MeshSettings())))
    return 0

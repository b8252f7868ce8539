"""`slmesh registry`: the micromodels announced, their versions, replicas and last
heartbeats, read as the orchestrator reads them (`replicas`)."""

from __future__ import annotations

import argparse

from slmesh.cli.readers import run_reader

NAME = "registry"
HELP = "micromodels announced: versions, replicas, last heartbeat"
DESCRIPTION = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments: every micromodel announced is shown."""


def run(args: argparse.Namespace) -> int:
    return run_reader(_registry())


async def _registry() -> int:
    from slmesh.cli.commands.registry.replicas import format_registry, registry_rows
    from slmesh.runtime.settings import MeshSettings

    print(format_registry(await registry_rows(MeshSettings())))
    return 0

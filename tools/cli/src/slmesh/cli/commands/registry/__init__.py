"""`slmesh registry`: the micromodels announced, their versions, replicas and last
heartbeats, and the cards refused with why, read as the orchestrator reads them
(`replicas`)."""

from __future__ import annotations

import argparse

from slmesh.cli.readers import run_reader

NAME = "registry"
HELP = "micromodels and pipelines announced: versions, replicas, last heartbeat; cards refused"
DESCRIPTION = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments: every micromodel announced is shown."""


def run(args: argparse.Namespace) -> int:
    return run_reader(_registry())


async def _registry() -> int:
    from slmesh.cli.commands.registry.replicas import format_registry, registry_view
    from slmesh.runtime.settings import MeshSettings

    view = await registry_view(MeshSettings())
    print(format_registry(view.replicas, view.refused, view.pipelines))
    return 0

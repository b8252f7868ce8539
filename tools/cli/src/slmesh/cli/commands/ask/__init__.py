"""`slmesh ask`: a request to a running mesh, and its response printed.

- `answer`: the request sent, its answer awaited and printed (also `slmesh dev --ask`'s).
- `liveness`: is an orchestrator taking requests? Checked before and while it waits.
"""

from __future__ import annotations

import argparse

from slmesh.cli.conventions import (
    INVALID_SETTINGS,
    NO_BROKER,
    NO_ORCHESTRATOR,
    NO_RESPONSE,
    SAMPLE_REQUEST,
)

NAME = "ask"
HELP = "send a request to a running mesh and print the response"
DESCRIPTION = (
    "The request is proven as the caller SLMESH_IDENTITY names (default: dev) with its key "
    "from the keyring (SLMESH_KEYRING_DIR; `slmesh dev` fills the dev one) or "
    "SLMESH_SIGNING_KEY_FILE, and its answer read from that caller's own response topic. "
    "Exit code: 0 answered, 1 answered with status failed, "
    f"{NO_RESPONSE} no response in time, {NO_ORCHESTRATOR} no orchestrator is taking "
    f"requests, {NO_BROKER} the broker cannot be reached, {INVALID_SETTINGS} no identity to "
    "prove the request with."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="?", default=SAMPLE_REQUEST)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait")
    parser.add_argument("--json", action="store_true", help="print the RequestCompleted event")
    add_request_arguments(parser)


def add_request_arguments(parser: argparse.ArgumentParser) -> None:
    """What a request says beyond its text: `slmesh ask`'s and `slmesh dev --ask`'s."""
    parser.add_argument(
        "--classification",
        choices=["public", "internal", "confidential", "restricted"],
        help="the request's data classification (default: the mesh's, internal)",
    )
    parser.add_argument(
        "--pipeline",
        metavar="NAME",
        help="run this declared pipeline on the text (or on --arguments) instead of planning",
    )
    parser.add_argument(
        "--arguments",
        metavar="JSON",
        help='the pipeline\'s arguments, a JSON object (default: {"text": TEXT})',
    )
    parser.add_argument(
        "--request",
        metavar="FILE",
        help="a JSON file with the request's data (input, classification, calls, ...): "
        "sent as it is, the text argument ignored",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio

    from slmesh.cli.commands.ask.answer import ask, request_data
    from slmesh.runtime.settings import MeshSettings

    data = request_data(args.text, args.classification, args.request, args.pipeline, args.arguments)
    if data is None:
        return 2
    return asyncio.run(ask(MeshSettings(), data, args.timeout, args.json))

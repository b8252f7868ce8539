"""`slmesh pipelines`: the declared pipelines a mesh runs, read from their files as the
orchestrator reads them (SLMESH_PIPELINES_DIR, else ./pipelines): each one's name and
version, what it does, its steps in order (map, switch), what it takes and gives, and
how the planner routes to it. A file that does not load is named with why (exit 1).
With --registry: the pipelines the running mesh's orchestrators announce, as any caller
discovers them, with how many replicas run each."""

from __future__ import annotations

import argparse
import os

NAME = "pipelines"
HELP = "the declared pipelines: steps, arguments, output, routing"
DESCRIPTION = None
# Where the dev stack's orchestrators read them (slmesh dev --pipelines).
DEFAULT_DIR = "pipelines"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        default=os.environ.get("SLMESH_PIPELINES_DIR", DEFAULT_DIR),
        help="the directory of pipeline files (default: SLMESH_PIPELINES_DIR, else ./pipelines)",
    )
    parser.add_argument("--json", action="store_true", help="print the pipelines as JSON")
    parser.add_argument(
        "--registry",
        action="store_true",
        help="the pipelines the running mesh announces in its registry, not the files",
    )


def run(args: argparse.Namespace) -> int:
    if args.registry:
        from slmesh.cli.readers import run_reader

        return run_reader(_announced(as_json=args.json))
    from pathlib import Path

    import orjson

    from slmesh.runtime.pipeline_files import PipelineFileError, load_pipelines

    try:
        pipelines = load_pipelines(Path(args.dir))
    except PipelineFileError as exc:
        print(f"cannot load the pipelines: {exc}")
        return 1
    if args.json:
        dumped = [p.model_dump(mode="json", exclude_none=True) for p in pipelines.values()]
        print(orjson.dumps(dumped, option=orjson.OPT_INDENT_2).decode())
        return 0
    if not pipelines:
        print(f"no pipelines in {args.dir}")
        return 0
    from slmesh.cli.commands.pipelines.text import describe

    print("\n\n".join(describe(p) for p in pipelines.values()))
    return 0


async def _announced(*, as_json: bool) -> int:
    import orjson

    from slmesh.cli.commands.pipelines.text import describe_card
    from slmesh.cli.commands.registry.replicas import read_snapshot
    from slmesh.runtime.settings import MeshSettings

    snapshot = await read_snapshot(MeshSettings())
    live = {
        name: listed
        for name, listed in snapshot.pipelines.items()
        if listed.live_replicas(snapshot.now)
    }
    if as_json:
        cards = [listed.card.model_dump(mode="json", exclude_none=True) for listed in live.values()]
        print(orjson.dumps(cards, option=orjson.OPT_INDENT_2).decode())
        return 0
    if not live:
        print("no pipeline is announced (is the mesh running with pipelines? `slmesh dev`)")
        return 0
    print(
        "\n\n".join(
            describe_card(
                listed.card,
                len(listed.live_replicas(snapshot.now)),
                len(listed.digests(snapshot.now)),
            )
            for listed in live.values()
        )
    )
    return 0

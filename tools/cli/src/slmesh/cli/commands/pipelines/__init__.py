"""`slmesh pipelines`: the declared pipelines a mesh runs, read from their files as the
orchestrator reads them (SLMESH_PIPELINES_DIR, else ./pipelines): each one's name and
version, what it does, its steps in order (map, switch), what it takes and gives, and
how the planner routes to it. A file that does not load is named with why (exit 1)."""

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


def run(args: argparse.Namespace) -> int:
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

"""`slmesh schemas`: the contract's JSON Schema files and AsyncAPI document written, or
checked to be current (`--check`), from slmesh.schemas.export."""

from __future__ import annotations

import argparse

NAME = "schemas"
HELP = "write the JSON Schema files and AsyncAPI document"
DESCRIPTION = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="libs/schemas/contract", help="output directory")
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from slmesh.schemas.export import stale_files, write

    out = Path(args.out)
    if args.check:
        stale = stale_files(out)
        if stale:
            print(f"stale contract files in {out}: {', '.join(stale)}; run `make schemas`")
            return 1
        print(f"contract files in {out} are up to date")
        return 0
    for path in write(out):
        print(f"wrote {path}")
    return 0

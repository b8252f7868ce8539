"""`make demo-pipelines`: the mesh started as `slmesh dev` starts it, each example
pipeline request (examples/pipelines/*.json) asked once, and each answer printed step by
step as `slmesh ask` prints it.

    python scripts/demo_pipelines.py [REQUEST.json ...]

Exit status 1 when an answer is not ok.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from slmesh.cli.commands.ask.answer import format_response
from slmesh.cli.devstack import DEFAULT_MICROMODELS, DevStack, DevStackConfig
from slmesh.runtime.client import MeshClient

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples" / "pipelines"


async def demo(requests: list[tuple[str, dict[str, Any]]]) -> int:
    config = DevStackConfig(
        micromodels=dict(DEFAULT_MICROMODELS),
        broker_port=None,
        own_redis=True,
        workdir=Path(tempfile.mkdtemp(prefix="slmesh-demo-pipelines-")),
        pipelines_dir=ROOT / "pipelines",
    )
    worst = 0
    started = time.perf_counter()
    async with DevStack(config) as stack, MeshClient(stack.settings()) as client:
        print(f"mesh up in {time.perf_counter() - started:.1f} s\n")
        for name, data in requests:
            text = data.pop("input")
            asked = time.perf_counter()
            response = await client.ask(text, timeout_s=150, timeout_ms=120_000, **data)
            print(f"== {name}")
            print(format_response(response, (time.perf_counter() - asked) * 1000))
            print()
            worst = max(worst, 0 if response.data.status == "ok" else 1)
    return worst


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=sorted(EXAMPLES.glob("*.json")))
    paths: list[Path] = parser.parse_args(argv).paths
    return asyncio.run(demo([(p.name, orjson.loads(p.read_bytes())) for p in paths]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

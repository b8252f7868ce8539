"""Chain efficiency: how much of a request's time is model time, and what the mesh costs a model.

1. End-to-end time of an LLM-planned mixed request (VAT for three countries,
   plus a clause no card's words place, which the planner model routes to the summarizer)
   against the model time on its critical path: planner + the slower of (the
   slowest parallel task, the composer's opening, which is written while the
   tasks run). Target: <= 1.05x.
2. The summarizer's inference speed inside the mesh (tokens per second of its
   own model time, from its replies to explicit calls) against bare llama-cpp-python on the same
   model, prompt and settings, in the same run and the same conditions (the
   mesh up). Target: >= 0.95x. The bare speed on a quiet machine (mesh
   stopped) is printed too: the difference is what an idle mesh costs a model.

Run: `uv run python -m bench.chain_efficiency [--requests N]` (`make bench-chain`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import median, ratio, verdict
from slmesh.cli.devstack import DEFAULT_MICROMODELS, DevStack, DevStackConfig
from slmesh.runtime.client import MeshClient
from slmesh.runtime.llm import LocalModel, ModelSession, ModelSettings
from slmesh.summarizer.micromodel import SummaryRequest, summarize

TEXT = (
    "Heavy snow closed the mountain pass on Friday night. Police turned back more than two "
    "hundred trucks, and the road authority expects to reopen one lane by Sunday noon."
)
REQUEST = (
    "What are the VAT rates in Germany, France and Italy, and give me the main point of this "
    f"story: {TEXT}"
)


Sides = tuple[list[float], list[float], list[float], list[float], list[float]]


async def mesh_side(requests: int) -> Sides:
    """(end-to-end ms, critical-path model ms, planner model ms, mesh tok/s, bare tok/s
    beside the mesh)."""
    services = {k: DEFAULT_MICROMODELS[k] for k in ("vat-rates", "summarizer")}
    workdir = Path(tempfile.mkdtemp(prefix="slmesh-chain-"))
    config = DevStackConfig(micromodels=services, broker_port=None, own_redis=True, workdir=workdir)
    e2e: list[float] = []
    model_ms: list[float] = []
    planner_ms: list[float] = []
    speed: list[float] = []
    async with DevStack(config) as stack, MeshClient(stack.settings()) as client:
        for i in range(requests + 2):
            started = time.perf_counter()
            response = await client.ask(REQUEST, timeout_s=120, timeout_ms=60_000)
            elapsed = (time.perf_counter() - started) * 1000
            data = response.data
            if data.status != "ok":
                raise RuntimeError(f"request failed: {data.answer}")
            if i < 2:  # warm-up
                continue
            slowest = max(c.latency_ms or 0.0 for c in data.calls)
            planning = data.planning.latency_ms if data.planning else 0.0
            composing = data.composing.latency_ms if data.composing else 0.0
            e2e.append(elapsed)
            model_ms.append(planning + max(slowest, composing))
            planner_ms.append(planning)
        # Speed alone: the summarizer called explicitly, so no planner or composer
        # inference on the same two cores runs beside it.
        call = {"micromodel": "summarizer", "arguments": {"text": TEXT}}
        for i in range(requests + 2):
            response = await client.ask("summary", timeout_s=120, timeout_ms=60_000, calls=[call])
            done = response.data.calls[0]
            if i < 2 or done.tokens is None or not done.latency_ms:
                continue
            tokens = done.tokens.prompt + done.tokens.completion
            speed.append(tokens / (done.latency_ms / 1000))
        beside = bare_side(requests)  # same run, same conditions: the mesh is up
    return e2e, model_ms, planner_ms, speed, beside


def bare_side(requests: int) -> list[float]:
    """Tokens/s of the same summarizer call on bare llama-cpp-python, same settings."""
    model = LocalModel.load(ModelSettings())
    request = SummaryRequest(text=TEXT)
    speeds = []
    for i in range(requests + 2):
        session = ModelSession(model)
        started = time.perf_counter()
        summarize(request, session)
        seconds = time.perf_counter() - started
        if i >= 2:
            speeds.append((session.usage.prompt_tokens + session.usage.completion_tokens) / seconds)
    return speeds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args(argv)
    e2e, model_ms, planner_ms, mesh_speed, bare_speed = asyncio.run(mesh_side(args.requests))
    quiet_speed = bare_side(args.requests)
    e2e_ratio = ratio(median(e2e), median(model_ms))
    speed_ratio = ratio(median(mesh_speed), median(bare_speed))
    print(f"\nslmesh chain efficiency ({args.requests} requests, medians)")
    print(f"request: {REQUEST[:70]}...")
    print(f"  end to end            {median(e2e):8.1f} ms")
    print(f"  model time on path    {median(model_ms):8.1f} ms  (planner + max(task, composer))")
    print(
        f"  ratio                 {e2e_ratio:8.3f}x  target <= 1.05x  {verdict(e2e_ratio <= 1.05)}"
    )
    planning = median(planner_ms)
    print(
        f"  planner model time    {planning:8.1f} ms  (the clause no card's words place) "
        f"target <= 300 ms  {verdict(planning <= 300)}"
    )
    print("summarizer inference speed (prompt + completion tokens per second of model time)")
    print(f"  in the mesh           {median(mesh_speed):8.1f} tok/s")
    print(f"  bare llama-cpp-python {median(bare_speed):8.1f} tok/s  (same run, mesh up)")
    print(f"  bare, quiet machine   {median(quiet_speed):8.1f} tok/s  (mesh stopped; context only)")
    print(
        f"  ratio                 {speed_ratio:8.3f}x  target >= 0.95x  "
        f"{verdict(speed_ratio >= 0.95)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

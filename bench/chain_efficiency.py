"""Chain efficiency: how much of a request's time is model time, and what the mesh costs a model.

1. End-to-end time of a mixed request (VAT for three countries, and what a story is
   about, which the summarizer's card routes)
   against the model time on its critical path: planner + the slower of (the
   slowest parallel task, the composer's opening, which is written while the
   tasks run). Target: <= 1.05x.
2. The summarizer's inference speed inside the mesh (tokens per second of its
   own model time, from its replies to explicit calls) against bare llama-cpp-python on the same
   model, prompt and settings, in the same run and the same conditions (the
   mesh up). Target: >= 0.95x. The bare speed on a quiet machine (mesh
   stopped) is printed too: the difference is what an idle mesh costs a model.

3. A declared pipeline's end-to-end time (support-triage on a complaint: the classifier,
   then the summarizer on the branch its label takes) against the model time on its
   critical path: each step's slowest call, summed over its steps (a chain: one step a
   round). Target: <= 1.1x.

4. The planner's own time per request, in this process over the default mesh's micromodels' real
   cards (after the mesh is stopped): a request the cards plan, and one whose clause no
   card's words place, so that the planner's model routes it. Target: <= 300 ms p50.

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
    f"What are the VAT rates in Germany, France and Italy, and what is this story about: {TEXT}"
)


# A complaint: support-triage classifies it, then sums it up (two rounds, two models).
COMPLAINT = (
    "You charged my card twice for the same order and nobody answers my emails. This is "
    "unacceptable: refund the second payment now."
)
PIPELINES = Path(__file__).parents[1] / "pipelines"

Sides = tuple[
    list[float], list[float], list[float], list[float], list[float], list[float], list[float]
]


async def mesh_side(requests: int) -> Sides:
    """(end-to-end ms, critical-path model ms, planner model ms, mesh tok/s, bare tok/s
    beside the mesh, pipeline end-to-end ms, pipeline critical-path model ms)."""
    services = {k: DEFAULT_MICROMODELS[k] for k in ("vat-rates", "summarizer", "classifier")}
    workdir = Path(tempfile.mkdtemp(prefix="slmesh-chain-"))
    config = DevStackConfig(
        micromodels=services,
        broker_port=None,
        own_redis=True,
        workdir=workdir,
        pipelines_dir=PIPELINES,
    )
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
        chain_e2e, chain_model = await pipeline_side(client, requests)
        beside = bare_side(requests)  # same run, same conditions: the mesh is up
    return e2e, model_ms, planner_ms, speed, beside, chain_e2e, chain_model


async def pipeline_side(client: MeshClient, requests: int) -> tuple[list[float], list[float]]:
    """(end-to-end ms, critical-path model ms) of support-triage on a complaint."""
    e2e: list[float] = []
    model_ms: list[float] = []
    for i in range(requests + 2):
        started = time.perf_counter()
        response = await client.ask(
            COMPLAINT, timeout_s=120, timeout_ms=60_000, pipeline="support-triage"
        )
        elapsed = (time.perf_counter() - started) * 1000
        data = response.data
        if data.status != "ok" or len(data.calls) != 2:
            raise RuntimeError(f"the pipeline did not take its complaint branch: {data.plan}")
        if i < 2:  # warm-up
            continue
        slowest: dict[str, float] = {}
        for call in data.calls:
            step = (call.step or call.task_id).split("[")[0]
            slowest[step] = max(slowest.get(step, 0.0), call.latency_ms or 0.0)
        e2e.append(elapsed)
        model_ms.append(sum(slowest.values()))
    return e2e, model_ms


# A clause no card's words place: the planner's model routes it (to the summarizer).
MODEL_ROUTED = f"Give me the key takeaway of this story: {TEXT}"


def planner_side(requests: int) -> tuple[list[float], list[float], str]:
    """(ms per plan of REQUEST, ms per plan of MODEL_ROUTED, what planned the latter)."""
    from eval.planner_quality import micromodel_tools
    from slmesh.orchestrator.planning.slm import SlmPlanner
    from slmesh.runtime.concurrency import Worker

    tools = micromodel_tools()
    worker = Worker("bench-planner")
    planner = SlmPlanner(LocalModel.load(ModelSettings()), worker)

    async def timed(text: str) -> tuple[list[float], str]:
        took, by = [], ""
        for i in range(requests + 2):
            started = time.perf_counter()
            plan = await planner.plan(text, tools)
            if i >= 2:
                took.append((time.perf_counter() - started) * 1000)
            by = f"{plan.planner}: {', '.join(c.micromodel for c in plan.calls) or 'no call'}"
        return took, by

    try:
        by_cards, _ = asyncio.run(timed(REQUEST))
        by_model, planned = asyncio.run(timed(MODEL_ROUTED))
    finally:
        worker.shutdown()
    return by_cards, by_model, planned


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
    e2e, model_ms, planner_ms, mesh_speed, bare_speed, chain_e2e, chain_model = asyncio.run(
        mesh_side(args.requests)
    )
    quiet_speed = bare_side(args.requests)
    by_cards, by_model, planned = planner_side(args.requests)
    e2e_ratio = ratio(median(e2e), median(model_ms))
    speed_ratio = ratio(median(mesh_speed), median(bare_speed))
    print(f"\nslmesh chain efficiency ({args.requests} requests, medians)")
    print(f"request: {REQUEST[:70]}...")
    print(f"  end to end            {median(e2e):8.1f} ms")
    print(f"  model time on path    {median(model_ms):8.1f} ms  (planner + max(task, composer))")
    print(
        f"  ratio                 {e2e_ratio:8.3f}x  target <= 1.05x  {verdict(e2e_ratio <= 1.05)}"
    )
    print(f"  planner model time    {median(planner_ms):8.1f} ms  (in the mesh)")
    chain_ratio = ratio(median(chain_e2e), median(chain_model))
    print("pipeline support-triage on a complaint (classifier, then summarizer)")
    print(f"  end to end            {median(chain_e2e):8.1f} ms")
    print(f"  model time on path    {median(chain_model):8.1f} ms  (each step's slowest call)")
    print(
        f"  ratio                 {chain_ratio:8.3f}x  target <= 1.1x   "
        f"{verdict(chain_ratio <= 1.1)}"
    )
    print("planner time per request (wall, this process, the default mesh's cards)")
    print(f"  planned by the cards  {median(by_cards):8.1f} ms  (the request above)")
    print(
        f"  clause for the model  {median(by_model):8.1f} ms  target <= 300 ms  "
        f"{verdict(median(by_model) <= 300)}  ({planned})"
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

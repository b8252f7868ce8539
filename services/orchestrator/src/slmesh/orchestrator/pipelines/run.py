"""What a pipeline run does next, from what its steps gave so far: pure functions, no I/O.

A run advances in rounds, on the same gather state as a planned request: when
a round's replies are all in, `advance` says which steps are ready (every step
they read is settled), with their calls; and which steps settle without a call
— skipped (their `when` does not hold, or a step they read was skipped: a
branch not taken) or not run (a step they read failed, or a pointer finds
nothing: said in words). Steps ready together go out together: a fan-out over
a list is one round, not one per item.

Nothing here trusts an output more than the contract does: an output is only
ever an argument value, checked against the next micromodel's input schema at
dispatch like any other call's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from slmesh.orchestrator.pipelines.document import NotFound, render, resolve
from slmesh.schemas import CallOutcome
from slmesh.schemas.pipelines import Pipeline, PipelineStep
from slmesh.schemas.pipelines import step_of as step_read

# How a step stands: answered (ok), answered with an error (failed), no reply (missing),
# a branch not taken (skipped), not called because what it needs is not there (not_run),
# or not reached yet (pending).
StepStatus = Literal["ok", "failed", "missing", "skipped", "not_run", "pending"]
# Items one mapped step may call for; the request's cap on calls bounds it too.
MAX_ITEMS = 32
# How much of a value a step's line quotes.
QUOTE_CHARS = 60


@dataclass(frozen=True)
class Settled:
    """A step that made no call, and why (stored with the run)."""

    status: Literal["skipped", "not_run", "ok"]
    reason: str


@dataclass(frozen=True)
class StepCall:
    """One call a step makes: item `index` of a mapped step, else index None."""

    step: str
    index: int | None
    micromodel: str
    arguments: dict[str, Any]
    version: str | None

    @property
    def label(self) -> str:
        """How a response names the call's step: its id, or id[n] for item n."""
        return self.step if self.index is None else f"{self.step}[{self.index}]"


@dataclass(frozen=True)
class StepResult:
    status: StepStatus
    output: dict[str, Any] | None = None
    reason: str = ""


@dataclass
class Advance:
    """A round's worth of progress: the calls to make now, the steps settled without one,
    and a line per decision for the response's plan."""

    calls: list[StepCall] = field(default_factory=list)
    settled: dict[str, Settled] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def step_of(label: str) -> str:
    """The step a call's label names: `summarise` of `summarise[2]`."""
    return label.split("[", 1)[0]


def step_results(
    pipeline: Pipeline, settled: Mapping[str, Settled], answered: Mapping[str, CallOutcome]
) -> dict[str, StepResult]:
    """Each step as it stands; `answered`: the run's calls by label."""
    results: dict[str, StepResult] = {}
    for step in pipeline.steps:
        if step.id in settled:
            done = settled[step.id]
            output: dict[str, Any] | None = {"items": []} if done.status == "ok" else None
            results[step.id] = StepResult(done.status, output, done.reason)
            continue
        if step.for_each is None:
            call = answered.get(step.id)
            results[step.id] = _of_call(call) if call is not None else StepResult("pending")
            continue
        items = sorted(
            ((int(k[len(step.id) + 1 : -1]), c) for k, c in answered.items() if _item_of(k, step)),
        )
        if not items:
            results[step.id] = StepResult("pending")
            continue
        each = [_of_call(c) for _, c in items]
        worst = next((r for r in each if r.status != "ok"), None)
        if worst is not None:
            bad = sum(r.status != "ok" for r in each)
            results[step.id] = StepResult(
                worst.status, None, f"{bad} of its {len(each)} item call(s): {worst.reason}"
            )
        else:
            results[step.id] = StepResult("ok", {"items": [r.output for r in each]})
    return results


def _item_of(key: str, step: PipelineStep) -> bool:
    head = step.id + "["
    return key.startswith(head) and key.endswith("]") and key[len(head) : -1].isdigit()


def _of_call(call: CallOutcome) -> StepResult:
    if call.status == "ok":
        return StepResult("ok", dict(call.output or {}))
    if call.status == "missing":
        return StepResult("missing", None, "no reply before the deadline")
    error = call.error.message if call.error is not None else "failed"
    return StepResult("failed", None, error)


def document(arguments: Mapping[str, Any], results: Mapping[str, StepResult]) -> dict[str, Any]:
    """What the steps may read: the input and the answered steps' outputs."""
    steps = {k: r.output for k, r in results.items() if r.status == "ok"}
    return {"input": dict(arguments), "steps": steps}


def advance(
    pipeline: Pipeline,
    arguments: Mapping[str, Any],
    settled: Mapping[str, Settled],
    answered: Mapping[str, CallOutcome],
) -> Advance:
    """The steps that can go now, once every call made so far has its reply."""
    results = step_results(pipeline, settled, answered)
    progress = Advance()
    for step in pipeline.steps:
        if results[step.id].status != "pending":
            continue
        waiting = [s for s in sorted(step.needs()) if results[s].status == "pending"]
        if waiting:
            continue
        outcome = _ready(step, results, document(arguments, results))
        if isinstance(outcome, Settled):
            progress.settled[step.id] = outcome
            emptied: dict[str, Any] | None = {"items": []} if outcome.status == "ok" else None
            # Settled now: a later step that reads it is decided in this same pass.
            results[step.id] = StepResult(outcome.status, emptied, outcome.reason)
            progress.lines.append(f"step {step.id}: {_said(outcome)}")
            continue
        # Still pending in `results`: a later step that reads it waits for the next round.
        progress.calls += outcome
        what = f"{len(outcome)} call(s)" if step.for_each is not None else "1 call"
        progress.lines.append(f"step {step.id} -> {step.micromodel}: {what}")
    return progress


def _said(settled: Settled) -> str:
    if settled.status == "ok":
        return f"no call ({settled.reason})"
    what = "skipped" if settled.status == "skipped" else "not run"
    return f"{what}: {settled.reason}"


def _ready(
    step: PipelineStep, results: Mapping[str, StepResult], doc: dict[str, Any]
) -> Settled | list[StepCall]:
    """The calls of a step whose inputs are settled, or how it settles without one."""
    for needed in sorted(step.needs()):
        result = results[needed]
        if result.status == "skipped":
            return Settled("skipped", f"step {needed} was skipped")
        if result.status != "ok":
            return Settled("not_run", f"step {needed} {_failure(result)}")
    if step.when is not None:
        try:
            value = resolve(doc, step.when.at)
        except NotFound as exc:
            return Settled("not_run", f"its condition reads nothing: {exc}")
        if not step.when.holds(value):
            wanted = step.when.equals if step.when.one_of is None else step.when.one_of
            return Settled(
                "skipped",
                f"{step.when.at} is {_quote(value)}, not "
                f"{'one of ' if step.when.one_of is not None else ''}{_quote(wanted)}",
            )
    if step.for_each is None:
        made = _call(step, doc, None)
        return made if isinstance(made, Settled) else [made]
    try:
        items = resolve(doc, step.for_each)
    except NotFound as exc:
        return Settled("not_run", f"its list reads nothing: {exc}")
    if not isinstance(items, list):
        return Settled("not_run", f"{step.for_each} is a {type(items).__name__}, not a list")
    if not items:
        return Settled("ok", f"{step.for_each} is an empty list")
    if len(items) > MAX_ITEMS:
        return Settled(
            "not_run", f"{step.for_each} has {len(items)} items, over the {MAX_ITEMS} a step maps"
        )
    calls = []
    for index, item in enumerate(items):
        made = _call(step, {**doc, "item": item, "index": index}, index)
        if isinstance(made, Settled):
            return Settled(made.status, f"item {index}: {made.reason}")
        calls.append(made)
    return calls


def _call(step: PipelineStep, doc: dict[str, Any], index: int | None) -> StepCall | Settled:
    arguments: dict[str, Any] = dict(step.arguments)
    for name, pointer in step.take.items():
        try:
            arguments[name] = resolve(doc, pointer)
        except NotFound as exc:
            return Settled("not_run", f"argument {name!r} reads nothing: {exc}")
    return StepCall(step.id, index, step.micromodel, arguments, step.version)


def _failure(result: StepResult) -> str:
    if result.status == "skipped":
        return "was skipped"
    if result.status == "missing":
        return "had no reply before the deadline"
    if result.status == "not_run":
        return f"did not run ({result.reason})"
    return f"failed ({result.reason})"


def _quote(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3] + "..."


@dataclass(frozen=True)
class Shaped:
    """What a finished run answers: its text (None: no template could be filled), its
    output (None: a field it takes has no value), and why not, in words."""

    answer: str | None
    output: dict[str, Any] | None
    problems: list[str]


def shape(
    pipeline: Pipeline, arguments: Mapping[str, Any], results: Mapping[str, StepResult]
) -> Shaped:
    """The answer and output of a run whose steps are all settled (or the deadline passed)."""
    doc = document(arguments, results)
    problems: list[str] = []
    answer = None
    for template in pipeline.answer:
        try:
            answer = render(template, doc)
            break
        except NotFound as exc:
            problems.append(f"answer template not filled: {exc}")
    if answer is not None:
        problems = []
    output: dict[str, Any] | None = None
    if pipeline.output:
        output = {}
        for name, pointer in pipeline.output.items():
            read = step_read(pointer)
            result = results.get(read) if read is not None else None
            if result is not None and result.status == "skipped":
                # A branch not taken leaves its fields out: the output of a switch is what
                # the branch it took gives (output_schema says which fields are required).
                continue
            try:
                output[name] = resolve(doc, pointer)
            except NotFound as exc:
                problems.append(f"output {name!r} has no value: {exc}")
                output = None
                break
    return Shaped(answer, output, problems)

"""A pipeline run on the gather state: its calls' outcomes by step, its progress stored,
the steps never called, and its shaped answer. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slmesh.orchestrator.gather.state import GatherCall, PipelineRun, SettledStep
from slmesh.orchestrator.pipelines.run import (
    Advance,
    Settled,
    Shaped,
    StepCall,
    advance,
    shape,
    step_of,
    step_results,
)
from slmesh.orchestrator.planning.plan import PlannedCall
from slmesh.runtime.pipeline_files import output_problem
from slmesh.schemas import CallOutcome, ErrorInfo
from slmesh.schemas.pipelines import Pipeline


def start(pipeline: Pipeline, arguments: Mapping[str, Any]) -> tuple[PipelineRun, Advance]:
    """A new run, and its first round."""
    run = PipelineRun(definition=pipeline, arguments=dict(arguments))
    return run, next_round(run, [])


def next_round(run: PipelineRun, calls: list[CallOutcome]) -> Advance:
    """What the run does once every call so far (`calls`) has its outcome."""
    return advance(run.definition, run.arguments, _settled(run), labelled(run, calls))


def planned(step_calls: list[StepCall]) -> list[PlannedCall]:
    return [PlannedCall(c.micromodel, c.arguments, c.version) for c in step_calls]


def progressed(run: PipelineRun, done: Advance, added: list[GatherCall]) -> PipelineRun:
    """The run with a round's decisions stored: the steps it settled, the tasks it made
    (`added`: the gather calls made for `done.calls`, in the same order)."""
    settled = {
        **run.settled,
        **{k: SettledStep(status=v.status, reason=v.reason) for k, v in done.settled.items()},
    }
    tasks = {
        **run.tasks,
        **{g.task_id: c.label for g, c in zip(added, done.calls, strict=True)},
    }
    return run.model_copy(update={"settled": settled, "tasks": tasks})


def labelled(run: PipelineRun, calls: list[CallOutcome]) -> dict[str, CallOutcome]:
    """The run's calls by step label (extract, summarise[2])."""
    return {run.tasks[c.task_id]: c for c in calls if c.task_id in run.tasks}


def never_called(rid: str, run: PipelineRun) -> list[CallOutcome]:
    """The steps that did not run (failed outcomes naming why), and those never reached
    (missing: the deadline came first). Skipped steps are a branch not taken: no outcome."""
    called = {step_of(label) for label in run.tasks.values()}
    outcomes = []
    for step in run.definition.steps:
        done = run.settled.get(step.id)
        if done is not None and done.status != "not_run":
            continue
        if done is None and step.id in called:
            continue
        outcomes.append(
            CallOutcome(
                task_id=f"{rid}:step-{step.id}",
                micromodel=step.micromodel,
                arguments={},
                status="missing" if done is None else "failed",
                error=None if done is None else ErrorInfo.about("step_not_run", done.reason),
                step=step.id,
            )
        )
    return outcomes


@dataclass(frozen=True)
class Finished:
    answer: str | None
    output: dict[str, Any] | None
    problems: list[str]


def finish(run: PipelineRun, calls: list[CallOutcome]) -> Finished:
    """The run's answer and its output, checked against the output schema."""
    results = step_results(run.definition, _settled(run), labelled(run, calls))
    shaped: Shaped = shape(run.definition, run.arguments, results)
    output, problems = shaped.output, list(shaped.problems)
    if output is not None:
        problem = output_problem(run.definition, output)
        if problem is not None:
            problems.append(f"the output fails the pipeline's output schema: {problem}")
            output = None
    return Finished(shaped.answer, output, problems)


def _settled(run: PipelineRun) -> dict[str, Settled]:
    return {k: Settled(v.status, v.reason) for k, v in run.settled.items()}

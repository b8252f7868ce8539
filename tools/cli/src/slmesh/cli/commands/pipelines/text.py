"""A declared pipeline in a few lines, as `slmesh pipelines` prints it."""

from __future__ import annotations

from typing import Any

import orjson

from slmesh.schemas import PipelineAnnouncedData
from slmesh.schemas.pipelines import Pipeline, PipelineStep


def describe(pipeline: Pipeline) -> str:
    lines = [f"{pipeline.name}@{pipeline.version}: {' '.join(pipeline.description.split())}"]
    lines.append(f"  takes: {_fields(pipeline.input_schema)}")
    lines.append("  steps:")
    lines.extend(f"    {_step(step)}" for step in pipeline.steps)
    if pipeline.output:
        shaped = ", ".join(f"{k} <- {v}" for k, v in pipeline.output.items())
        lines.append(f"  output: {shaped}")
    for template in pipeline.answer:
        lines.append(f"  answer: {template}")
    routing = pipeline.routing
    if routing is None:
        lines.append("  planner: by its name and description")
    else:
        said = ", ".join([*routing.kinds, *routing.keywords][:8]) or "its examples"
        lines.append(f"  planner: routes {said}")
    return "\n".join(lines)


def describe_card(card: PipelineAnnouncedData, live: int, definitions: int) -> str:
    """A pipeline as the registry announces it: what a caller that never saw its file learns."""
    lines = [f"{card.name}@{card.version}: {' '.join(card.description.split())}"]
    runs = f"  runs on {live} orchestrator replica{'' if live == 1 else 's'}"
    if definitions > 1:
        runs += f", {definitions} different definitions (a rollout half done?)"
    lines.append(runs)
    lines.append(f"  takes: {_fields(card.input_schema)}")
    lines.append(f"  gives: {_fields(card.output_schema) if card.output_schema else 'an answer'}")
    steps = []
    for step in card.steps:
        how = " (each item)" if step.maps else ""
        how += " (when switched on)" if step.switched else ""
        steps.append(f"{step.id}: {step.micromodel}{how}")
    lines.append(f"  steps: {' -> '.join(steps)}")
    return "\n".join(lines)


def _step(step: PipelineStep) -> str:
    taken = [f"{k}={v}" for k, v in step.take.items()]
    given = [f"{k}={orjson.dumps(v).decode()[:40]}" for k, v in step.arguments.items()]
    line = f"{step.id}: {step.micromodel}({', '.join([*taken, *given])})"
    if step.for_each is not None:
        line += f" for each of {step.for_each}"
    if step.when is not None:
        wanted = step.when.equals if step.when.one_of is None else step.when.one_of
        test = "in" if step.when.one_of is not None else "="
        line += f" when {step.when.at} {test} {orjson.dumps(wanted).decode()}"
    return line


def _fields(schema: dict[str, Any]) -> str:
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return "anything"
    required = set(schema.get("required") or [])
    return ", ".join(f"{name}{'' if name in required else '?'}" for name in properties)

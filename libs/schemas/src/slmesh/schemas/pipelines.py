"""A pipeline declared as data: micromodel calls chained by JSON pointers.

A pipeline is what a team writes once for a chain it runs every day (a bill's
fields extracted, then checked; a message classified, then answered by the
micromodel its label picks). It is data, not code: loaded from YAML or JSON,
validated here, and run by the orchestrator on the same machinery as a
planned request.

Every value a step needs is named by a JSON pointer (RFC 6901) into the run's
document:

    /input/...              the pipeline's arguments (a request's text is /input/text)
    /steps/<id>/...         an earlier step's output (a mapped step's: /steps/<id>/items/<n>/...)
    /item/..., /index       the list item (and its position) a mapped step is called for

A step refers only to steps declared before it, so a pipeline is a DAG by
construction and has no cycle to detect at run time.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, JsonValue, field_validator, model_validator

from slmesh.schemas.envelope import Contract
from slmesh.schemas.events import MicromodelName, PipelineName, Version
from slmesh.schemas.routing import Routing

MAX_STEPS = 24
MAX_TEMPLATE_CHARS = 4000
# What a pointer may start with: the run's document has no other top-level names.
_ROOTS = ("input", "steps", "item", "index")
_POINTER_PATTERN = r"^/(input|steps|item|index)(/[^/]{0,200}){0,16}$"
_STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
# A placeholder in an answer template: {/steps/summary/summary}.
PLACEHOLDER = re.compile(r"\{(/[^{}]{1,400})\}")

Pointer = Annotated[
    str,
    Field(
        pattern=_POINTER_PATTERN,
        description="A JSON pointer into the run's document: /input/..., /steps/<id>/..., "
        "/item/... or /index.",
        examples=["/steps/extract/fields/total"],
    ),
]
StepId = Annotated[
    str,
    Field(
        pattern=_STEP_ID_PATTERN,
        description="The step's name, unique in its pipeline; its output is /steps/<id>.",
        examples=["extract"],
    ),
]

TEXT_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"text": {"type": "string", "minLength": 1}},
    "required": ["text"],
}


class When(Contract):
    """Run the step only when the value at `at` is `equals`, or one of `one_of`: a switch
    on an earlier output (a classifier's label). A step that does not run is skipped, and
    the steps that need its output are skipped with it."""

    at: Pointer
    equals: JsonValue | None = None
    one_of: list[JsonValue] | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_test(self) -> When:
        if (self.equals is None) == (self.one_of is None):
            raise ValueError("give exactly one of equals and one_of")
        return self

    def holds(self, value: Any) -> bool:
        if self.one_of is not None:
            return value in self.one_of
        return bool(value == self.equals)


class PipelineStep(Contract):
    """One micromodel call (or one per list item, with `for_each`)."""

    id: StepId
    micromodel: MicromodelName
    version: Version | None = Field(default=None, description="Pin the step to a version.")
    arguments: dict[str, JsonValue] = Field(
        default_factory=dict,
        max_length=32,
        description="Arguments given as they are.",
        examples=[{"labels": ["complaint", "question", "praise"]}],
    )
    take: dict[str, Pointer] = Field(
        default_factory=dict,
        max_length=32,
        description="Arguments taken from the run's document, by JSON pointer; they win over "
        "`arguments` of the same name.",
        examples=[{"text": "/input/text"}],
    )
    when: When | None = Field(default=None, description="Run only when this holds.")
    for_each: Pointer | None = Field(
        default=None,
        description="A list: the step is called once per item (/item, /index); its output "
        "is {items: [each call's output, in order]}.",
    )

    def pointers(self) -> list[str]:
        """Every pointer the step reads, for its dependencies."""
        found = list(self.take.values())
        if self.when is not None:
            found.append(self.when.at)
        if self.for_each is not None:
            found.append(self.for_each)
        return found

    def needs(self) -> set[str]:
        """The steps whose outputs this one reads."""
        return {s for p in self.pointers() if (s := step_of(p)) is not None}


class Pipeline(Contract):
    """A chain of micromodel calls, declared as data."""

    name: PipelineName
    version: Version = "1.0.0"
    description: str = Field(
        min_length=1,
        # A tool's text, as a micromodel's card's is: the registry admits no longer one.
        max_length=500,
        description="What the pipeline does (its tool text).",
    )
    input_schema: dict[str, JsonValue] = Field(
        default_factory=lambda: dict(TEXT_INPUT),
        description="JSON Schema of the pipeline's arguments (/input); by default a text.",
    )
    output_schema: dict[str, JsonValue] | None = Field(
        default=None, description="JSON Schema the shaped output (`output`) must fit."
    )
    routing: Routing | None = Field(
        default=None,
        description="How the planner routes a request to the pipeline and reads its "
        "arguments, as a micromodel's card says it: the pipeline is offered as a tool.",
    )
    steps: list[PipelineStep] = Field(min_length=1, max_length=MAX_STEPS)
    output: dict[str, Pointer] = Field(
        default_factory=dict,
        max_length=32,
        description="The pipeline's output: each field taken from the run's document.",
        examples=[{"fields": "/steps/extract/fields", "problems": "/steps/check/problems"}],
    )
    answer: list[Annotated[str, Field(max_length=MAX_TEMPLATE_CHARS)]] = Field(
        default_factory=list,
        max_length=8,
        description="Templates of the answer text, with {/pointer} placeholders; the first "
        "whose placeholders all have values is the answer (the others are for the branches "
        "a switch did not take).",
        examples=[["{/steps/faq/answer}", "{/steps/reply/reply}"]],
    )

    @field_validator("steps")
    @classmethod
    def _earlier_steps_only(cls, steps: list[PipelineStep]) -> list[PipelineStep]:
        seen: set[str] = set()
        for step in steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is declared twice")
            where = f"step {step.id!r}"
            if step.for_each is not None:
                _check_pointer(step.for_each, seen, where, mapped=None)
            for pointer in [*step.take.values(), *([step.when.at] if step.when else [])]:
                _check_pointer(pointer, seen, where, mapped=step.for_each)
            seen.add(step.id)
        return steps

    @model_validator(mode="after")
    def _shaped_from_steps(self) -> Pipeline:
        ids = {s.id for s in self.steps}
        for name, pointer in self.output.items():
            _check_pointer(pointer, ids, f"output {name!r}", mapped=None)
        for template in self.answer:
            for pointer in PLACEHOLDER.findall(template):
                _check_pointer(pointer, ids, "the answer template", mapped=None)
        return self

    def step(self, step_id: str) -> PipelineStep:
        return next(s for s in self.steps if s.id == step_id)


def step_of(pointer: str) -> str | None:
    """The step a pointer reads (/steps/<id>/...), or None."""
    parts = pointer.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "steps" else None


def _check_pointer(pointer: str, known: set[str], where: str, *, mapped: str | None) -> None:
    root = pointer.split("/")[1] if pointer.count("/") else ""
    if root not in _ROOTS or not re.match(_POINTER_PATTERN, pointer):
        raise ValueError(f"{where}: {pointer!r} is not a pointer into /input, /steps or /item")
    if root in ("item", "index") and mapped is None:
        raise ValueError(f"{where}: {pointer!r} reads a list item, but has no for_each")
    step = step_of(pointer)
    if root == "steps" and step is None:
        raise ValueError(f"{where}: {pointer!r} names no step")
    if step is not None and step not in known:
        raise ValueError(
            f"{where}: {pointer!r} reads step {step!r}, which is not declared before it"
        )

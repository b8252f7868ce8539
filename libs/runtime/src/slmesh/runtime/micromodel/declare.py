"""Declaring a micromodel: its input and output models, a description, a handler or a prompt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from slmesh.runtime.registry import DETERMINISTIC
from slmesh.schemas import Routing

if TYPE_CHECKING:
    from slmesh.runtime.llm import ModelSession

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


@dataclass(frozen=True)
class Micromodel(Generic[In, Out]):
    """One specialised function of the mesh.

    `handler` is a plain function: it runs in a worker thread, so it may block
    (model inference does). A handler that only looks something up in memory
    may set `blocking=False` to run on the event loop: for microseconds of
    work, the thread hop would cost more than the work.
    `infer` is the same for a micromodel that runs a local model: it also gets
    a ModelSession, whose completions are counted into the reply.
    `summarize` turns an output into the words a composer quotes verbatim.
    `serves` names the tool it is an alternative for (a "summarizer-cloud" serves
    "summarizer"), None its own: a service that runs a declaration under another name
    (SLMESH_NAME) makes it an alternative for the declared one.
    `routing` says how the planner routes a request to it and reads its arguments
    (keywords, argument readings, example requests); its card carries it.
    """

    name: str
    description: str
    input_model: type[In]
    output_model: type[Out]
    handler: Callable[[In], Out] | None = None
    infer: Callable[[In, ModelSession], Out] | None = None
    version: str = "0.1.0"
    model: str = DETERMINISTIC
    summarize: Callable[[Out], str] | None = None
    blocking: bool = True
    serves: str | None = None
    # How the planner routes requests here and reads the arguments: carried by its card.
    routing: Routing | None = None

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.infer is None):
            raise ValueError(
                f"micromodel {self.name!r}: give exactly one of handler (plain function) "
                "or infer (function of the input and a model session)"
            )

    @property
    def uses_model(self) -> bool:
        return self.infer is not None

    def input_schema(self) -> dict[str, Any]:
        return self.input_model.model_json_schema()

    def output_schema(self) -> dict[str, Any]:
        return self.output_model.model_json_schema()

"""A declared pipeline offered to the planner as a tool, routed like a micromodel."""

from __future__ import annotations

from slmesh.orchestrator.planning.plan import ToolView
from slmesh.schemas.pipelines import Pipeline


def pipeline_view(pipeline: Pipeline) -> ToolView:
    """A pipeline as the planner sees it: a tool like a micromodel, routed by its own card
    (description, input schema, routing); taken to run a model, as most chains do."""
    return ToolView(
        pipeline.name,
        pipeline.description,
        dict(pipeline.input_schema),
        runs_model=True,
        routing=pipeline.routing,
        pipeline=True,
    )

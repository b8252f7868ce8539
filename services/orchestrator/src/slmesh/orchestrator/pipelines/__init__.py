"""Declared pipelines: what a run does next (`run`), on the gather state (`gathered`), as a
planner's tool (`tool`), as a registry card (`card`); their files are read by
slmesh.runtime.pipeline_files."""

from slmesh.orchestrator.pipelines.card import definition_digest, pipeline_card
from slmesh.orchestrator.pipelines.run import (
    Advance,
    Settled,
    Shaped,
    StepCall,
    StepResult,
    advance,
    shape,
    step_of,
    step_results,
)
from slmesh.orchestrator.pipelines.tool import pipeline_view
from slmesh.runtime.pipeline_files import (
    PipelineFileError,
    input_problem,
    load_pipeline,
    load_pipelines,
    output_problem,
)

__all__ = [
    "Advance",
    "PipelineFileError",
    "Settled",
    "Shaped",
    "StepCall",
    "StepResult",
    "advance",
    "definition_digest",
    "input_problem",
    "load_pipeline",
    "load_pipelines",
    "output_problem",
    "pipeline_card",
    "pipeline_view",
    "shape",
    "step_of",
    "step_results",
]

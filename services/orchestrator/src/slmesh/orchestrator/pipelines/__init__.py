"""Declared pipelines: loading, validation, and what a run does next (on the gather state)."""

from slmesh.orchestrator.pipelines.catalogue import (
    PipelineFileError,
    input_problem,
    load_pipeline,
    load_pipelines,
    output_problem,
)
from slmesh.orchestrator.pipelines.run import (
    Advance,
    Settled,
    Shaped,
    StepCall,
    StepResult,
    advance,
    shape,
    step_results,
)

__all__ = [
    "Advance",
    "PipelineFileError",
    "Settled",
    "Shaped",
    "StepCall",
    "StepResult",
    "advance",
    "input_problem",
    "load_pipeline",
    "load_pipelines",
    "output_problem",
    "shape",
    "step_results",
]

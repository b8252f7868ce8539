"""A declared pipeline's registry card: what a caller, an operator or another system
needs to discover and call it, as a micromodel's card tells them.

Each orchestrator replica announces the pipelines it loaded, so `slmesh pipelines
--registry` (and any reader of the registry topic) sees what is runnable, with its
input and output schemas, without reading the orchestrator's files. The digest tells
two replicas running different files under one name apart (a rollout half done).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from slmesh.schemas.pipelines import Pipeline


def definition_digest(pipeline: Pipeline) -> str:
    """SHA-256 of the definition as loaded, keys sorted: the same file gives the same one."""
    definition = pipeline.model_dump(mode="json")
    return hashlib.sha256(orjson.dumps(definition, option=orjson.OPT_SORT_KEYS)).hexdigest()


def pipeline_card(pipeline: Pipeline) -> dict[str, Any]:
    """The card's own fields (the announcer adds the replica, status and heartbeat)."""
    return {
        "name": pipeline.name,
        "version": pipeline.version,
        "description": pipeline.description,
        "input_schema": dict(pipeline.input_schema),
        "output_schema": dict(pipeline.output_schema or {}),
        "steps": [
            {
                "id": step.id,
                "micromodel": step.micromodel,
                "maps": step.for_each is not None,
                "switched": step.when is not None,
            }
            for step in pipeline.steps
        ],
        "digest": definition_digest(pipeline),
        "routing": (
            pipeline.routing.model_dump(mode="json", exclude_none=True)
            if pipeline.routing is not None
            else None
        ),
    }

"""Write the contract's JSON Schema files and AsyncAPI document from the pydantic models.

The written files are what non-Python producers code against, so they are
generated here and checked in; a test fails when they drift from the models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from slmesh.schemas import topics
from slmesh.schemas.envelope import CONTENT_TYPE, Envelope
from slmesh.schemas.events import (
    EVENT_TYPES,
    MicromodelAnnounced,
    PipelineAnnounced,
    RequestCompleted,
    RequestSubmitted,
    TaskCompleted,
    TaskFailed,
    TaskRequested,
)
from slmesh.schemas.pipelines import Pipeline

ASYNCAPI_FILE = "asyncapi.json"
# Not an event: the document a team writes to declare a pipeline (YAML or JSON).
PIPELINE_FILE = "Pipeline.v1.schema.json"
PIPELINE_ID = "urn:slmesh:Pipeline:v1"


def schema_file_name(cls: type[Envelope]) -> str:
    return f"{cls.event_name()}.v{cls.SCHEMA_VERSION}.schema.json"


def json_schema(cls: type[Envelope]) -> dict[str, Any]:
    schema = cls.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": cls.dataschema_uri(),
        **schema,
    }


def asyncapi_document() -> dict[str, Any]:
    messages: dict[str, Any] = {}
    for cls in EVENT_TYPES:
        messages[cls.event_name()] = {
            "name": cls.event_name(),
            "title": cls.event_name(),
            "summary": (cls.__doc__ or "").strip().splitlines()[0],
            "contentType": CONTENT_TYPE.split(";")[0],
            "payload": {"$ref": f"#/components/schemas/{cls.event_name()}"},
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": _key_doc(cls)},
                    "bindingVersion": "0.5.0",
                }
            },
        }
    schemas: dict[str, Any] = {}
    for cls in EVENT_TYPES:
        schema = cls.model_json_schema(
            mode="validation", ref_template="#/components/schemas/{model}"
        )
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[cls.event_name()] = schema

    def channel(address: str, description: str, *events: type[Envelope]) -> dict[str, Any]:
        return {
            "address": address,
            "description": description,
            "messages": {
                e.event_name(): {"$ref": f"#/components/messages/{e.event_name()}"} for e in events
            },
        }

    channels = {
        "requests": channel(
            topics.REQUESTS,
            "Requests from enterprise systems to the mesh, each proven by its caller to the "
            "orchestrator (headers slmesh-signer, slmesh-proof); unproven ones are "
            "dead-lettered unanswered.",
            RequestSubmitted,
        ),
        "tasks": channel(
            topics.TASKS_PREFIX + "{micromodel}",
            "One topic per micromodel; each task is one function call.",
            TaskRequested,
        ),
        "replies": channel(
            topics.REPLIES, "Micromodels' replies to tasks.", TaskCompleted, TaskFailed
        ),
        "registry": channel(
            topics.REGISTRY,
            "Compacted; key <micromodel>/<replica>, or pipeline:<pipeline>/<replica> for a "
            "pipeline an orchestrator replica runs. Each replica announces itself (and its "
            "pipelines) and repeats it as a heartbeat; the orchestrator's tool list follows "
            "it live.",
            MicromodelAnnounced,
            PipelineAnnounced,
        ),
        "responses": channel(
            topics.RESPONSES + ".{caller}",
            "One response per request, on its caller's own topic only, keyed by the caller's "
            "own request id and proven to the caller by the orchestrator (headers "
            "slmesh-signer, slmesh-proof).",
            RequestCompleted,
        ),
    }
    channels["tasks"]["parameters"] = {
        "micromodel": {"description": "Name of the micromodel, e.g. vat-rates."}
    }
    channels["responses"]["parameters"] = {
        "caller": {"description": "The caller's identity in the trust file, e.g. erp."}
    }

    def operation(action: str, chan: str, summary: str) -> dict[str, Any]:
        return {"action": action, "channel": {"$ref": f"#/channels/{chan}"}, "summary": summary}

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "slmesh",
            "version": "1.0.0",
            "description": (
                "Event contract of the slmesh micromodel mesh. Every record value is a "
                "CloudEvents 1.0 event in the Kafka structured content mode "
                f"(content-type: {CONTENT_TYPE}). Dead letters go to "
                f"{topics.DEAD_LETTERS} with the original bytes and slmesh-* headers."
            ),
        },
        "defaultContentType": CONTENT_TYPE.split(";")[0],
        "channels": channels,
        "operations": {
            "submitRequest": operation("send", "requests", "Ask the mesh something."),
            "receiveResponse": operation("receive", "responses", "Read the mesh's answers."),
            "receiveTask": operation("receive", "tasks", "A micromodel takes its tasks."),
            "sendReply": operation("send", "replies", "A micromodel answers a task."),
            "announce": operation(
                "send", "registry", "A micromodel announces itself; an orchestrator, its pipelines."
            ),
        },
        "components": {"messages": messages, "schemas": schemas},
    }


def _key_doc(cls: type[Envelope]) -> str:
    if cls is MicromodelAnnounced:
        return "<micromodel>/<replica>"
    if cls is PipelineAnnounced:
        return "pipeline:<pipeline>/<replica>"
    return "task_id of the task" if cls is TaskRequested else "requestid of the request"


def render() -> dict[str, bytes]:
    """File name -> content for everything `make schemas` writes."""
    opts = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
    files = {
        schema_file_name(cls): orjson.dumps(json_schema(cls), option=opts) for cls in EVENT_TYPES
    }
    files[ASYNCAPI_FILE] = orjson.dumps(asyncapi_document(), option=opts)
    pipeline = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": PIPELINE_ID,
        **Pipeline.model_json_schema(mode="validation"),
    }
    files[PIPELINE_FILE] = orjson.dumps(pipeline, option=opts)
    return files


def write(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in render().items():
        path = out_dir / name
        path.write_bytes(content)
        written.append(path)
    return written


def stale_files(out_dir: Path) -> list[str]:
    """Names of files under `out_dir` that differ from what the models generate."""
    return [
        name
        for name, content in render().items()
        if not (out_dir / name).is_file() or (out_dir / name).read_bytes() != content
    ]

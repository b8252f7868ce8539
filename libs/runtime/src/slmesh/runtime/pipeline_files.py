"""Declared pipelines in YAML or JSON files: loaded (by the orchestrator, once at start, and
by `slmesh pipelines`), and a run's arguments and output checked against their schemas.

A file that does not parse, or declares a pipeline the contract refuses, stops
the start with the file's name and what is wrong: a pipeline that silently
went missing would answer its callers "unknown pipeline" for no reason they
could see. A pipeline's input arguments are checked against its input schema
before any step runs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import yaml
from pydantic import ValidationError

from slmesh.schemas import describe_errors
from slmesh.schemas.pipelines import Pipeline

SUFFIXES = (".yaml", ".yml", ".json")
# A pipeline file is a few steps: anything larger is not one.
MAX_FILE_BYTES = 256 * 1024


class PipelineFileError(ValueError):
    """A pipeline file that cannot be loaded; the message names the file."""


def load_pipeline(path: Path) -> Pipeline:
    """One pipeline from a YAML or JSON file; raises PipelineFileError."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise PipelineFileError(
            f"{path}: {size} bytes, over the {MAX_FILE_BYTES} a pipeline may be"
        )
    text = path.read_text(encoding="utf-8")
    try:
        raw: Any = orjson.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise PipelineFileError(f"{path}: does not parse: {exc}") from None
    try:
        pipeline = Pipeline.model_validate(raw)
    except ValidationError as exc:
        raise PipelineFileError(f"{path}: not a pipeline: {describe_errors(exc)}") from None
    try:
        jsonschema.Draft202012Validator.check_schema(pipeline.input_schema)
        if pipeline.output_schema is not None:
            jsonschema.Draft202012Validator.check_schema(pipeline.output_schema)
    except jsonschema.SchemaError as exc:
        raise PipelineFileError(
            f"{path}: a schema of it is not JSON Schema: {exc.message}"
        ) from None
    return pipeline


def load_pipelines(directory: Path) -> dict[str, Pipeline]:
    """Every pipeline in a directory's *.yaml, *.yml and *.json files, by name."""
    if not directory.is_dir():
        raise PipelineFileError(f"{directory}: no such directory of pipelines")
    found: dict[str, Pipeline] = {}
    where: dict[str, Path] = {}
    for path in _files(directory):
        pipeline = load_pipeline(path)
        if pipeline.name in found:
            raise PipelineFileError(
                f"{path}: pipeline {pipeline.name!r} is declared in {where[pipeline.name]} too"
            )
        found[pipeline.name] = pipeline
        where[pipeline.name] = path
    return found


def _files(directory: Path) -> Iterator[Path]:
    return iter(sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file()))


def input_problem(pipeline: Pipeline, arguments: Mapping[str, Any]) -> str | None:
    """Why a run's arguments fail the pipeline's input schema, if they do."""
    return _schema_problem(pipeline.input_schema, arguments)


def output_problem(pipeline: Pipeline, output: Mapping[str, Any]) -> str | None:
    """Why a run's shaped output fails the pipeline's output schema, if it does."""
    if pipeline.output_schema is None:
        return None
    return _schema_problem(pipeline.output_schema, output)


def _schema_problem(schema: Mapping[str, Any], value: Mapping[str, Any]) -> str | None:
    validator = _compiled(orjson.dumps(schema).decode())
    errors = sorted(validator.iter_errors(dict(value)), key=lambda e: list(e.path))
    if not errors:
        return None
    first = errors[0]
    at = "/".join(str(p) for p in first.path) or "(top)"
    return f"{at}: {first.message[:300]}"


@functools.lru_cache(maxsize=64)
def _compiled(schema: str) -> jsonschema.Draft202012Validator:
    # Compiled once per schema, not per request: a run's pipeline comes back from the
    # gather state as a new object each round, so the schema's text is the key. (Not the
    # registry's OutputCheck: importing the registry loads the Kafka client, and
    # `slmesh pipelines` reads these files without one.)
    return jsonschema.Draft202012Validator(orjson.loads(schema))

"""What the deploy tests read: the services, their settings, the Dockerfiles, YAML."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_settings import BaseSettings
from ruamel.yaml import YAML

from slmesh.cli.devstack import DEFAULT_MICROMODELS, ORCHESTRATOR_MODULE
from slmesh.orchestrator.settings import OrchestratorSettings
from slmesh.runtime.micromodel.app import MicromodelSettings
from slmesh.runtime.settings import MeshSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILES = DEPLOY / "docker"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
K8S = DEPLOY / "k8s"
OVERLAYS = ("dev", "prod")
# The topics job runs the CLI image; it reads MeshSettings.
TOPICS = "topics"
CLI = "cli"


def services() -> list[str]:
    """Every service of the repository: a directory under services/ with a pyproject.toml."""
    return sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))


def project(service: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())


def package_name(service: str) -> str:
    return str(project(service)["project"]["name"])


def runs_a_model(service: str) -> bool:
    """Whether the service installs llama.cpp (the runtime's llm extra, among any others)."""
    for dep in project(service)["project"]["dependencies"]:
        extras = re.match(r"slmesh-runtime\[([^\]]*)\]", re.sub(r"\s", "", dep))
        if extras is not None and "llm" in extras[1].split(","):
            return True
    return False


def module(service: str) -> str:
    """The module a service runs with `python -m` (as `slmesh dev` runs it)."""
    return ORCHESTRATOR_MODULE if service == "orchestrator" else DEFAULT_MICROMODELS[service]


def settings_class(service: str) -> type[BaseSettings]:
    """The settings class the service's process reads its SLMESH_* variables into."""
    if service == "orchestrator":
        return OrchestratorSettings
    if service in DEFAULT_MICROMODELS:
        return MicromodelSettings
    if service in (TOPICS, CLI):
        return MeshSettings
    raise KeyError(f"no settings class known for {service!r}")


def unknown_settings(names: Iterable[str], settings: type[BaseSettings]) -> list[str]:
    """The SLMESH_* names that are no field of `settings` (SLMESH_A__B: field b of field a).

    OTEL_* names are OpenTelemetry's own; other names are not the mesh's business.
    """
    prefix = str(settings.model_config.get("env_prefix", ""))
    delimiter = str(settings.model_config.get("env_nested_delimiter") or "__")
    unknown = []
    for name in names:
        if not name.startswith(prefix):
            continue
        path = name.removeprefix(prefix).lower().split(delimiter)
        model: type[BaseModel] | None = settings
        for part in path:
            fields = model.model_fields if model is not None else {}
            if part not in fields:
                unknown.append(name)
                break
            annotation = fields[part].annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                model = annotation
            else:
                model = None
    return unknown


def load_yaml(text: str) -> list[Any]:
    """Every document of a YAML stream (anchors and merge keys resolved), empty ones left out."""
    return [doc for doc in YAML(typ="safe", pure=True).load_all(text) if doc is not None]


@dataclass
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)
    text: str = ""

    def all(self, keyword: str) -> list[str]:
        return [i.arguments for i in self.instructions if i.keyword == keyword]


@dataclass
class Dockerfile:
    path: Path
    preamble: list[Instruction]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        found = [s for s in self.stages if s.name == name]
        assert len(found) == 1, f"{self.path.name}: {len(found)} stages named {name!r}"
        return found[0]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def all(self, keyword: str) -> list[str]:
        return [a for s in self.stages for a in s.all(keyword)]


def parse_dockerfile(path: Path) -> Dockerfile:
    """Instructions by stage: continuation lines joined, comments and blank lines dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append((pending + line).strip())
        pending = ""
    assert not pending, f"{path.name} ends inside a continued line"
    preamble: list[Instruction] = []
    stages: list[Stage] = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        instruction = Instruction(keyword.upper(), arguments.strip())
        if instruction.keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", instruction.arguments, re.I)
            assert match, f"{path.name}: cannot read FROM {instruction.arguments}"
            stages.append(Stage(match.group(1), match.group(2)))
        elif stages:
            stages[-1].instructions.append(instruction)
        else:
            preamble.append(instruction)
    for stage in stages:
        stage.text = "\n".join(f"{i.keyword} {i.arguments}" for i in stage.instructions)
    return Dockerfile(path, preamble, stages)


def dockerfile_for(service: str) -> Path:
    return DOCKERFILES / f"{service}.Dockerfile"

from __future__ import annotations

from typing import Literal

from pydantic import Field

from slmesh.runtime.llm import ModelSettings
from slmesh.runtime.settings import MeshSettings


class OrchestratorSettings(MeshSettings):
    """Settings of the orchestrator (`SLMESH_*`)."""

    micromodels: list[str] = Field(
        default=[],
        description="Micromodels to call although they do not announce themselves in the "
        "registry (JSON list in the environment); announced ones are found live.",
    )
    default_timeout_ms: int = Field(
        default=30_000, ge=100, description="Time budget of a request that sets none."
    )
    sweep_interval_ms: int = Field(
        default=100, ge=10, description="How often a replica looks for requests past deadline."
    )
    planner: Literal["slm", "rules"] = Field(
        default="slm",
        description="slm: decomposition and rules, a local model for the rest; "
        "rules: rules only, no model loaded.",
    )
    composer: Literal["model", "template"] = Field(
        default="model",
        description="model: the planner's model writes the answer's opening sentence (needs "
        "planner=slm); template: fixed sentences only. Results are quoted verbatim either way.",
    )
    composer_wait_ms: int = Field(
        default=3000,
        ge=0,
        description="How long a complete answer waits for its opening sentence (written "
        "while the calls run) before the fixed one is used.",
    )
    composer_queue: int = Field(
        default=0,
        ge=0,
        description="Calls waiting for the orchestrator's model beyond which an answer gets "
        "the fixed opening, so prose never holds up planning under load.",
    )
    completing_lease_ms: int = Field(
        default=15_000,
        ge=1000,
        description="How long the replica that completed a request has to answer it before "
        "another replica takes it over (it is presumed dead).",
    )
    max_rounds: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Rounds of calls per request: a later round runs calls whose arguments "
        "come from an earlier round's results.",
    )
    model: ModelSettings = ModelSettings()
    gather_ttl_s: int = Field(
        default=3600, ge=60, description="How long finished requests are remembered."
    )

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from slmesh.orchestrator.policy.cost import at_provider
from slmesh.orchestrator.policy.versions import VersionSplit
from slmesh.runtime.llm import ModelSettings
from slmesh.runtime.llm.remote import RemoteModelSettings
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import MAX_CALLS, Classification, ModelPrice

# The service's name in its events' source and in the dead letters it writes.
SERVICE = "orchestrator"


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
        default=100,
        ge=10,
        description="The shortest pause between two looks for requests past their deadline "
        "(a replica sleeps until the next deadline is due, a second at most).",
    )
    planner: Literal["slm", "rules"] = Field(
        default="slm",
        description="slm: decomposition and rules, a local model for the rest; "
        "rules: rules only, no model loaded.",
    )
    composer: Literal["model", "template"] = Field(
        # Off by default: on two cores the opening, written beside a model's
        # call, took the CPU that call needed (the demo's chain ran 2.1x its
        # model time with it, about 1.0x without).
        default="template",
        description="model: the planner's model (planner=slm), or the remote one of "
        "SLMESH_COMPOSER_REMOTE__*, writes the answer's opening sentence while the calls of a "
        "request run, where one goes to a micromodel that runs a model; template: fixed "
        "sentences only. Results are quoted verbatim either way.",
    )
    pipelines_dir: Path | None = Field(
        default=None,
        description="A directory of declared pipelines (*.yaml, *.yml, *.json) a request "
        "may run by name; one that does not load stops the start. Unset: none.",
    )
    max_calls: int = Field(
        default=MAX_CALLS,
        ge=1,
        description="Calls one request may make, over all its rounds; a plan with more "
        "fails (too_many_calls). The default is the cap on explicit calls.",
    )
    max_in_flight_per_caller: int = Field(
        default=64,
        ge=1,
        description="Requests one caller may have open at once (a caller's max_in_flight in "
        "the trust file overrides it); more are refused (too_many_requests, retryable) until "
        "one of its open requests is answered or past its deadline.",
    )
    planning_budget_ms: int = Field(
        default=5000,
        ge=0,
        description="Model time the planner may spend on one request; clauses left when it "
        "is spent are not planned (the plan says so). Planning also ends at the deadline.",
    )
    create_reply_topics: bool | None = Field(
        default=None,
        description="Create a requester's own reply topic on first use (a convenience for "
        "development); when off, a request naming a topic that does not exist is answered "
        "on the responses topic with unknown_reply_topic. Unset: on where services create "
        "topics (dev), off in production.",
    )
    composer_wait_ms: int = Field(
        default=3000,
        ge=0,
        description="With composer=model: how long an answer whose results are in may wait "
        "for its opening sentence (written while the calls run) before the fixed one is "
        "used; 0: never. Only requests whose calls run a model have one written, so a "
        "deterministic request never waits.",
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
    versions: dict[str, VersionSplit] = Field(
        default_factory=dict,
        description="How each micromodel's calls are split over versions serving side by "
        'side (JSON): {"summarizer": {"default": "0.1.0", "canary": "0.2.0", '
        '"canary_weight": 0.1}}. A request may pin a version instead.',
    )
    prefer_remote: bool = Field(
        default=True,
        description="Where a call may go to a remote micromodel serving its tool (its card "
        "admits the payload's classification, and the payload carries no personal data it "
        "may not receive), send it there before a local one: a remote model is deployed to "
        "be the bigger one. Off: local first, remote only where no local one serves the tool.",
    )
    model: ModelSettings = ModelSettings()
    planner_remote: RemoteModelSettings | None = Field(
        default=None,
        description="Set (SLMESH_PLANNER_REMOTE__BASE_URL and the rest): requests are planned "
        "by this OpenAI-compatible endpoint, a bigger model at a provider, which reads the "
        "request and the live micromodels' cards and answers the calls as JSON. A request it "
        "may not read (planner_max_classification), or that it fails to plan, is planned "
        "on-premise by `planner` (rules, or the local model).",
    )
    planner_max_classification: Classification | None = Field(
        default=None,
        description="The highest classification of a request the remote planner may read "
        "(personal data found in its input raising it); unset: public.",
    )
    composer_remote: RemoteModelSettings | None = Field(
        default=None,
        description="Set (SLMESH_COMPOSER_REMOTE__BASE_URL and the rest): with composer=model, "
        "the opening sentence is written by this OpenAI-compatible endpoint instead of the "
        "planner's local model (any planner).",
    )
    composer_max_classification: Classification | None = Field(
        default=None,
        description="The highest classification of a request the composer's model may read "
        "(its input, personal data found there raising it); unset: restricted for a local "
        "model, public for a remote one. Above it, the answer has the fixed opening.",
    )
    gather_ttl_s: int = Field(
        default=3600, ge=60, description="How long finished requests are remembered."
    )

    @property
    def remote_planner_label(self) -> str | None:
        """What the remote planner's work is recorded under (planning.remote), if set."""
        remote = self.planner_remote
        return at_provider(remote.model, remote.who) if remote is not None else None

    def model_prices(self, planned_by: str | None) -> tuple[ModelPrice | None, ModelPrice | None]:
        """What the planner's and the composer's models charge for their tokens; `planned_by`:
        the model a request's plan was made with (its planning work's), if any."""
        local = self.model.price
        remote = self.planner_remote
        planner = remote.price if remote and planned_by == self.remote_planner_label else local
        composer = self.composer_remote.price if self.composer_remote is not None else local
        return planner, composer

    @property
    def reply_topics_created(self) -> bool:
        """Whether a requester's missing reply topic is created on first use."""
        if self.create_reply_topics is not None:
            return self.create_reply_topics
        return self.topics_created_here

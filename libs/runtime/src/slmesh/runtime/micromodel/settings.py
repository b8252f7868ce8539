"""A micromodel service's settings: the mesh's, its model's, and where it may be placed."""

from __future__ import annotations

from pydantic import Field, model_validator

from slmesh.runtime.llm import ModelSettings
from slmesh.runtime.llm.remote import RemoteModelSettings
from slmesh.runtime.settings import MeshSettings
from slmesh.schemas import Classification, Locality, PiiAction, Version

_NAME = r"^[a-z][a-z0-9\-]{0,62}$"


class MicromodelSettings(MeshSettings):
    """Settings of a micromodel service (`SLMESH_*`; a local model's: `SLMESH_MODEL__*`, a
    remote one's: `SLMESH_REMOTE__*`)."""

    model: ModelSettings = ModelSettings()
    remote: RemoteModelSettings | None = Field(
        default=None,
        description="Set (SLMESH_REMOTE__BASE_URL and the rest): inference runs on that "
        "OpenAI-compatible endpoint instead of a local GGUF model.",
    )
    name: str | None = Field(
        default=None,
        pattern=_NAME,
        description="Run the declared micromodel under this name (its task topic, group, "
        "card and identity follow it): a local and a remote variant of one declaration "
        "side by side, e.g. summarizer-cloud.",
    )
    version: Version | None = Field(
        default=None,
        description="Run the declaration as this version, side by side with the others: "
        "its own task topic (<topic>.v<version>) and consumer group; its card says the "
        "version. Unset: the declared version, on the micromodel's plain topic.",
        examples=["0.2.0"],
    )
    serves: str | None = Field(
        default=None,
        pattern=_NAME,
        description="The tool this micromodel is an alternative for; unset: the declared "
        "name when it runs under another (SLMESH_NAME), else its own.",
    )
    max_classification: Classification | None = Field(
        default=None,
        description="The highest data classification it may receive; unset: restricted "
        "for a local model, public for a remote one.",
    )
    on_pii: PiiAction = Field(
        default="local",
        description="When a payload bound for it carries personal data: local (to a local "
        "alternative), redact (sent redacted) or refuse.",
    )
    locality: Locality | None = Field(
        default=None,
        description="Where a micromodel without a model of its own runs (a deterministic "
        "handler calling a provider's service, say): remote needs SLMESH_PROVIDER. A "
        "micromodel with a model is where its model is (SLMESH_REMOTE__* or local).",
    )
    provider: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Who runs a micromodel placed remote by SLMESH_LOCALITY.",
    )

    @model_validator(mode="after")
    def _remote_has_a_provider(self) -> MicromodelSettings:
        if self.locality == "remote" and self.provider is None:
            raise ValueError("SLMESH_LOCALITY=remote needs SLMESH_PROVIDER: who runs it")
        return self


def side_by_side(settings: MeshSettings) -> str | None:
    """The version a service serves side by side with others (SLMESH_VERSION), if any."""
    return settings.version if isinstance(settings, MicromodelSettings) else None

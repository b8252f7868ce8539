"""Which version of a micromodel a call goes to, where versions serve side by side.

A request (or one of its calls) may pin a version. Otherwise the operator's split says:
a default version, and a canary that takes a share of the calls. The share is drawn
from the call's task id, so a call keeps its version however often it is dispatched
again, and a share of 0.1 sends about one call in ten. With no split, a call goes to
the version on the micromodel's plain topic, else to the highest live one. This is
how a fine-tuned model is swapped in: shadow it (`slmesh shadow`), then give it a
canary share, then make it the default.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

from slmesh.schemas import Version


class VersionSplit(BaseModel):
    """How a micromodel's calls are split over its versions (SLMESH_VERSIONS)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Version | None = Field(
        default=None, description="The version calls go to; unset: the plain topic's."
    )
    canary: Version | None = Field(
        default=None, description="A version that takes `canary_weight` of the calls."
    )
    canary_weight: float = Field(
        default=0.0, ge=0.0, le=1.0, description="The canary's share of the calls, 0 to 1."
    )

    @model_validator(mode="after")
    def _canary_has_a_share(self) -> VersionSplit:
        if self.canary_weight > 0 and self.canary is None:
            raise ValueError("canary_weight needs a canary version")
        return self


def share(task_id: str) -> float:
    """Where a call falls in [0, 1): the same for the same task id, spread evenly."""
    digest = hashlib.sha256(task_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick_version(
    task_id: str,
    live: Mapping[str, str],
    *,
    pinned: str | None,
    split: VersionSplit | None,
    fallback: str | None,
) -> str | None:
    """The version a call goes to. `live`: each live version and its topic; `fallback`:
    the version on the plain topic, or the highest live one. A pinned version is kept
    even when it is not live: the call then fails saying so."""
    if pinned is not None:
        return pinned
    if split is not None:
        if split.canary in live and share(task_id) < split.canary_weight:
            return split.canary
        if split.default in live:
            return split.default
    return fallback

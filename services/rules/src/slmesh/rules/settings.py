"""Where the rules micromodel finds rulesets besides its own: SLMESH_RULES_DIR."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from slmesh.runtime.settings_errors import invalid_settings


class RulesSettings(BaseSettings):
    """`SLMESH_RULES_DIR`: a directory laid out as the package's rulesets
    (<ruleset>/<version>.yaml, <ruleset>/current), read after them."""

    model_config = SettingsConfigDict(
        env_prefix="SLMESH_", frozen=True, extra="ignore", hide_input_in_errors=True
    )

    if not TYPE_CHECKING:
        # As the mesh's settings: an error names the variable, never its value.
        def __init__(self, **values: Any) -> None:
            try:
                super().__init__(**values)
            except (ValidationError, SettingsError) as exc:
                raise invalid_settings(exc, type(self)) from None

    rules_dir: Path | None = Field(
        default=None,
        description="More rulesets, read after the shipped ones: a new rule, version or "
        "ruleset is a file there.",
    )

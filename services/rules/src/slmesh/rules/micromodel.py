"""CheckRules: a record checked against versioned rules kept in files, answered by plain
code.

The rulesets are read once, when the micromodel is built: a file that does not fit stops
the start. A request naming a ruleset or version no file declares is refused as invalid
arguments, with the rulesets there are, before any rule runs.
"""

from __future__ import annotations

from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Self

from pydantic import ConfigDict, Field, model_validator

from slmesh.rules.checks import describe, judge
from slmesh.rules.contract import DEFAULT_RULESET, RULESET_PATTERN, RulesRequest, RulesVerdict
from slmesh.rules.routing import ROUTING
from slmesh.rules.rulesets import Library, UnknownRuleset, load_library, shipped
from slmesh.rules.settings import RulesSettings
from slmesh.runtime.micromodel import Micromodel


def request_model(library: Library) -> type[RulesRequest]:
    """The request, refusing a ruleset or version the library has not; its schema names
    the rulesets there are, so a caller reads them off the card."""

    class KnownRulesRequest(RulesRequest):
        model_config = ConfigDict(extra="forbid", frozen=True, title="RulesRequest")

        ruleset: str = Field(
            default=DEFAULT_RULESET,
            pattern=RULESET_PATTERN,
            description=f"The ruleset to check the record under: {library.catalogue()}.",
            examples=[DEFAULT_RULESET],
        )

        @model_validator(mode="after")
        def _known(self) -> Self:
            try:
                library.resolve(self.ruleset, self.version)
            except UnknownRuleset as exc:
                raise ValueError(str(exc)) from None
            return self

    return KnownRulesRequest


def library_of(rules_dir: Path | None) -> Library:
    """The shipped rulesets, then those of `rules_dir`; raises RulesetError."""
    directories: list[Traversable] = [shipped(), *([rules_dir] if rules_dir is not None else [])]
    return load_library(directories)


def build(rules_dir: Path | None = None) -> Micromodel[RulesRequest, RulesVerdict]:
    """The micromodel over the shipped rulesets and `rules_dir` (unset: SLMESH_RULES_DIR)."""
    library = library_of(rules_dir if rules_dir is not None else RulesSettings().rules_dir)

    def handle(request: RulesRequest) -> RulesVerdict:
        return judge(library.resolve(request.ruleset, request.version), request)

    return Micromodel(
        name="rules",
        # Every live tool's description is in the planner's routing prompt: one sentence.
        description=(
            "CheckRules: checks a record's fields (a card dispute claim's) against a "
            "versioned ruleset kept in files and returns accept or reject with each failed "
            "rule, why, and the rejection code it was derived from"
        ),
        input_model=request_model(library),
        output_model=RulesVerdict,
        handler=handle,
        summarize=describe,
        # A few dozen rules over a dozen short values, the rulesets in memory:
        # microseconds, cheaper on the loop than a thread hop.
        blocking=False,
        routing=ROUTING,
    )

"""Planning: a request becomes the micromodel calls that answer it.

The `Planner` protocol is what the orchestrator depends on; the rules planner
here answers clear-cut requests without any model, and the SLM planner
(slm_planner) implements the same protocol with a local model behind rules.
A plan may defer a clause whose arguments only an earlier call's result can
give; the orchestrator asks `follow_up` for it once that round is answered.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from slmesh.orchestrator.countries import MEMBER_STATES, asks_for_all, mentioned_countries
from slmesh.orchestrator.decomposition import KEYWORDS
from slmesh.runtime.llm import Usage
from slmesh.schemas import CallOutcome


@dataclass(frozen=True)
class PlannedCall:
    micromodel: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Deferred:
    """A clause whose call needs an earlier call's result for its arguments."""

    clause: str
    micromodel: str


@dataclass(frozen=True)
class Plan:
    """The calls to make, and what planned them. No calls means the planner found none."""

    planner: str
    calls: list[PlannedCall] = field(default_factory=list)
    reason: str = ""
    steps: list[str] = field(default_factory=list)
    deferred: list[Deferred] = field(default_factory=list)
    # What the planner's model did for this plan; None when it was not asked.
    model: str | None = None
    work: Usage | None = None


class Planner(Protocol):
    async def plan(self, text: str, micromodels: Collection[str]) -> Plan: ...

    async def follow_up(
        self, deferred: list[Deferred], results: list[CallOutcome], micromodels: Collection[str]
    ) -> Plan:
        """The next round's calls for deferred clauses, their arguments from `results`."""
        ...


VAT_MICROMODEL = "vat-rates"


class RulesPlanner:
    """Deterministic rules for requests whose plan is clear-cut.

    A VAT question names countries (or all of them); each country becomes its
    own call so the calls run in parallel and each can fail on its own.
    """

    name = "rules"

    async def plan(self, text: str, micromodels: Collection[str]) -> Plan:
        if VAT_MICROMODEL in micromodels and KEYWORDS[VAT_MICROMODEL].search(text):
            codes = list(MEMBER_STATES) if asks_for_all(text) else mentioned_countries(text)
            if not codes:
                return Plan(
                    self.name,
                    reason="this is a VAT question, but it names no EU member state; "
                    "name one or more countries, or ask for all EU countries",
                )
            return Plan(
                self.name,
                [PlannedCall(VAT_MICROMODEL, {"country": code}) for code in codes],
                steps=[f"VAT rule: {', '.join(codes)}"],
            )
        return Plan(
            self.name,
            reason="no rule matches this request and no other planner is configured; "
            f"available micromodels: {', '.join(sorted(micromodels)) or 'none'}",
        )

    async def follow_up(
        self, deferred: list[Deferred], results: list[CallOutcome], micromodels: Collection[str]
    ) -> Plan:
        # The rules never defer a clause, so there is never a next round.
        return Plan(self.name)

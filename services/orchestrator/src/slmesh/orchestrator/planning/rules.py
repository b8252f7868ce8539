"""The rules planner: clear-cut requests planned without any model.

The SLM planner (`slm`) implements the same protocol with a local model behind rules.
"""

from __future__ import annotations

from collections.abc import Mapping

from slmesh.orchestrator.planning.countries import MEMBER_STATES, asks_for_all, mentioned_countries
from slmesh.orchestrator.planning.knowledge import KNOWN, VAT_MICROMODEL
from slmesh.orchestrator.planning.plan import Deferred, Plan, PlannedCall, ToolView
from slmesh.schemas import CallOutcome


class RulesPlanner:
    """Deterministic rules for requests whose plan is clear-cut.

    A VAT question names countries (or all of them); each country becomes its
    own call so the calls run in parallel and each can fail on its own.
    """

    name = "rules"

    async def plan(self, text: str, tools: Mapping[str, ToolView]) -> Plan:
        if VAT_MICROMODEL in tools and KNOWN[VAT_MICROMODEL].keywords.search(text):
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
            f"available micromodels: {', '.join(sorted(tools)) or 'none'}",
        )

    async def follow_up(
        self, deferred: list[Deferred], results: list[CallOutcome], tools: Mapping[str, ToolView]
    ) -> Plan:
        # The rules never defer a clause, so there is never a next round.
        return Plan(self.name)

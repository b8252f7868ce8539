"""The rules planner: clear-cut requests planned without any model.

Each clause goes to the micromodel whose card's keywords it uses, with the arguments
its card reads off the clause; a clause the cards do not settle is named, not guessed.
The SLM planner (`slm`) implements the same protocol with a local model behind the rules.
"""

from __future__ import annotations

from collections.abc import Mapping

from slmesh.orchestrator.planning.cards import (
    arguments,
    clause_starts,
    keyword_tools,
    unserved,
)
from slmesh.orchestrator.planning.decomposition import clauses
from slmesh.orchestrator.planning.plan import Deferred, Plan, PlannedCall, ToolView, once
from slmesh.schemas import CallOutcome


class RulesPlanner:
    """Deterministic rules for requests whose plan is clear-cut: one call per value a
    clause names (a VAT question about three countries is three calls, run in parallel,
    each free to fail on its own)."""

    name = "rules"

    async def plan(self, text: str, tools: Mapping[str, ToolView]) -> Plan:
        calls: list[PlannedCall] = []
        steps: list[str] = []
        unplaced: list[str] = []
        for clause in clauses(text, clause_starts(tools)):
            names = keyword_tools(clause.text, tools, has_text=clause.payload is not None)
            placed = False
            for name in names:
                found = arguments(tools[name], clause)
                if isinstance(found, str):
                    steps.append(f"{clause.text!r} -> {name}, but it {found}: no call")
                    continue
                steps.append(f"{clause.text!r} -> {name} (rule): {len(found)} call(s)")
                calls += [PlannedCall(name, args) for args in found]
                unplaced += unserved(tools[name], clause)
                placed = True
            if not placed:
                unplaced.append(clause.text)
        if not calls:
            said = "; ".join(steps) or "no rule matches this request"
            return Plan(
                self.name,
                reason=f"{said}, and no other planner is configured; "
                f"available micromodels: {', '.join(sorted(tools)) or 'none'}",
                steps=steps,
                unplaced=unplaced,
            )
        return Plan(self.name, once(calls), steps=steps, unplaced=unplaced)

    async def follow_up(
        self, deferred: list[Deferred], results: list[CallOutcome], tools: Mapping[str, ToolView]
    ) -> Plan:
        # The rules never defer a clause, so there is never a next round.
        return Plan(self.name)

"""The planner of the mesh: decomposition and rules first, a local model where they stop.

Clear-cut clauses never reach the model (blended orchestration). For a clause
no rule recognises, the model ranks the live tools — and "none" — by the
likelihood of each name after a few-shot prompt, calibrated against a
content-free clause; it never writes free text that would need parsing.
Arguments come from the clause and its payload (decomposition.arguments) and
are checked against each tool's input schema before anything is published.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from slmesh.orchestrator.decomposition import arguments, clauses, keyword_tools
from slmesh.orchestrator.planner import Plan, PlannedCall
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.llm import LocalModel

logger = logging.getLogger(__name__)

NONE = "none"
CONTENT_FREE = "N/A"
SHOTS = [
    ("Summarize the quarterly report", "summarizer"),
    ("Write a haiku about autumn", NONE),
    ("What VAT applies in Greece", "vat-rates"),
    ("Which team should handle this email", "classifier"),
    ("Find the IBAN in this letter", "extractor"),
    ("Play some music", NONE),
]


class SlmPlanner:
    def __init__(self, model: LocalModel, worker: Worker) -> None:
        self.model = model
        self.worker = worker
        self.name = f"decomposition+{model.id}"
        # Scores of the tool names for a content-free request: they depend on
        # the tool list only, so they are computed once per list.
        self._priors: dict[str, list[float]] = {}

    async def plan(self, text: str, micromodels: Collection[str]) -> Plan:
        tools = set(micromodels)
        descriptions = dict(micromodels) if isinstance(micromodels, Mapping) else {}
        calls: list[PlannedCall] = []
        steps: list[str] = []
        asked_model = False
        for clause in clauses(text):
            names = keyword_tools(clause.text, tools)
            how = "rule"
            if not names:
                routed = await self._route(clause.text, sorted(tools), descriptions)
                asked_model = True
                names, how = ([routed] if routed != NONE else []), "model"
            if not names:
                steps.append(f"{clause.text!r}: no micromodel ({how})")
            for name in names:
                found = arguments(name, clause, text)
                if isinstance(found, str):
                    steps.append(f"{clause.text!r} -> {name} ({how}), but it {found}: no call")
                    continue
                steps.append(f"{clause.text!r} -> {name} ({how}): {len(found)} call(s)")
                calls += [PlannedCall(name, args) for args in found]
        reason = "" if calls else "no micromodel can answer this request: " + "; ".join(steps)
        # Named by what decided: a plan of rules alone never touched the model.
        return Plan(self.name if asked_model else "rules", calls, reason, steps)

    async def _route(self, clause: str, tools: list[str], descriptions: Mapping[str, Any]) -> str:
        options = [*tools, NONE]
        prompt = _routing_prompt(tools, descriptions)

        def score() -> list[float]:
            given = self.model.score_options(
                f"{prompt}Request: {clause}\nTool:", [f" {o}" for o in options]
            )
            blank = self.model.score_options(
                f"{prompt}Request: {CONTENT_FREE}\nTool:", [f" {o}" for o in options]
            )
            return [a - b for a, b in zip(given, blank, strict=True)]

        scores = await self.worker.run(score)
        best = max(range(len(options)), key=lambda i: scores[i])
        logger.debug("routed %r: %s", clause, dict(zip(options, scores, strict=True)))
        return options[best]


def _routing_prompt(tools: list[str], descriptions: Mapping[str, Any]) -> str:
    lines = ["Pick the tool for each request.", "", "Tools:"]
    for name in tools:
        described = getattr(descriptions.get(name), "description", "") or name
        lines.append(f"- {name}: {described}")
    lines += [f"- {NONE}: anything the tools above do not do", ""]
    for request, tool in SHOTS:
        if tool == NONE or tool in tools:
            lines += [f"Request: {request}", f"Tool: {tool}", ""]
    return "\n".join(lines) + "\n"

"""The planner of the mesh: decomposition and rules first, a local model where they stop.

Clear-cut clauses never reach the model (blended orchestration). For a clause
no rule recognises, the model ranks the live tools — and "none" — by the
likelihood of each name after a few-shot prompt, calibrated against a
content-free clause; it never writes free text that would need parsing.
Arguments come from the clause and its payload (knowledge.arguments);
where the rules cannot read them, the model writes them under a grammar made
from the tool's input schema (argument_writer). A clause that lacks what only
another call's result can give (a country, a text) waits for the next round.
Every call is checked against its tool's input schema before it is published.

No input can make planning unbounded: the model's work per request has a
budget (clauses left when it is spent are not planned, and the plan says so),
a clause is routed by its first few hundred characters, and a prompt that
still does not fit the model's context routes the clause to no tool.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from slmesh.orchestrator.planning.argument_writer import ArgumentWriter
from slmesh.orchestrator.planning.card_text import DATA_NOTE, quoted
from slmesh.orchestrator.planning.cards import (
    acts_on_result,
    arguments,
    clause_starts,
    continued,
    fed_by_results,
    fields_argument,
    keyword_tools,
    merged,
    routing_shots,
    supports,
    unserved,
)
from slmesh.orchestrator.planning.decomposition import NO_TEXT, Clause, asks, clauses
from slmesh.orchestrator.planning.plan import Deferred, Plan, PlannedCall, ToolView, once
from slmesh.orchestrator.planning.readings import Awaited
from slmesh.runtime.concurrency import Worker
from slmesh.runtime.llm import (
    ContextOverflowError,
    LocalModel,
    ModelSession,
    Prompt,
    template,
    untrusted,
)
from slmesh.schemas import CallOutcome

if TYPE_CHECKING:
    # Only its type: the encoder behind it (numpy, tokenizers) is an option of the eval.
    from slmesh.orchestrator.planning.nearest import NearestExamples

logger = logging.getLogger(__name__)

CONTENT_FREE = "N/A"
# "... the VAT rates for it": a value an earlier call gives, not one another sentence names.
REFERS_BACK = re.compile(r"\b(?:it|its|them|their|this one|that one)\b", re.IGNORECASE)
# The routing prompt's choice for a clause no tool does.
NONE = "none"
# Shots of requests no tool does: the same whatever the live tools are.
NONE_SHOTS = [("Write a haiku about autumn", NONE), ("Play some music", NONE)]
# What a clause is routed by: its opening says what is asked. A longer clause
# (a text pasted without punctuation) would overflow the routing prompt.
ROUTE_CHARS = 300
# How much of a clause the plan's steps quote.
QUOTE_CHARS = 80


class SlmPlanner:
    def __init__(
        self,
        model: LocalModel,
        worker: Worker,
        *,
        budget_ms: int = 5000,
        nearest: NearestExamples | None = None,
        nearest_shots: int = 0,
        affinity_weight: float = 0.0,
    ) -> None:
        self.model = model
        self.worker = worker
        self.nearest = nearest
        self.nearest_shots = nearest_shots
        self.affinity_weight = affinity_weight
        self.name = f"decomposition+{model.id}"
        # Model time one request's plan may take; rules and decomposition are free.
        self.budget_ms = budget_ms

    def _spent(self, session: ModelSession) -> str | None:
        """Why the model may not be asked again for this request, if it may not."""
        if session.usage.seconds * 1000 < self.budget_ms:
            return None
        return f"the request's planning budget of {self.budget_ms} ms of model time is spent"

    async def plan(self, text: str, tools: Mapping[str, ToolView]) -> Plan:
        session = ModelSession(self.model)
        calls: list[PlannedCall] = []
        steps: list[str] = []
        unplaced: list[str] = []
        # What a placed clause names that its tool does not serve ("Norway").
        not_served: list[str] = []
        waiting: list[tuple[Deferred, str]] = []
        previous: list[str] = []
        parts = clauses(text, clause_starts(tools))
        # Tools whose values came from another sentence of the request than their own.
        lent: list[str] = []
        for clause in parts:
            names = keyword_tools(clause.text, tools, has_text=clause.payload is not None)
            names = names or continued(clause, previous, tools)
            if len(names) > 1:
                # "Summarize this, then classify the summary": the summary named
                # again is the object, not a second summarizer call.
                names = [n for n in names if n not in previous] or names
            quoted = _quoted(clause.text)
            candidates = tools
            if (
                names
                and names == previous
                and acts_on_result(clause.text, tools[names[0]], tools)
                # "Check the VAT rate for Portugal as well" names a value of its own (read
                # without the request's text, which every text-taking tool would take).
                and not isinstance(arguments(tools[names[0]], Clause(clause.text, None)), list)
            ):
                steps.append(f"{quoted}: asks for something else done with {names[0]}'s result")
                candidates = {n: t for n, t in tools.items() if n not in names}
                names = []
            previous = names
            how = "rule"
            if not names:
                spent = self._spent(session)
                if spent is not None:
                    steps.append(f"{quoted}: not planned: {spent}")
                    unplaced.append(clause.text)
                    continue
                # The model's favourite only: taking its runner-up where the favourite
                # shares no word with the clause placed more clauses no tool does
                # ("Translate this invoice", "email it to our lawyer") than it rescued.
                routed = await self._route(session, clause.text, candidates)
                if routed != NONE and not supports(tools[routed], clause.text):
                    steps.append(
                        f"{quoted}: the model picked {routed}, but nothing in the "
                        "clause is what its card says it does"
                    )
                    routed = NONE
                names, how = ([routed] if routed != NONE else []), "model"
            if not names:
                steps.append(f"{quoted}: no micromodel ({how})")
                unplaced.append(clause.text)
            for name in names:
                # A bare code ("IT") names a value only where the card's own words routed.
                found = arguments(tools[name], clause, by_keyword=how == "rule")
                if (
                    isinstance(found, Awaited)
                    and found != NO_TEXT
                    and how == "rule"
                    and not REFERS_BACK.search(clause.text)
                ):
                    # "We sell to the Nordic countries. What VAT applies in each?": the
                    # values are in another sentence of the same request.
                    whole = Clause(" ".join(c.text for c in parts), clause.payload)
                    found = arguments(tools[name], whole)
                    if not isinstance(found, str):
                        lent.append(name)
                if isinstance(found, str) and not isinstance(found, Awaited):
                    spent = self._spent(session)
                    if spent is not None:
                        found = f"was not given arguments: {spent}"
                    else:
                        found = await self._write(session, tools[name], clause, how, steps)
                if isinstance(found, str):
                    if isinstance(found, Awaited) and how == "rule":
                        # Its card's words asked for it: a result may give what it lacks.
                        waiting.append((Deferred(clause.text, name), found))
                    else:
                        steps.append(f"{quoted} -> {name} ({how}), but it {found}: no call")
                        unplaced.append(clause.text)
                    continue
                steps.append(f"{quoted} -> {name} ({how}): {len(found)} call(s)")
                calls += [PlannedCall(name, args) for args in found]
                for other in unserved(tools[name], clause):
                    steps.append(f"{quoted}: {other}")
                    not_served.append(other)
        deferred = []
        whole = Clause(" ".join(c.text for c in parts), parts[0].payload if parts else None)
        for later, problem in waiting:
            lendable = [] if calls else arguments(tools[later.micromodel], whole)
            if isinstance(lendable, list) and lendable:
                # "... the Netherlands or Germany. How do their VAT rates compare?": no
                # result will come to refer back to, so "their" is the other sentence's.
                steps.append(
                    f"{_quoted(later.clause)} -> {later.micromodel}: values from the "
                    f"request's other sentences: {len(lendable)} call(s)"
                )
                calls += [PlannedCall(later.micromodel, args) for args in lendable]
                lent.append(later.micromodel)
            elif calls:
                # Another call of this request may give what the clause lacks.
                steps.append(
                    f"{_quoted(later.clause)} -> {later.micromodel}: {problem}; "
                    "deferred to the next round, for the results of this one"
                )
                deferred.append(later)
            else:
                steps.append(
                    f"{_quoted(later.clause)} -> {later.micromodel}, but it {problem}: no call"
                )
                unplaced.append(later.clause)
        # A sentence that only gave another its values was answered with it; one that
        # greets, thanks or tells (and asks nothing) is no part left unanswered.
        unplaced = [u for u in unplaced if not continued(Clause(u, None), lent, tools)]
        if calls:
            unplaced = [u for u in unplaced if asks(u)]
        unplaced += not_served
        reason = "" if calls else "no micromodel can answer this request: " + "; ".join(steps)
        return self._plan(session, once(merged(calls, tools)), reason, steps, deferred, unplaced)

    async def follow_up(
        self, deferred: list[Deferred], results: list[CallOutcome], tools: Mapping[str, ToolView]
    ) -> Plan:
        """Deferred clauses get their arguments from the results, read as data.

        A result is never planned from: it can fill an argument slot (a country
        it names, a text to work on), validated against the tool's schema like
        any argument, but cannot add a call or change a tool.
        """
        given = result_text(results)
        calls: list[PlannedCall] = []
        steps: list[str] = []
        unresolved: list[Deferred] = []
        for later in deferred:
            name = later.micromodel
            if name not in tools:
                steps.append(f"{_quoted(later.clause)} -> {name}: no longer serving: no call")
                unresolved.append(later)
                continue
            found = arguments(tools[name], fed_by_results(tools[name], later.clause, given))
            if isinstance(found, str):
                steps.append(
                    f"{_quoted(later.clause)} -> {name}: the results {found} either: no call"
                )
                unresolved.append(later)
                continue
            steps.append(
                f"{_quoted(later.clause)} -> {name} (from the results): {len(found)} call(s)"
            )
            calls += [PlannedCall(name, args) for args in found]
        return Plan("rules", once(calls), "" if calls else "; ".join(steps), steps, unresolved)

    def _plan(
        self,
        session: ModelSession,
        calls: list[PlannedCall],
        reason: str,
        steps: list[str],
        deferred: list[Deferred],
        unplaced: list[str],
    ) -> Plan:
        if not session.usage.completions:
            # Named by what decided: a plan of rules alone never touched the model.
            return Plan("rules", calls, reason, steps, deferred, unplaced=unplaced)
        return Plan(
            self.name, calls, reason, steps, deferred, self.model.id, session.usage, unplaced
        )

    async def _write(
        self, session: ModelSession, tool: ToolView, clause: Clause, how: str, steps: list[str]
    ) -> list[dict[str, Any]] | str:
        name, schema = tool.name, tool.input_schema
        if not schema and fields_argument(tool) is None:
            return "has no input schema to write arguments for"
        description = tool.description or name
        writer = ArgumentWriter(session)
        written = await session.run_in(
            self.worker,
            lambda: writer.write(tool, description, schema, clause),
            step="plan.write_arguments",
        )
        if isinstance(written, str):
            return written
        args, by_model = written
        shown = ", ".join(f"{k}={orjson.dumps(args[k]).decode()[:60]}" for k in by_model)
        steps.append(
            f"{_quoted(clause.text)} -> {name} ({how}): arguments written by the model: {shown}"
        )
        return [args]

    async def _route(
        self, session: ModelSession, clause: str, tools: Mapping[str, ToolView]
    ) -> str:
        names = sorted(tools)
        options = [*names, NONE]
        asked = " ".join(clause[:ROUTE_CHARS].split())
        near: list[tuple[str, str]] | None = None
        affinity: dict[str, float] = {}
        if self.nearest is not None:
            if self.nearest_shots:
                found = self.nearest.neighbours(asked, tools)[: self.nearest_shots]
                near = [(n.request, n.tool) for n in reversed(found)]
            if self.affinity_weight:
                affinity = self.nearest.affinity(asked, tools)
        prompt = _routing_prompt(names, tools, near)

        def score() -> list[float]:
            given = session.score_options(
                prompt + template("Request: ") + untrusted(quoted(asked)) + template("\nTool:"),
                [f" {o}" for o in options],
            )
            blank = session.score_options(
                prompt + template(f"Request: {quoted(CONTENT_FREE)}\nTool:"),
                [f" {o}" for o in options],
            )
            return [
                a - b + self.affinity_weight * affinity.get(o, 0.0)
                for o, a, b in zip(options, given, blank, strict=True)
            ]

        try:
            scores = await session.run_in(self.worker, score, step="plan.route")
        except ContextOverflowError as exc:
            # Many long tool descriptions: no room left for the clause.
            logger.warning("clause %s not routed: %s", _quoted(clause), exc)
            return NONE
        best = max(range(len(options)), key=lambda i: scores[i])
        logger.debug("routed %r: %s", clause, dict(zip(options, scores, strict=True)))
        return options[best]


def _quoted(clause: str) -> str:
    """A clause as the plan's steps show it: a pasted text is not repeated whole."""
    if len(clause) <= QUOTE_CHARS:
        return repr(clause)
    return f"{clause[:QUOTE_CHARS]!r}... ({len(clause)} characters)"


def result_text(results: list[CallOutcome]) -> str:
    """The text values of the answered calls' outputs, as data for a later call's arguments."""
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for call in results:
        if call.status == "ok":
            walk(call.output)
    return "\n".join(t for t in texts if t.strip())


def _routing_prompt(
    names: list[str], tools: Mapping[str, ToolView], near: list[tuple[str, str]] | None = None
) -> Prompt:
    """The tools and the few shots. A tool's description comes from its registry card:
    quoted as data (`card_text`), one JSON string on its tool's line, so that nothing it
    says can add a line of its own ("Request: …", "Tool: …"), and the prompt says so
    before the list. Its name is the contract's pattern (lowercase, digits, dashes)."""
    # The note goes with the task, not into the "Tools:" header: there it cost the
    # planning set a right plan (an extraction routed to the summarizer).
    prompt = template(f"Pick the tool for each request. {DATA_NOTE}\n\nTools:\n")
    for name in names:
        described = untrusted(f"{name}: {quoted(tools[name].description or name)}")
        prompt += template("- ") + described + template("\n")
    lines = [f"- {NONE}: {quoted('anything the tools above do not do')}", ""]
    prompt += template("\n".join(lines) + "\n")
    # The shots come from the live cards (their examples): card text, quoted as data,
    # each on its own "Request:" line; the tool a shot names is a live tool's name.
    if near is not None:
        # The nearest examples go last, the most similar just before the clause.
        shots = [*NONE_SHOTS, *near]
    else:
        shots = _interleaved(routing_shots(tools), NONE_SHOTS)
    for request, tool in shots:
        prompt += template("Request: ") + untrusted(quoted(request))
        prompt += template(f"\nTool: {tool}\n\n")
    return prompt


def _interleaved(
    cards: list[tuple[str, str]], none: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The card shots with the no-tool shots spread among them, the last shot a no-tool
    one: a small model leans to the tool the shots just before the request named."""
    shots = list(cards)
    step = max(1, len(cards) // len(none))
    for i, shot in enumerate(none[:-1]):
        shots.insert(min(len(shots), (i + 1) * step + i), shot)
    return [*shots, none[-1]]

"""The planner's rules, built from the live micromodels' registry cards.

A card's routing section (slmesh.schemas.Routing) says which words route a clause to
its micromodel, how each argument is read off a clause, and example requests with
their calls. This module compiles it once per card and reads clauses with it; it holds
no knowledge of any one micromodel. A micromodel whose card says nothing of routing is
planned by its name (`named_tools`) and the model, its arguments written from its
input schema.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slmesh.orchestrator.planning.choices import enumerated_choices, listed_choices
from slmesh.orchestrator.planning.decomposition import NO_TEXT, Clause, named_tools
from slmesh.orchestrator.planning.memo import ByIdentity
from slmesh.orchestrator.planning.phrases import (
    MATCHED_CHARS,
    content_stems,
    near,
    near_stem,
    phrases_pattern,
    words,
)
from slmesh.orchestrator.planning.plan import PlannedCall, ToolView
from slmesh.orchestrator.planning.readings import (
    Arguments,
    Awaited,
    each_value,
    object_schema,
    read_arguments,
)
from slmesh.schemas import Routing

# A payload this short is a list of values, not a document (see _own_words).
SHORT_PAYLOAD = 200
# The most fields one merged call asks for.
MAX_FIELDS = 12
# Sets of live cards whose keywords are kept as one pattern (clause_starts).
MAX_STARTS = 64


@dataclass(frozen=True)
class CardRules:
    """One micromodel's card, compiled."""

    routing: Routing
    keywords: re.Pattern[str] | None
    # Single-word keywords ("summar*", "redact*") a misspelling may still hit.
    stems: tuple[tuple[str, bool], ...]
    cues: re.Pattern[str] | None
    # The stems of the words its card says what it does with (kinds, keywords, cues).
    vocabulary: frozenset[str]

    @property
    def needs_text(self) -> bool:
        return self.routing.needs_text

    def nearly_matches(self, clause: str) -> bool:
        """Whether a word of the clause is one of its single-word keywords misspelt."""
        for _, word in words(clause):
            for stem, is_stem in self.stems:
                if (near_stem(word, stem) if is_stem else near(word, stem)) and len(word) >= 5:
                    return True
        return False


def rules_of(tool: ToolView) -> CardRules | None:
    """The tool's card compiled, or None when its card says nothing of routing. An
    alternative planned as its tool shares the tool's card object, so its compilation."""
    if tool.routing is None:
        return None
    return _compiled(tool.routing)


def _compile(routing: Routing) -> CardRules:
    single = tuple(
        (k.strip().rstrip("*").lower(), k.strip().endswith("*"))
        for k in routing.keywords
        if " " not in k.strip() and len(k.strip().rstrip("*")) >= 5
    )
    # Its kinds say what it does (not its examples: their objects, "this email", are
    # not what it does), and its keywords and cues.
    said = [*routing.kinds, *routing.keywords, *routing.cues]
    # The values it is asked about ("Germany" in an example) say nothing of what it does.
    values = [n for a in routing.arguments.values() for ns in a.names.values() for n in ns]
    valued = {
        s
        for v in [*values, *(g for a in routing.arguments.values() for g in a.groups)]
        for s in content_stems(v)
    }
    vocabulary = frozenset(s for text in said for s in content_stems(text)) - valued
    return CardRules(
        routing,
        phrases_pattern(routing.keywords),
        single,
        phrases_pattern(routing.cues),
        vocabulary,
    )


_compiled = ByIdentity(_compile)


def keyword_tools(
    clause: str, tools: Mapping[str, ToolView], *, has_text: bool = True
) -> list[str]:
    """The tools whose card's keywords the clause uses; failing that, those it names or
    nearly uses (a misspelt keyword). In the order their keywords appear. Without a text
    to work on, a tool that needs one yields to another the clause also matches ("When
    does the reduced VAT rate apply?" is no extraction)."""
    found: list[tuple[int, str]] = []
    for name in sorted(tools):
        rules = rules_of(tools[name])
        if rules is not None and rules.keywords is not None:
            hit = rules.keywords.search(clause[:MATCHED_CHARS])
            if hit is not None:
                found.append((hit.start(), name))
    if not has_text and len(found) > 1:
        textless = [(at, n) for at, n in found if not _needs_text(tools[n])]
        found = textless or found
    if found:
        return [name for _, name in sorted(found)]
    named = named_tools(clause, {n for n in tools if rules_of(tools[n]) is None})
    if named:
        return named
    cued = [
        n
        for n in sorted(tools)
        if (r := rules_of(tools[n])) is not None
        and r.cues is not None
        and (has_text or not r.needs_text)
        and r.cues.search(clause[:MATCHED_CHARS])
    ]
    if cued:
        return cued
    nearly = [n for n in sorted(tools) if (r := rules_of(tools[n])) and r.nearly_matches(clause)]
    if nearly:
        return nearly
    # A clause that lists choices ("IT, HR or Finance?") asks to choose among them: the
    # tool that takes choices, when exactly one does.
    opening = clause[:MATCHED_CHARS]
    if listed_choices(opening) or enumerated_choices(opening):
        choosing = [n for n in sorted(tools) if _reads(tools[n], "choices")]
        if len(choosing) == 1:
            return choosing
    return []


# Words a clause may open with that ask rather than say what to do ("tell me the ...").
_ASKING_OPENERS = frozenset(
    [
        "tell",
        "give",
        "show",
        "list",
        "please",
        "could",
        "would",
        "can",
        "also",
        "then",
        "next",
        "and",
        "what",
        "which",
        "who",
        "when",
        "how",
        "where",
        "whether",
        "let",
        "just",
        "now",
    ]
)
_OBJECT = re.compile(r"\b(?:the|this|that|its|my|our|your|their)\s+$", re.IGNORECASE)


def acts_on_result(clause: str, tool: ToolView, tools: Mapping[str, ToolView]) -> bool:
    """Whether a clause that names the previous clause's tool only as the object of a
    verb no live card knows asks for something else done to that tool's result:
    "Summarise this and translate the summary into German"."""
    rules = rules_of(tool)
    opening = re.match(r"\s*([^\W\d_]{4,})\b", clause)
    if rules is None or rules.keywords is None or opening is None:
        return False
    verb = opening.group(1).lower()
    if verb in _ASKING_OPENERS:
        return False
    for other in tools.values():
        known = rules_of(other)
        if known is not None and any(
            p is not None and p.match(clause, opening.start(1))
            for p in (known.keywords, known.cues)
        ):
            return False
        if known is not None and any(verb.startswith(v) for v in known.vocabulary if len(v) >= 4):
            return False
    named = rules.keywords.search(clause, opening.end())
    return named is not None and _OBJECT.search(clause[: named.start()]) is not None


def continued(clause: Clause, previous: list[str], tools: Mapping[str, ToolView]) -> list[str]:
    """The previous clause's tools this one goes on with: "VAT in Slovenia, and then
    Slovakia as well" names a value of a tool the clause before asked for."""
    going_on = []
    for name in previous:
        rules = rules_of(tools[name]) if name in tools else None
        if rules is None:
            continue
        for reading in rules.routing.arguments.values():
            if reading.read == "each" and each_value(reading, _own_words(rules, clause).text):
                going_on.append(name)
                break
    return going_on


def merged(calls: list[PlannedCall], tools: Mapping[str, ToolView]) -> list[PlannedCall]:
    """Calls of a tool that names fields, on the same text, made one call asking for all
    of their fields ("Who signed this contract and when does it end?")."""
    out: list[PlannedCall] = []
    by_key: dict[str, PlannedCall] = {}
    for call in calls:
        argument = fields_argument(tools[call.micromodel]) if call.micromodel in tools else None
        schema = call.arguments.get(argument) if argument else None
        if argument is None or not isinstance(schema, dict):
            out.append(call)
            continue
        rest = {k: v for k, v in call.arguments.items() if k != argument}
        key = call.micromodel + repr(sorted(rest.items()))
        earlier = by_key.get(key)
        if earlier is None:
            by_key[key] = call
            out.append(call)
            continue
        fields = [*earlier.arguments[argument]["properties"], *schema.get("properties", {})]
        joined = PlannedCall(
            call.micromodel,
            {**rest, argument: object_schema(list(dict.fromkeys(fields))[:MAX_FIELDS])},
        )
        out[out.index(earlier)] = joined
        by_key[key] = joined
    return out


def supports(tool: ToolView, clause: str) -> bool:
    """Whether the clause shares a word with what the tool's card says it does: a model's
    pick with nothing behind it ("translate it to French" -> a VAT tool) is no pick. A
    tool whose card says nothing of routing is taken on the model's word."""
    rules = rules_of(tool)
    if rules is None:
        return True
    return not rules.vocabulary.isdisjoint(content_stems(clause[:MATCHED_CHARS]))


def _needs_text(tool: ToolView) -> bool:
    rules = rules_of(tool)
    return rules is None or rules.needs_text


def _reads(tool: ToolView, kind: str) -> bool:
    rules = rules_of(tool)
    return rules is not None and any(a.read == kind for a in rules.routing.arguments.values())


_starts: dict[tuple[int, ...], tuple[list[Routing], re.Pattern[str] | None]] = {}


def clause_starts(tools: Mapping[str, ToolView]) -> re.Pattern[str] | None:
    """Every live card's keywords as one pattern: where a new clause may start."""
    routings = sorted((t.routing for t in tools.values() if t.routing is not None), key=id)
    key = tuple(id(r) for r in routings)
    cached = _starts.get(key)
    if cached is None or any(a is not b for a, b in zip(cached[0], routings, strict=True)):
        if len(_starts) > MAX_STARTS:
            _starts.clear()
        cached = (routings, phrases_pattern(k for r in routings for k in r.keywords))
        _starts[key] = cached
    return cached[1]


def arguments(tool: ToolView, clause: Clause, *, by_keyword: bool = True) -> Arguments:
    """The calls' arguments for `tool`, read off the clause by its card, or why not."""
    rules = rules_of(tool)
    if rules is None:
        if clause.payload is None:
            return Awaited(NO_TEXT)
        return f"has no argument rules for {tool.name}"
    if rules.needs_text and clause.payload is None:
        return Awaited(NO_TEXT)
    return read_arguments(rules.routing, _own_words(rules, clause), codes=by_keyword)


def _own_words(rules: CardRules, clause: Clause) -> Clause:
    """A tool that works on no text reads its values off a short payload too: "VAT for:
    Spain, Italy, Malta" lists them after the colon. A document (more than a sentence) it
    never reads: the countries an invoice names are not the ones asked about, and an
    earlier call may be asked to find them ("extract the country, then its VAT")."""
    payload = clause.payload
    if rules.needs_text or payload is None or len(payload) > SHORT_PAYLOAD:
        return clause
    if re.search(r"[.!?]\s+\S", payload):
        return clause
    return Clause(f"{clause.text} {clause.payload}", None)


def unserved(tool: ToolView, clause: Clause) -> list[str]:
    """What the clause names that the tool's card says it does not serve, as a response
    names it ("Norway (vat-rates does not serve it)")."""
    rules = rules_of(tool)
    if rules is None:
        return []
    text = _own_words(rules, clause).text[:MATCHED_CHARS]
    found = []
    for reading in rules.routing.arguments.values():
        pattern = phrases_pattern(reading.others)
        if pattern is not None:
            found += [m.group() for m in pattern.finditer(text)]
    return [f"{other} ({tool.name} does not serve it)" for other in dict.fromkeys(found)]


def fed_by_results(tool: ToolView, clause: str, results: str) -> Clause:
    """A deferred clause with an earlier round's results as `tool` takes them."""
    rules = rules_of(tool)
    if rules is not None and rules.routing.results_as == "words":
        return Clause(f"{clause} {results}", None)
    return Clause(clause, results or None)


def fields_argument(tool: ToolView) -> str | None:
    """The argument whose value the model names as fields (an extractor's schema), if any."""
    rules = rules_of(tool)
    if rules is None:
        return None
    return next((n for n, a in rules.routing.arguments.items() if a.read == "fields"), None)


def instruction_of(request: str) -> str:
    """A card example's instruction, without its pasted text (which teaches routing nothing)."""
    instruction = request.split(": <text>")[0].replace(" <text>", "")
    return " ".join(instruction.split())[:120]


def routing_shots(tools: Mapping[str, ToolView], per_tool: int = 2) -> list[tuple[str, str]]:
    """(request, tool) examples from the live cards, for the routing prompt: each card's
    first few, only the instruction (a pasted text teaches routing nothing), taken a tool
    at a time in turn: a small model favours whatever tool the last run of shots named."""
    per_name: list[list[tuple[str, str]]] = []
    for name in sorted(tools):
        rules = rules_of(tools[name])
        if rules is None:
            continue
        own = [(instruction_of(e.request), name) for e in rules.routing.examples[:per_tool]]
        per_name.append(own)
    return [shot for turn in itertools.zip_longest(*per_name) for shot in turn if shot]


def field_shots(tool: ToolView) -> list[tuple[str, list[str]]]:
    """(request, field names) from the tool's card, for the model that names fields."""
    rules = rules_of(tool)
    argument = fields_argument(tool)
    if rules is None or argument is None:
        return []
    shots = []
    for example in rules.routing.examples:
        for call in example.calls:
            value: Any = call.get(argument)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                instruction = example.request.replace(": <text>", "").replace(" <text>", "")
                shots.append((instruction, [str(v) for v in value]))
    return shots

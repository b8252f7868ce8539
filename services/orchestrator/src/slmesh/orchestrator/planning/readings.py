"""Reading a call's arguments off a clause, as its micromodel's card says (one reader per
kind of reading: text, each, choices, number, fields).

A reader gives the calls' arguments (one call per value where the card says `each`),
or why it cannot: `Awaited` when an earlier call's result may still give what is
missing (a country the extracted invoice names, a text a summary writes), a plain
reason when the planner's model must write the argument instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slmesh.orchestrator.planning.choices import enumerated_choices, listed_choices
from slmesh.orchestrator.planning.decomposition import NO_TEXT, Clause, texts_of
from slmesh.orchestrator.planning.memo import ByIdentity
from slmesh.orchestrator.planning.phrases import (
    MATCHED_CHARS,
    folded,
    near,
    phrase_pattern,
    phrases_pattern,
    words,
)
from slmesh.schemas import ArgumentReading, Routing


class Awaited(str):
    """Why a clause's arguments cannot be read yet: an earlier call's result may give them."""

    __slots__ = ()


Arguments = list[dict[str, Any]] | str

_NUMERIC_FIELD = re.compile(r"amount|total|price|cost|sum|fee|vat|tax|quantity|number")


def read_arguments(routing: Routing, clause: Clause, *, codes: bool = True) -> Arguments:
    """One dict per call, or why the clause does not give them. `codes`: whether a bare
    value ("DE") counts, which it does only where the card's own words routed the clause
    (routed by the model, "IT, HR or Finance" are departments, not countries)."""
    calls: list[dict[str, Any]] = [{}]
    for name, reading in routing.arguments.items():
        if reading.read == "text":
            if clause.payload is None:
                return Awaited(NO_TEXT)
            # "Tag each of these two reviews: Review A: ... Review B: ...": a call a text.
            calls = [{**call, name: text} for call in calls for text in texts_of(clause)]
        elif reading.read == "each":
            values = each_value(reading, clause.text, codes=codes)
            if not values:
                return Awaited(f"names no {reading.called or name}")
            calls = [{**call, name: value} for call in calls for value in values]
        elif reading.read == "choices":
            opening = clause.text[:MATCHED_CHARS]
            choices = listed_choices(opening) or enumerated_choices(opening)
            # "with a priority, low, medium or high": a word the presets know is the
            # question's topic, not one of its choices.
            preset = preset_choices(reading, choices[0]) if len(choices) > 2 else []
            if preset and choices[0] not in preset:
                choices = choices[1:]
            choices = choices or preset_choices(reading, clause.text)
            if len(choices) < 2:
                return f"names no {name} to choose from"
            for call in calls:
                call[name] = choices
        elif reading.read == "number":
            number = stated_number(reading, clause.text)
            if number is not None:
                for call in calls:
                    call[name] = number
        elif reading.read == "fields":
            fields = named_fields(reading, clause.text)
            if not fields:
                return f"names no {name}"
            for call in calls:
                call[name] = object_schema(fields)
    return calls


@dataclass(frozen=True)
class _Values:
    """An `each` reading compiled: built once per card, not once per clause."""

    every: re.Pattern[str] | None
    name_of: dict[str, str]
    groups: dict[str, list[str]]
    names: re.Pattern[str] | None
    bare: re.Pattern[str] | None
    # Single-word names by their first letter (accents folded), for misspellings.
    by_initial: dict[str, list[tuple[str, str]]]


def _compile(reading: ArgumentReading) -> _Values:
    name_of = {n.lower(): value for value, names in reading.names.items() for n in names}
    groups = {g.lower(): list(values) for g, values in reading.groups.items()}
    bare = (
        re.compile(r"(?<![\w&])(" + "|".join(map(re.escape, reading.names)) + r")(?![\w&])")
        if reading.names
        else None
    )
    by_initial: dict[str, list[tuple[str, str]]] = {}
    for said, value in name_of.items():
        if " " not in said:
            by_initial.setdefault(folded(said)[0], []).append((said, value))
    return _Values(
        phrases_pattern(reading.every),
        name_of,
        groups,
        phrases_pattern([*name_of, *groups]),
        bare,
        by_initial,
    )


_compiled = ByIdentity(_compile)


def each_value(
    reading: ArgumentReading,
    text: str,
    *,
    codes: bool = True,
) -> list[str]:
    """The values the text names, in order of first mention, without repeats. A bare
    code before a team's or a function's noun names something else ("the IT department",
    "our HR team")."""
    opening = text[:MATCHED_CHARS]
    values = _compiled(reading)
    if values.every is not None and values.every.search(opening):
        return list(reading.names)
    found: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []
    if values.names is not None:
        for m in values.names.finditer(opening):
            spans.append(m.span())
            said = " ".join(m.group().lower().split())
            named = [values.name_of[said]] if said in values.name_of else []
            found += [(m.start(), value) for value in values.groups.get(said, named)]
    if codes and values.bare is not None:
        found += [
            (m.start(), m.group(1))
            for m in values.bare.finditer(opening)
            if not _names_a_team(opening, m.end())
        ]
    # A misspelt name ("Germny", "Itlay's"): a word no name matched, a letter or two off.
    # Compared only with names of its first letter and about its length: a typo seldom
    # starts a word, and this keeps the comparisons few.
    for at, word in words(opening):
        if len(word) < 5 or any(s <= at < e for s, e in spans):
            continue
        for said, value in values.by_initial.get(folded(word)[0], []):
            if abs(len(said) - len(word)) <= 2 and near(word, said):
                found.append((at, value))
                break
    return list(dict.fromkeys(value for _, value in sorted(found, key=lambda f: f[0])))


# Nouns after a code that make it a team's or a function's name ("the IT department",
# "our HR team"), not a value: "DE customers" and "FR rates" still name countries.
_ORGANISATION = re.compile(
    r"(?:department|dept|team|support|staff|desk|helpdesk|manager|group|unit|division|"
    r"function|guy|people|folks|ops|budget|ticket|committee|director|head|lead|systems?|"
    r"services?|colleagues?|policy|policies|issues?|request|onboarding|admin)\b"
)


def _names_a_team(text: str, end: int) -> bool:
    return _ORGANISATION.match(text[end:].lstrip()) is not None


def preset_choices(reading: ArgumentReading, text: str) -> list[str]:
    """The choices a word of the clause implies when it lists none ("sentiment")."""
    opening = text[:MATCHED_CHARS]
    for phrase, choices in reading.presets.items():
        if re.search(phrase_pattern(phrase), opening, re.IGNORECASE):
            return list(choices)
    return []


def stated_number(reading: ArgumentReading, text: str) -> int | None:
    units = phrases_pattern(reading.units)
    if units is None:
        return None
    for m in re.finditer(r"(?<![\d.])(\d{1,4})(?:\s+|-)", text[:MATCHED_CHARS]):
        unit = re.match(r"[^\W\d_]+", text[m.end() :])
        said = unit.group() if unit is not None else ""
        # A misspelt unit ("in 40 wrods") only where a limit is asked: "the 5 works" is not.
        limit = re.search(r"\b(?:in|to|under|max(?:imum)?|most|within)\s+$", text[: m.start()])
        misspelt = limit is not None and any(near(said, u) for u in reading.units if len(u) >= 4)
        if units.match(text, m.end()) or misspelt:
            value = int(m.group(1))
            if reading.minimum is not None:
                value = max(reading.minimum, value)
            if reading.maximum is not None:
                value = min(reading.maximum, value)
            return value
    return None


def named_fields(reading: ArgumentReading, text: str) -> list[str]:
    """The fields named after one of the card's words ("extract the amount and the date")."""
    after = phrases_pattern(reading.after)
    if after is None:
        return []
    m = after.search(text[:MATCHED_CHARS])
    end = m.end() if m is not None else _nearly_after(reading, text[:MATCHED_CHARS])
    if end is None:
        return []
    rest = re.sub(r"^\s+(?:out\s+)?", "", text[end:MATCHED_CHARS])
    # "get the basics, ie the employee's name and start date": what follows restates it.
    restated = re.search(r"\b(?:i\.?e\.?|namely|that is|specifically)(?:,|\s)\s*", rest)
    if restated is not None:
        rest = rest[restated.end() :]
    # "Extract the following from the email below: meeting date, location".
    listed = re.match(r"(?:the\s+)?(?:following|these|this info\w*)\b[^:]*:\s*(.+)", rest)
    if listed is not None:
        rest = listed.group(1)
    rest = re.split(r"\s+(?:from|out of|in|on|of this)\b|[:?!]|\.(?:\s|$)", rest, maxsplit=1)[0]
    names = []
    for part in re.split(r",|\band\b|&", rest):
        kept = re.sub(r"\b(the|a|an|this|its|their|all|me|us)\b", " ", part.lower()).split()
        if kept:
            names.append("_".join(re.sub(r"[^a-z0-9]", "", w) for w in kept))
    return [n for n in dict.fromkeys(names) if n and re.match(r"^[a-z][a-z0-9_]{0,29}$", n)]


def _nearly_after(reading: ArgumentReading, text: str) -> int | None:
    """Where a misspelt one-word `after` phrase ("Extarct") ends among the first words."""
    single = [p for p in reading.after if " " not in p and "*" not in p and len(p) >= 5]
    for at, word in words(text)[:4]:
        if len(word) >= 5 and any(near(word, p) for p in single):
            return at + len(word)
    return None


def object_schema(fields: list[str]) -> dict[str, Any]:
    """A target schema for named fields: amounts are numbers, the rest text."""
    return {
        "type": "object",
        "properties": {
            name: {"type": "number" if _NUMERIC_FIELD.search(name) else "string"} for name in fields
        },
        "required": fields,
        "additionalProperties": False,
    }

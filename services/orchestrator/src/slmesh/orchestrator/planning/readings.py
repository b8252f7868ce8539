"""Reading a call's arguments off a clause, as its micromodel's card says (one reader per
kind of reading: text, each, choices, number, fields).

A reader gives the calls' arguments (one call per value where the card says `each`),
or why it cannot: `Awaited` when an earlier call's result may still give what is
missing (a country the extracted invoice names, a text a summary writes), a plain
reason when the planner's model must write the argument instead.
"""

from __future__ import annotations

import re
from typing import Any

from slmesh.orchestrator.planning.choices import listed_choices
from slmesh.orchestrator.planning.decomposition import NO_TEXT, Clause
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
            for call in calls:
                call[name] = clause.payload
        elif reading.read == "each":
            values = each_value(reading, clause.text, codes=codes)
            if not values:
                return Awaited(f"names no {reading.called or name}")
            calls = [{**call, name: value} for call in calls for value in values]
        elif reading.read == "choices":
            choices = listed_choices(clause.text)
            # "with a priority, low, medium or high": a word the presets know is the
            # question's topic, not one of its choices.
            if len(choices) > 2 and preset_choices(reading, choices[0]):
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


def each_value(reading: ArgumentReading, text: str, *, codes: bool = True) -> list[str]:
    """The values the text names, in order of first mention, without repeats."""
    opening = text[:MATCHED_CHARS]
    every = phrases_pattern(reading.every)
    if every is not None and every.search(opening):
        return list(reading.names)
    found: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []
    name_of = {n.lower(): value for value, names in reading.names.items() for n in names}
    groups = {g.lower(): values for g, values in reading.groups.items()}
    pattern = phrases_pattern([*name_of, *groups])
    if pattern is not None:
        for m in pattern.finditer(opening):
            spans.append(m.span())
            said = " ".join(m.group().lower().split())
            for value in groups.get(said, [name_of[said]] if said in name_of else []):
                found.append((m.start(), value))
    if codes and reading.names:
        bare = re.compile(r"(?<![\w&])(" + "|".join(map(re.escape, reading.names)) + r")(?![\w&])")
        found += [(m.start(), m.group(1)) for m in bare.finditer(opening)]
    # A misspelt name ("Germny", "Itlay's"): a word no name matched, a letter or two off.
    # Compared only with names of its first letter and about its length: a typo seldom
    # starts a word, and this keeps the comparisons few.
    for at, word in words(opening):
        if len(word) < 5 or any(s <= at < e for s, e in spans):
            continue
        first = folded(word)[0]
        for said, value in name_of.items():
            close = folded(said)[0] == first and abs(len(said) - len(word)) <= 2
            if close and " " not in said and near(word, said):
                found.append((at, value))
                break
    return list(dict.fromkeys(value for _, value in sorted(found, key=lambda f: f[0])))


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
    for m in re.finditer(r"(?<![\d.])(\d{1,4})\s+", text[:MATCHED_CHARS]):
        if units.match(text, m.end()):
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
    if m is None:
        return []
    rest = re.sub(r"^\s+(?:out\s+)?", "", text[m.end() : MATCHED_CHARS])
    rest = re.split(r"\s+(?:from|out of|in|on|of this|of the)\b|[:?!.]", rest, maxsplit=1)[0]
    names = []
    for part in re.split(r",|\band\b|&", rest):
        kept = re.sub(r"\b(the|a|an|this|its|their|all|me|us)\b", " ", part.lower()).split()
        if kept:
            names.append("_".join(re.sub(r"[^a-z0-9]", "", w) for w in kept))
    return [n for n in dict.fromkeys(names) if n and re.match(r"^[a-z][a-z0-9_]{0,29}$", n)]


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

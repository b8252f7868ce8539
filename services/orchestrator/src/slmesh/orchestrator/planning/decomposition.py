"""Taking a request apart before any model sees it: payload, clauses, tool per clause, arguments.

A small model picks the wrong calls when asked for the whole plan at once
(about 1 in 10 right, DESIGN.md §3). Decomposed, each decision is small:
which text is the payload, which clauses ask for something, which tool each
clause wants, and each argument on its own — mostly clear-cut, so rules take
them, and the model only ranks tools for a clause no rule recognises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slmesh.orchestrator.countries import MEMBER_STATES, asks_for_all, mentioned_countries

# The payload starts after the first ':' or '?' that is followed by real text.
_PAYLOAD = re.compile(r"[:?]\s+(?=\S.{24,})", re.DOTALL)
_ACTIONS = (
    r"summar|condense|shorten|classif|categori|route|extract|pull|get|tell|give|what|"
    r"list|compare|is this|which"
)
_CLAUSE_BREAK = re.compile(
    rf"(?:[.;]\s+(?:also\s+)?|,?\s+(?:and\s+)?then\s+|,?\s+and\s+(?:also\s+)?(?=(?:{_ACTIONS})))",
    re.IGNORECASE,
)

KEYWORDS: dict[str, re.Pattern[str]] = {
    "vat-rates": re.compile(
        r"\b(vat|value[- ]added[- ]tax|tax rates?|sales tax|mwst|tva|iva|btw|moms)\b",
        re.IGNORECASE,
    ),
    "summarizer": re.compile(
        r"\b(summar\w*|tl;?dr|condense|shorten|gist|in short)\b", re.IGNORECASE
    ),
    "classifier": re.compile(
        r"\b(classif\w*|categori\w*|category|route|label|sentiment|is this \w+ \w+ or \w+)\b",
        re.IGNORECASE,
    ),
    "extractor": re.compile(r"\b(extract\w*|pull .+ out of|get the .+|fields?)\b", re.IGNORECASE),
}
_CHOICES = re.compile(r"\b([\w-]+(?:,\s*[\w-]+)*,?\s+or\s+[\w-]+)\b")
_FIELDS = re.compile(
    r"\b(?:extract|pull|get)\s+(?:out\s+)?(.+?)(?:\s+(?:from|out of)\b|$)", re.IGNORECASE
)
_SENTIMENT = re.compile(r"\b(sentiment|tone|mood)\b", re.IGNORECASE)
_WORDS = re.compile(r"\b(?:in|to|within)\s+(\d{1,3})\s+words\b", re.IGNORECASE)
_NUMERIC_FIELD = re.compile(r"amount|total|price|cost|sum|fee|vat|tax|quantity|number")


# What a clause may lack that an earlier call's result can give (see slm_planner).
NO_COUNTRY = "names no EU member state"
NO_TEXT = "gives no text to work on"


@dataclass(frozen=True)
class Clause:
    text: str
    payload: str | None


def split_request(request: str) -> tuple[str, str | None]:
    """(instruction, payload): the payload is the text the request is about, if any."""
    match = _PAYLOAD.search(request)
    if match is None:
        return request.strip(), None
    return request[: match.start()].strip(), request[match.end() :].strip()


def clauses(request: str) -> list[Clause]:
    instruction, payload = split_request(request)
    parts = [p.strip(" ,.") for p in _CLAUSE_BREAK.split(instruction)]
    return [Clause(p, payload) for p in parts if p]


def keyword_tools(clause: str, tools: set[str]) -> list[str]:
    found = [name for name, pattern in KEYWORDS.items() if name in tools and pattern.search(clause)]
    return found or named_tools(clause, tools - set(KEYWORDS))


def named_tools(clause: str, tools: set[str]) -> list[str]:
    """Tools without keyword rules that the clause names by their stem ("translate" ->
    translator): a new micromodel's name is the cheapest routing signal it brings."""
    words = {w[:6] for w in re.findall(r"[a-z]{5,}", clause.lower())}
    return sorted(
        name
        for name in tools
        if any(len(part) >= 5 and part[:6] in words for part in name.lower().split("-"))
    )


def arguments(tool: str, clause: Clause, whole_request: str) -> list[dict[str, Any]] | str:
    """The calls' arguments for `tool`, or why the clause does not give them."""
    if tool == "vat-rates":
        codes = (
            list(MEMBER_STATES) if asks_for_all(clause.text) else mentioned_countries(clause.text)
        )
        if not codes:
            return NO_COUNTRY
        return [{"country": code} for code in codes]
    if clause.payload is None:
        return NO_TEXT
    if tool == "summarizer":
        args: dict[str, Any] = {"text": clause.payload}
        if words := _WORDS.search(clause.text):
            args["max_words"] = max(3, min(200, int(words.group(1))))
        return [args]
    if tool == "classifier":
        choices = _CHOICES.findall(clause.text)
        if not choices and _SENTIMENT.search(clause.text):
            choices = ["positive, negative or neutral"]
        if not choices:
            return "names no labels to choose from"
        labels = [x.strip().lower() for x in re.split(r",|\bor\b", choices[-1]) if x.strip()]
        if len(set(labels)) < 2:
            return "names fewer than two labels"
        return [{"text": clause.payload, "labels": list(dict.fromkeys(labels))}]
    if tool == "extractor":
        found = _FIELDS.search(clause.text)
        names = _field_names(found.group(1)) if found else []
        if not names:
            return "names no fields to extract"
        return [{"text": clause.payload, "schema": object_schema(names)}]
    return f"has no argument rules for {tool}"


def _field_names(phrase: str) -> list[str]:
    parts = re.split(r",|\band\b", phrase)
    names = []
    for part in parts:
        words = re.sub(r"\b(the|a|an|this|its|their)\b", " ", part.lower()).split()
        if words:
            names.append("_".join(re.sub(r"[^a-z0-9]", "", w) for w in words))
    return [n for n in dict.fromkeys(names) if n]


def object_schema(fields: list[str]) -> dict[str, Any]:
    """The extractor's target schema for named fields: amounts are numbers, the rest text."""
    return {
        "type": "object",
        "properties": {
            name: {"type": "number" if _NUMERIC_FIELD.search(name) else "string"} for name in fields
        },
        "required": fields,
        "additionalProperties": False,
    }

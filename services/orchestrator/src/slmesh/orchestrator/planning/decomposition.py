"""Taking a request apart before any model sees it: payload, clauses, tool per clause, arguments.

A small model picks the wrong calls when asked for the whole plan at once
(about 1 in 10 right; docs/architecture.md, "Measured facts"). Decomposed, each decision is small:
which text is the payload, which clauses ask for something, which tool each
clause wants, and each argument on its own — mostly clear-cut, so rules take
them, and the model only ranks tools for a clause no rule recognises. The
rules of each micromodel (its keywords, how its arguments are read) are in
`knowledge`; this module splits requests into clauses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


# What a clause may lack that an earlier call's result can give (see planning.slm).
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


def named_tools(clause: str, tools: set[str]) -> list[str]:
    """Tools without keyword rules that the clause names by their stem ("translate" ->
    translator): a new micromodel's name is the cheapest routing signal it brings."""
    words = {w[:6] for w in re.findall(r"[a-z]{5,}", clause.lower())}
    return sorted(
        name
        for name in tools
        if any(len(part) >= 5 and part[:6] in words for part in name.lower().split("-"))
    )

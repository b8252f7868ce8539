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

import functools
import re
from dataclasses import dataclass

# The payload starts after the first ':' or '?' that is followed by real text.
_PAYLOAD = re.compile(r"[:?]\s+(?=\S.{24,})|\n\s*(?=\S.{24,})", re.DOTALL)
# A payload's first sentence, when short: it may still be the request's ("Just the gist.").
_FIRST_SENTENCE = re.compile(r"^([^\n.!?:]{1,100}[.!?:])\s+(?=\S)")
# The last sentence before a payload's colon, when it is a label of a word or two.
_LABEL = re.compile(r"[.!?]\s+([^\s.!?:]+(?:\s+[^\s.!?:]+)?)\s*$")
# A request that goes on after its question mark, rather than quoting a text.
_GOES_ON = re.compile(r"(?:and\s+)?(?:then|also|after that|next|plus)\b", re.IGNORECASE)
# A pasted text in quotes: the quotes are not the text.
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb"}
# Words that start a new request after "and": asking words, whatever the tools.
_ASKING = r"tell|give|what|which|who|when|how|list|compare|is this|also|please|can you|could you"
# "... and translate it": a verb and its object, the next thing asked.
_VERB_OBJECT = r"\w+\s+(?:it|them|this|that|me|us)\b"


@functools.lru_cache(maxsize=64)
def _breaks(starts: re.Pattern[str] | None) -> re.Pattern[str]:
    """Where one clause ends and the next begins: a full stop, "then", or "and" before an
    asking word, a verb and its object, or a word that routes to a live tool (`starts`,
    from the cards)."""
    after_and = f"{_ASKING}|{_VERB_OBJECT}" + (f"|{starts.pattern}" if starts is not None else "")
    return re.compile(
        rf"(?:[.;]\s+(?:also\s+)?|,?\s+(?:and\s+)?then\s+|,?\s+after\s+that,?\s+"
        rf"|,?\s+and\s+(?:also\s+)?(?=(?:{after_and})))",
        re.IGNORECASE,
    )


# What a clause may lack that an earlier call's result can give (see planning.slm).
NO_TEXT = "gives no text to work on"


@dataclass(frozen=True)
class Clause:
    text: str
    payload: str | None


def split_request(request: str, starts: re.Pattern[str] | None = None) -> tuple[str, str | None]:
    """(instruction, payload): the payload is the text the request is about, if any: after
    the first colon, question mark or blank line that is followed by real text. A short
    first sentence of it that uses a live tool's words (`starts`) is still the request's
    ("What is the VAT in Belgium? Also sum up this email: ...")."""
    match = _PAYLOAD.search(request)
    if match is None:
        return request.strip(), None
    cut = match.end()
    # "... in 15 words. Supplier: Brightwater Ltd": a label before the colon starts the text.
    label = _LABEL.search(request[: match.start()]) if request[match.start()] == ":" else None
    if label is not None and (starts is None or not starts.search(label.group(1))):
        cut = label.start(1)
    instruction, payload = request[:cut].strip(), request[cut:].strip()
    if _GOES_ON.match(payload) and len(payload) <= 300:
        # "What does ARR mean? Then book me a flight": the request goes on, no text follows.
        return request.strip(), None
    if starts is not None and len(payload) <= 100 and starts.search(payload):
        # "For Bulgaria, Greece and Cyprus: what are the reduced VAT rates?" asks after the colon.
        return f"{instruction} {payload}".strip(), None
    while starts is not None and (first := _FIRST_SENTENCE.match(payload)) is not None:
        rest = payload[first.end() :]
        if not starts.search(first.group(1)) or len(rest) < 24:
            break
        instruction, payload = f"{instruction} {first.group(1)}", rest.strip()
    return instruction.rstrip(":?").strip(), _unquoted(payload)


def _unquoted(text: str) -> str:
    closing = _QUOTES.get(text[:1])
    if closing is not None and len(text) > 2 and text.endswith(closing):
        return text[1:-1].strip()
    return text


def clauses(request: str, starts: re.Pattern[str] | None = None) -> list[Clause]:
    """The request's clauses, each with the request's payload. `starts`: the words that
    route to a live tool, so "summarize this and classify it" is two clauses."""
    instruction, payload = split_request(request, starts)
    parts = [p.strip(" ,.") for p in _breaks(starts).split(instruction)]
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

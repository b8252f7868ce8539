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

from slmesh.orchestrator.planning.choices import (
    bulleted_choices,
    enumerated_choices,
    listed_choices,
)
from slmesh.orchestrator.planning.phrases import MATCHED_CHARS

# The payload starts after the first ':', '?', '->' or line break that is followed by real
# text (a run of blank lines is tried once, from its start: not once per line).
_PAYLOAD = re.compile(
    r"(?:[:?]|\s(?:->|=>|\u2192))\s+(?=\S.{24,})|(?<!\s)\n\s*(?=\S.{24,})", re.DOTALL
)
# A payload's first sentence, when short: it may still be the request's ("Just the gist.").
_FIRST_SENTENCE = re.compile(r"^([^\n.!?:]{1,100}[.!?:])\s+(?=\S)")
# The last sentence before a payload's colon, when it is a label of a word or two.
_LABEL = re.compile(r"[.!?]\s+([^\s.!?:]+(?:\s+[^\s.!?:]+)?)\s*$")
# A request that goes on after its question mark, rather than quoting a text.
_GOES_ON = re.compile(
    r"(?:and|then|also|after that|next|plus|and then|and also)\b"
    # "Separately, ..." goes on; "Second quarter revenue rose" is a text.
    r"|(?:separately|additionally|second(?:ly)?)\s*,",
    re.IGNORECASE,
)
# A text in quotes, "..." or '...' or typographic ones, long enough not to be a label.
MIN_QUOTED_CHARS = 40
_QUOTED = re.compile(
    r"(?<!\w)(\"[^\"]{40,}\"|\u201c[^\u201d]{40,}\u201d|\u00ab[^\u00bb]{40,}\u00bb|"
    r"'(?:[^']|'(?=\w)|'(?=\s+[a-z]))" + "{40,}" + r"'(?=\s*(?:$|[^\w\s]|[A-Z])))",
    re.DOTALL,
)
# How far into a sentence a tool's word still says the sentence asks for it.
LEAD_CHARS = 40
# A pasted text's leading dash ("Sales or Accounts? — we want to upgrade ...").
_DASHES = " -\u2013\u2014"
# A sentence after a text that goes on asking: "Second thing, ...", "Also, ...".
_LAST_ASK = re.compile(
    r"[.!?\"'\u201d]\s+((?:second(?:ly|\s+thing)?|also|finally|lastly|and\s+also|plus|"
    r"one\s+more\s+thing)\b,?\s+[^\n]{3,200}?)\s*$",
    re.IGNORECASE,
)
# A sentence of nothing but a few short items: "meeting date, location." after a colon.
_ITEMS_ONLY = re.compile(
    r"^\s*[\w&'-]+(?:\s+[\w&'-]+){0,2}(?:\s*(?:,|\band\b|\bor\b|,\s*and\b)\s*"
    r"[\w&'-]+(?:\s+[\w&'-]+){0,2}){1,5}\s*[.:]?\s*$"
)
# A sentence that ends in a title's full stop ("Our client, Mr.") has not ended.
_TITLE = re.compile(r"\b(?:mr|mrs|ms|dr|prof|st|no|inc|ltd|co|jr|sr)\.$", re.IGNORECASE)
# A question word or two and nothing else: more of the clause before ("... and when").
_BARE_QUESTION = re.compile(
    r"^(?:(?:and|or|to|by|from|for|with)\s+)?(?:when|where|who|whom|why|which|how\s+much|"
    r"how\s+many|how\s+long|what\s+for)$",
    re.IGNORECASE,
)
# A sentence that announces the text after it: "... the following incident report." / "below."
_ANNOUNCED = re.compile(
    r"\b(?:the\s+following|below)(?:\s+[\w-]+){0,3}\s*\.\s+(?=\S.{24,})", re.IGNORECASE | re.DOTALL
)
# A bulleted list, and a label or a courtesy line that starts a text.
_BULLETED = re.compile(r"^(?:\s*[-*\u2022]\s+[^\n]{1,60}\n?)+")
_TEXT_LABEL = re.compile(
    r"^(?:(?:the\s+|my\s+|our\s+)?(?:text|message|e-?mail|review|feedback|tweet|post|ticket|"
    r"comment|notes?|letter|document|content|body|here it is|complaint|request|memo|report|"
    r"here(?:'s|\u2019s|\s+is)\s+(?:the|my|our|a|an)\s+[\w-]+|"
    r"transcript|chat|article|excerpt|snippet|paragraph|passage|statement|announcement|"
    r"minutes|reply|query|question|description|log|entry|record)\s*:"
    r"|[^\n.!?:]{1,30}[.!]\s*\n)\s*",
    re.IGNORECASE,
)
# A conjunction left at a clause's end where the next one was cut off ("... or network and").
_TRAILING = re.compile(r"(?:,?\s+(?:and|or|then))+$", re.IGNORECASE)
# A pasted text in quotes: the quotes are not the text.
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u00ab": "\u00bb"}
# Words that start a new request after "and": asking words, whatever the tools.
_ASKING = r"tell|give|what|which|who|when|how|list|compare|is this|also|please|can you|could you"
# "... and translate it", "... and draft a reply": a verb and its object (a pronoun or
# a determiner that starts one), the next thing asked.
# ("the risks and benefits our team saw" stays one clause: no possessives here).
_VERB_OBJECT = r"\w+\s+(?:it|them|this|that|me|us|\d|a|an|the)\b"


# A full stop that ends an abbreviation ("incl. VAT", "e.g. invoices") ends no clause.
_NOT_ABBREVIATION = (
    r"(?<!\bincl)(?<!\bexcl)(?<!\be\.g)(?<!\bi\.e)(?<!\bapprox)(?<!\bvs)"
    r"(?<!\bmr)(?<!\bmrs)(?<!\bdr)"
)


@functools.lru_cache(maxsize=64)
def _breaks(starts: re.Pattern[str] | None) -> re.Pattern[str]:
    """Where one clause ends and the next begins: a full stop, "then", or "and" before an
    asking word, a verb and its object, or a word that routes to a live tool (`starts`,
    from the cards)."""
    after_and = f"{_ASKING}|{_VERB_OBJECT}" + (f"|{starts.pattern}" if starts is not None else "")
    return re.compile(
        rf"(?:{_NOT_ABBREVIATION}[.;]\s+(?:also\s+)?|[?!]\s+(?:(?:and\s+)?(?:then|also)\s+|(?:and|plus|next)\s+|(?=(?:finally|second)\b))|\s*\((?:[a-h]|[1-9])\)\s*|,?\s+(?:and\s+)?then\s+|,?\s+after\s+that,?\s+"
        rf"|,?\s+and\s+(?:also\s+)?(?=(?:{after_and})))",
        re.IGNORECASE,
    )


# What a clause may lack that an earlier call's result can give (see planning.slm).
NO_TEXT = "gives no text to work on"


@dataclass(frozen=True)
class Clause:
    text: str
    payload: str | None


def split_request(
    request: str, starts: re.Pattern[str] | None = None, *, depth: int = 0
) -> tuple[str, str | None]:
    """(instruction, payload): the payload is the text the request is about, if any.

    It is a quoted text of some length, wherever it stands ("'...' Is it a billing
    issue?"), else what follows the first colon, question mark or line break that is
    followed by real text. What the request still asks after it stays the request's: a
    short first sentence that uses a live tool's words (`starts`) or lists choices, a
    bulleted list of choices, a request that goes on ("Also sum up this email: ..."),
    and a question after a quoted text. A label that starts the text ("Review:",
    "Text follows.") is not the text.
    """
    quoted = _quoted_span(request)
    if quoted is not None:
        start, end = quoted
        # What stands around the quoted text is the request, whatever its colons.
        around = f"{request[:start]} {request[end:]}"
        return _tidy(around), request[start + 1 : end - 1].strip()
    match = _PAYLOAD.search(request)
    announced = _ANNOUNCED.search(request)
    if (
        announced is not None
        and (match is None or announced.start() < match.start())
        and not _GOES_ON.match(request[announced.end() :])
        # The announcing sentence asks for something itself ("Summarise the following
        # report."); "Rental car invoice below." leaves the asking to the next sentence.
        and (starts is None or starts.search(request[: announced.end()]) is not None)
    ):
        # "Summarise the following incident report. At 02:14 UTC ...": the text follows.
        return _tidy(request[: announced.end()]), _unlabelled(request[announced.end() :].strip())
    if match is None:
        return _tidy(request), None
    cut = match.end()
    # "... in 15 words. Supplier: Brightwater Ltd": a label before the colon starts the text,
    # unless what follows it on its line lists choices ("Folders: Invoices, HR, News."):
    # then that line is the request's, and the text starts after it.
    label = _LABEL.search(request[: match.start()]) if request[match.start()] == ":" else None
    line_end = request.find("\n", match.start())
    line_end = line_end if line_end >= 0 else len(request)
    if label is not None and enumerated_choices(label.group(1) + request[match.start() : line_end]):
        if len(request) - line_end >= 24:
            cut = line_end
    elif label is not None and (starts is None or not starts.search(label.group(1))):
        cut = label.start(1)
    instruction, payload = request[:cut].strip(), request[cut:].strip()
    if _GOES_ON.match(payload) and depth < 3:
        # "What's the VAT in Malta? Also sum up this email: ...": the request goes on.
        more, payload_after = split_request(payload, starts, depth=depth + 1)
        return _tidy(f"{instruction} {more}"), payload_after
    # A request whose opening lists its choices ("Department routing please (finance,
    # legal, it, hr): ...") is asked there: what follows is its text.
    asked_after = (
        starts is not None
        and len(payload) <= 200
        and not starts.search(instruction)
        and not (_lists_choices(instruction) and len(payload) > 100)
    )
    if asked_after and starts is not None and (starts.search(payload) or _lists_choices(payload)):
        # The text first, the question after ("The screen flickers.\nHow urgent is it?"),
        # or the question after the colon ("For Bulgaria and Cyprus: what is the VAT?").
        if len(instruction) <= 60:
            return _tidy(f"{instruction} {payload}"), None
        return _tidy(payload), instruction
    choices = bulleted_choices(payload)
    if choices:
        # "one of:\n- Product\n- Price\n\nFeedback: ...": the list is the request's.
        instruction += " " + ", ".join(choices[:-1]) + " or " + choices[-1]
        payload = _BULLETED.sub("", payload, count=1).strip()
    while (first := _FIRST_SENTENCE.match(payload)) is not None:
        rest = payload[first.end() :]
        # A tool's word near its start: a sentence that merely uses one further on
        # ("Can someone explain why my payslip shows a deduction labelled ...") is text.
        asks = starts is not None and starts.search(first.group(1)[:LEAD_CHARS]) is not None
        # "Label this as one of: billing, shipping, account access." lists the choices.
        heading = (
            instruction.endswith(":")
            and _ITEMS_ONLY.match(first.group(1)) is not None
            and _TITLE.search(first.group(1)) is None
        )
        if not (asks or heading or _lists_choices(first.group(1))) or len(rest) < 24:
            break
        instruction, payload = f"{instruction} {first.group(1)}", rest.strip()
    payload, more = _asked_after_text(payload, starts)
    if more:
        instruction = f"{instruction}. {more}"
    return _tidy(instruction), _unlabelled(_unquoted(payload)).lstrip(_DASHES) or None


def _asked_after_text(payload: str, starts: re.Pattern[str] | None) -> tuple[str, str]:
    """A last sentence of the payload that goes on asking ("... CSV files. Second thing,
    tell me the VAT in Romania."): the request's, not the text's."""
    m = _LAST_ASK.search(payload)
    if m is None or starts is None or not starts.search(m.group(1)) or m.start() < 24:
        return payload, ""
    return payload[: m.start() + 1].strip(), m.group(1).strip(" .")


def _quoted_span(request: str) -> tuple[int, int] | None:
    """Where a quoted text of some length stands in the request (its quotes included)."""
    for m in _QUOTED.finditer(request):
        if len(m.group(0)) >= MIN_QUOTED_CHARS + 2:
            return m.span()
    return None


def _lists_choices(sentence: str) -> bool:
    return len(sentence) <= 80 and bool(listed_choices(sentence) or enumerated_choices(sentence))


def _tidy(instruction: str) -> str:
    return " ".join(instruction.split()).strip(" :?-\u2013\u2014")


def _unquoted(text: str) -> str:
    closing = _QUOTES.get(text[:1])
    if closing is not None and len(text) > 2 and text.endswith(closing):
        return text[1:-1].strip()
    return text


def _unlabelled(text: str) -> str:
    """The text without a label or a courtesy line before it ("Review:", "Text follows.")."""
    m = _TEXT_LABEL.match(text)
    if m is not None and len(text) - m.end() >= 24:
        return text[m.end() :].strip()
    return text


# A text's label in a list of texts: "Ticket 1:", "Review B:", "2)" (a line or a sentence start).
_ITEM_LABEL = re.compile(
    r"(?:^|(?<=[.!?\n]))[ \t]*(?:([A-Z][a-z]{1,15})\s+)?(\d{1,2}|[A-H])[ \t]*[:)]\s+", re.MULTILINE
)
# A clause that asks for each of several texts: "each of these tickets", "both reviews".
_EACH_TEXT = re.compile(
    r"\b(?:each|both|every\s+one)\b|\bthese\s+(?:two|three|four|five|six|\d)\b"
    r"|\ball\s+(?:of\s+)?(?:these|the)\b",
    re.IGNORECASE,
)


def texts_of(clause: Clause) -> list[str]:
    """The texts a clause asks about one by one ("tag each of these two reviews: Review A:
    ... Review B: ..."): the payload's labelled items, numbered or lettered in order under
    one label, where the clause asks for each; else the payload as one text."""
    if clause.payload is None:
        return []
    if not _EACH_TEXT.search(clause.text[:MATCHED_CHARS]):
        return [clause.payload]
    labels = list(_ITEM_LABEL.finditer(clause.payload))
    if len(labels) < 2 or labels[0].start() > 0:
        return [clause.payload]
    marks = [m.group(2) for m in labels]
    words = {(m.group(1) or "").lower() for m in labels}
    expected = [str(i + 1) for i in range(len(marks))]
    if len(words) != 1 or marks not in (expected, [chr(ord("A") + i) for i in range(len(marks))]):
        return [clause.payload]
    ends = [m.start() for m in labels[1:]] + [len(clause.payload)]
    items = [clause.payload[m.end() : end].strip() for m, end in zip(labels, ends, strict=True)]
    return items if all(items) else [clause.payload]


def clauses(request: str, starts: re.Pattern[str] | None = None) -> list[Clause]:
    """The request's clauses, each with the request's payload. `starts`: the words that
    route to a live tool, so "summarize this and classify it" is two clauses."""
    instruction, payload = split_request(request, starts)
    parts: list[str] = []
    for part in _breaks(starts).split(instruction):
        part = _TRAILING.sub("", part.strip(" ,."))
        opening = part[:MATCHED_CHARS]
        heading = enumerated_choices(opening) and not listed_choices(opening)
        if parts and heading and (starts is None or not starts.search(part)):
            # "Sort this into the right folder. Folders: Invoices, HR, News.": the
            # choices of the clause before, not a request of their own.
            parts[-1] = f"{parts[-1]}. {part}"
        elif parts and _BARE_QUESTION.match(part):
            # "Who signed this contract and when?": the "when" asks more of the same.
            parts[-1] = f"{parts[-1]} and {part}"
        elif part:
            parts.append(part)
    return [Clause(p, payload) for p in parts]


# Words that open a sentence which tells, greets or thanks rather than asks.
_TELLING = re.compile(
    r"^(?:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening)|thanks|thank|many|cheers|"
    r"regards|best|kind|here|there|i|i'm|we|we're|our|my|the|this|these|that|it|two|three|for|"
    r"several|some|text|below|attached|fyi)\b"
    # "SE team here (sales engineering)", "Anna from billing here": who is asking.
    r"|^[^?]{0,30}\b(?:team|desk|department|dept|office|from\s+[\w-]+)\s+here\b"
    r"(?:\s*\([^)]*\))?\W*$"
    # "Please go through the following": it points at the text, the next clause asks.
    r"|^(?:please\s+)?(?:go\s+through|look\s+(?:at|over|through)|have\s+a\s+look\s+at|"
    r"read(?:\s+through)?|see)\s+(?:the\s+following|this|these|below)(?:\s+[\w-]+){0,3}\W*$",
    re.IGNORECASE,
)


def asks(clause: str) -> bool:
    """Whether a clause asks for something: a question, or not a sentence that tells,
    greets or thanks ("Hello team, I got this from a customer", "Many thanks, Oksana").
    Only a clause that asks is named as a part no micromodel answers."""
    if "?" in clause:
        return True
    return _TELLING.match(clause.strip(" -\u2014\"'")) is None


def named_tools(clause: str, tools: set[str]) -> list[str]:
    """Tools without keyword rules that the clause names by their stem ("translate" ->
    translator): a new micromodel's name is the cheapest routing signal it brings."""
    words = {w[:6] for w in re.findall(r"[a-z]{5,}", clause.lower())}
    return sorted(
        name
        for name in tools
        if any(len(part) >= 5 and part[:6] in words for part in name.lower().split("-"))
    )

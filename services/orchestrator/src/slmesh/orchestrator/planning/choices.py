"""The choices a request lists: "a complaint, a question or praise", "P1 / P2 / P3",
"'urgent' vs 'can wait'", a bulleted list. Read without a model, for any tool that
takes choices (its card says `choices`), and by decomposition, which keeps a list of
choices with the request rather than taking it for the text the request is about.
"""

from __future__ import annotations

import re

# A list of choices: items of up to three words, "a, b or c" / "a or b" / "a/b/c".
_ITEM = r"[\w&'\u2019+-]+(?:\s+[\w&'\u2019+-]+){0,2}"
# "or", "vs", "versus" join the last two; commas the rest.
_OR = r"(?:,?\s+or|\s+vs\.?|\s+versus)\s+"
_LIST = re.compile(rf"({_ITEM}(?:\s*,\s*{_ITEM})*{_OR}{_ITEM})", re.IGNORECASE)
# Items with a letter: "11/06/2024" is a date, not choices.
_SLASHED = re.compile(
    r"(?<![\w/])((?=[\w&-]*[^\W\d_])[\w&-]+(?:\s*/\s*(?=[\w&-]*[^\W\d_])[\w&-]+)+)(?![\w/])"
)
# "travel | meals | office supplies": three or more, not a table's cells ("AB | Date:").
_PIPED = re.compile(
    r"(?<![\w|])([\w&-]+(?:\s+[\w&-]+)?(?:\s*\|\s*[\w&-]+(?:\s+[\w&-]+)?){2,})(?![\w|:])"
)
# Where the first choice begins: after the words that introduce a list.
_LEAD = re.compile(
    r"^.*(?:\b(?:to|as|into|between|either|whether|is\s+(?:this|it)|it's|it\s+is|be|for|go|"
    r"under|among|from|with|about)(?:\s+|$)|\s[-\u2013\u2014:]\s+)",
    re.IGNORECASE,
)
# Words an item may start with that are not the choice: "or to Sales", "a question".
_ARTICLE = re.compile(r"^(?:(?:to|for|as|into|a|an|the|our|my|your|their)\s+)+", re.IGNORECASE)
# A yes/no question or "tell me if/whether ...": the list is what the thing is, and its
# first choice is its last words ("Is the following message positive, negative or ...").
_COPULA_QUESTION = re.compile(
    r"^\s*(?:(?:also|and|then|so|and\s+also)[,:]?\s+)?(?:is|are|was|were|does|do|would|will)\b"
    r"|\b(?:if|whether)\b",
    re.IGNORECASE,
)
# A question asked by a wh-word: a part of its own before the list is that question
# ("Which team should handle this email, sales or support?").
_WH_QUESTION = re.compile(r"\b(?:which|what|who|whom|where|how)\b", re.IGNORECASE)
# What may follow the last choice and is not part of it: "positive or negative in tone".
_TRAILING = re.compile(
    r"\s+(?:in|of|on|at|about|with|for|by|from|to|regarding)\s+.*$", re.IGNORECASE
)
# "in 20 words or fewer", "in a sentence or two": an amount, not choices.
_NOT_CHOICE = re.compile(
    r"(?:\bor|\bvs\.?)\s+(?:fewer|less|more|so|two|three|similar|shorter|longer|thereabouts)\b",
    re.IGNORECASE,
)
# A bulleted list: one choice a line.
_BULLETS = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)]|[a-h]\))\s+(.{1,60}?)\s*$", re.MULTILINE)


def listed_choices(text: str) -> list[str]:
    """The choices a clause lists ("a complaint, a question or praise"), lower case."""
    found = [m for m in _LIST.finditer(text) if not _NOT_CHOICE.search(m.group(1))]
    if found:
        match = found[-1]
        listed = match.group(1)
        parts = [p for p in re.split(rf"\s*,\s*(?:or\s+)?|{_OR}", listed, flags=re.IGNORECASE) if p]
        if len(parts) >= 2:
            # The words before the list, back to the sentence's start: how it is asked.
            asked = re.split(r"[.!?:;\n]\s", text[: match.start()])[-1] + parts[0]
            parts[-1] = _last_choice(parts[-1], parts[:-1], asked)
            parts[0] = _first_choice(
                parts[0], parts[1:], asked, own_part="," in listed.split(parts[1])[0]
            )
        return _distinct(parts)
    slashed = _SLASHED.findall(text)
    if slashed:
        return _distinct(re.split(r"\s*/\s*", slashed[-1]))
    piped = _PIPED.findall(text)
    if piped:
        return _distinct(re.split(r"\s*\|\s*", piped[-1]))
    return []


def _last_choice(last: str, rest: list[str], asked: str) -> str:
    """The last choice without what follows it ("negative in tone" -> "negative"), where it
    is longer than every other choice (an item longer than its peers ran on), or where a
    yes/no question asks it, whose first choice is then cut to its length."""
    # "a 'hardware', 'software' or 'network' problem": a quoted choice ends at its quote.
    quoted = re.match(r"^([\"'\u2018\u201c][^\"'\u2019\u201d]+[\"'\u2019\u201d])\s+\S", last)
    if quoted is not None:
        return quoted.group(1)
    longest = max(len(_ARTICLE.sub("", p).split()) for p in rest)
    if len(last.split()) <= longest and not _is_yes_no(asked):
        return last
    return _TRAILING.sub("", last) or last


def _is_yes_no(asked: str) -> bool:
    return bool(_COPULA_QUESTION.search(asked)) and not _WH_QUESTION.search(asked)


def _first_choice(first: str, rest: list[str], asked: str, *, own_part: bool) -> str:
    """The first choice out of the words before it ("should this go to IT" -> "IT"): after
    the words that lead to a list, else as many words as the longest other choice. A part
    of its own before a comma that is longer than that is the question, not a choice,
    where a wh-word asks it ("Which team should handle this email, sales or support?");
    in a yes/no question ("Is this lead hot, warm or cold?") it ends in the choice."""
    # "spam or not spam": the first choice is what the last one negates.
    negated = re.match(r"not\s+(.+)$", rest[-1].strip(), re.IGNORECASE)
    if negated is not None and first.lower().endswith(negated.group(1).lower()):
        return first[len(first) - len(negated.group(1)) :]
    longest = max(len(_ARTICLE.sub("", p).split()) for p in rest)
    lead = _LEAD.sub("", first)
    if lead != first:
        return " ".join(lead.split()[-max(longest, 3) :])
    # An article inside it starts the choice: "this a complaint", "the DE&I committee".
    articled = re.split(r"\b(?:a|an|the|our|my|your|their)\s+", first, flags=re.IGNORECASE)
    if len(articled) > 1 and articled[-1].strip():
        return articled[-1]
    if _is_yes_no(asked):
        return " ".join(_ARTICLE.sub("", first).split()[-longest:])
    words = _ARTICLE.sub("", first).split()
    if own_part and len(words) > longest + 1 and _WH_QUESTION.search(asked):
        return ""
    return " ".join(words[-longest:])


# Choices enumerated without "or": "(finance, legal, it, hr)", "Folders: Invoices, HR, News."
_ENUMERATED = re.compile(
    rf"(?:\(\s*({_ITEM}(?:\s*,\s*{_ITEM}){{2,}})\s*\)"
    rf"|(?:^|[.!?]\s+)[\w ]{{1,30}}:\s*({_ITEM}(?:\s*,\s*{_ITEM}){{2,}})\s*(?:[.?!]|$))",
    re.IGNORECASE | re.MULTILINE,
)


def enumerated_choices(text: str) -> list[str]:
    """Three or more choices in parentheses or after a heading's colon, joined by commas
    alone: for a tool that takes choices, when no "a, b or c" is listed."""
    m = _ENUMERATED.search(text)
    if m is None:
        return []
    return _distinct(re.split(r"\s*,\s*", m.group(1) or m.group(2)))


def _distinct(parts: list[str]) -> list[str]:
    quotes = " .?!:;\"'\u2018\u2019\u201c\u201d"
    cleaned = [_ARTICLE.sub("", p.strip(quotes)).strip(quotes).lower() for p in parts]
    return list(dict.fromkeys(c for c in cleaned if c))


def bulleted_choices(text: str) -> list[str]:
    """The items of a bulleted list at the start of `text`, one a line."""
    items = []
    for line in text.strip().splitlines():
        m = _BULLETS.match(line)
        if m is None:
            break
        items.append(m.group(1))
    return _distinct(items) if len(items) >= 2 else []

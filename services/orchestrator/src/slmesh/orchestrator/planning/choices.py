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
_SLASHED = re.compile(r"(?<![\w/])([\w&-]+(?:\s*/\s*[\w&-]+)+)(?![\w/])")
# Where the first choice begins: after the words that introduce a list.
_LEAD = re.compile(
    r"^.*(?:\b(?:to|as|into|between|either|whether|is\s+(?:this|it)|it's|it\s+is|be|for|go|"
    r"under|among|from|with|about)(?:\s+|$)|\s[-\u2013\u2014:]\s+)",
    re.IGNORECASE,
)
# Words an item may start with that are not the choice: "or to Sales", "a question".
_ARTICLE = re.compile(r"^(?:(?:to|for|as|into|a|an|the|our|my|your|their)\s+)+", re.IGNORECASE)
# A bulleted list: one choice a line.
_BULLETS = re.compile(r"^\s*[-*\u2022]\s+(.{1,60}?)\s*$", re.MULTILINE)


def listed_choices(text: str) -> list[str]:
    """The choices a clause lists ("a complaint, a question or praise"), lower case."""
    found = _LIST.findall(text)
    if found:
        listed = found[-1]
        parts = [p for p in re.split(rf"\s*,\s*(?:or\s+)?|{_OR}", listed, flags=re.IGNORECASE) if p]
        if len(parts) >= 2:
            parts[0] = _first_choice(parts[0], parts[1:], own_part="," in listed.split(parts[1])[0])
        return _distinct(parts)
    slashed = _SLASHED.findall(text)
    if slashed:
        return _distinct(re.split(r"\s*/\s*", slashed[-1]))
    return []


def _first_choice(first: str, rest: list[str], *, own_part: bool) -> str:
    """The first choice out of the words before it ("should this go to IT" -> "IT"): after
    the words that lead to a list, else as many words as the longest other choice. A part
    of its own before a comma that is longer than that is the question, not a choice
    ("Which team should handle this email, sales or support?")."""
    longest = max(len(_ARTICLE.sub("", p).split()) for p in rest)
    lead = _LEAD.sub("", first)
    if lead != first:
        return " ".join(lead.split()[-max(longest, 3) :])
    # An article inside it starts the choice: "this a complaint", "the DE&I committee".
    articled = re.split(r"\b(?:a|an|the|our|my|your|their)\s+", first, flags=re.IGNORECASE)
    if len(articled) > 1 and articled[-1].strip():
        return articled[-1]
    words = _ARTICLE.sub("", first).split()
    if own_part and len(words) > longest + 1:
        return ""
    return " ".join(words[-longest:])


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

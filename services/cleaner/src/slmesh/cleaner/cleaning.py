"""The cleaner's domain: a raw text in; the text cleaned, what was done and how much went.

One pass runs the rules in the order their damage was done: the encoding first
(mojibake is a byte-level fault, under everything else), then characters, markup,
whitespace, boilerplate and repeated lines. A rule may uncover work for an earlier
one (an entity that decodes to a no-break space, a tag that hid a duplicate line), so
passes repeat until the text no longer changes, at most MAX_PASSES times: cleaning a
cleaned text changes nothing.

Content is kept verbatim: no rule rewrites a word, a name, a number, a date or an
amount. Rules remove characters that carry nothing (controls, invisible ones), fold
forms that mean the same (full-width letters, ligatures, no-break spaces), decode what
markup escaped, and remove whole lines whose form marks them as boilerplate.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from slmesh.cleaner.body import body_of
from slmesh.cleaner.boilerplate import remove_boilerplate
from slmesh.cleaner.characters import normalise_characters
from slmesh.cleaner.encoding import repair_mojibake
from slmesh.cleaner.markup import strip_markup

MAX_TEXT_CHARS: Final = 50_000
# Each pass is linear in the text; a pass more than the rules ever needed is the bound.
MAX_PASSES: Final = 4

FIXED_ENCODING: Final = "fixed encoding"
REMOVED_CONTROLS: Final = "removed control characters"
NORMALISED_UNICODE: Final = "normalised unicode"
STRIPPED_MARKUP: Final = "stripped markup"
COLLAPSED_WHITESPACE: Final = "collapsed whitespace"
REMOVED_BOILERPLATE: Final = "removed boilerplate"
REMOVED_DUPLICATES: Final = "removed duplicate lines"

_SPACES: Final = re.compile(r"[ \t\f\v]+")


class CleaningRequest(BaseModel):
    """Request of CleanText: a raw text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description=(
            "The raw text: an email, a web page's text, a pasted document; mojibake, "
            "markup, boilerplate and all."
        ),
        examples=["Hi Anna,<br>the invoice is \u00e2\u201a\u00ac1,200.\n\nSent from my iPhone"],
    )


class Cleaned(BaseModel):
    """The cleaned text, what was done to it, and how many characters went."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(
        description="The cleaned text (empty when it was boilerplate only).",
        examples=["Hi Anna,\nthe invoice is €1,200."],
    )
    body: str = Field(
        description=(
            "The cleaned text without its greeting ('Hi Marta,') and sign-off ('Best "
            "regards,' and the name under it): what the message says, for a summary."
        ),
        examples=["the invoice is €1,200."],
    )
    changes: list[str] = Field(
        description=(
            "What was done, in order: 'fixed encoding', 'removed control characters', "
            "'normalised unicode', 'stripped markup', 'collapsed whitespace', 'removed "
            "boilerplate: <kind>' (signature, quoted reply, disclaimer, footer, view in "
            "browser, cookie banner, virus scan, page header), 'removed duplicate lines'; "
            "empty when the text was clean."
        ),
        examples=[["fixed encoding", "stripped markup", "removed boilerplate: signature"]],
    )
    removed_chars: int = Field(
        ge=0,
        description="How many characters fewer the cleaned text has than the raw one.",
        examples=[32],
    )


def _collapsed(text: str) -> str:
    """Each line's runs of spaces made one space, lines trimmed, blank runs made one."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _joined(lines)


def _joined(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


def _deduplicated(lines: list[str]) -> list[str]:
    """Lines without a repeat of the line just before (blank lines between ignored)."""
    out: list[str] = []
    last: str | None = None
    for line in lines:
        if line and line == last:
            # The blank line before a repeat separated nothing.
            while out and not out[-1]:
                out.pop()
            continue
        out.append(line)
        if line:
            last = line
    return out


def _pass(text: str) -> tuple[str, list[str]]:
    changes: list[str] = []
    repaired = repair_mojibake(text)
    if repaired != text:
        changes.append(FIXED_ENCODING)
    characters = normalise_characters(repaired)
    stripped = strip_markup(characters.text)
    # An entity may decode to a character the rules fold (&nbsp;, &#8203;).
    after = normalise_characters(stripped)
    if characters.controls_removed or after.controls_removed:
        changes.append(REMOVED_CONTROLS)
    if characters.normalised or after.normalised:
        changes.append(NORMALISED_UNICODE)
    if stripped != characters.text:
        changes.append(STRIPPED_MARKUP)
    collapsed = _collapsed(after.text)
    if collapsed != after.text:
        changes.append(COLLAPSED_WHITESPACE)
    lines = collapsed.split("\n")
    kept, kinds = remove_boilerplate(lines)
    changes += [f"{REMOVED_BOILERPLATE}: {kind}" for kind in kinds]
    unique = _deduplicated(kept)
    if len(unique) != len(kept):
        changes.append(REMOVED_DUPLICATES)
    return _joined(unique), changes


def clean(request: CleaningRequest) -> Cleaned:
    """The text cleaned to a fixed point, each kind of change named once, in order."""
    text = request.text
    changes: list[str] = []
    for _ in range(MAX_PASSES):
        cleaned, done = _pass(text)
        changes += [c for c in done if c not in changes]
        if cleaned == text:
            break
        text = cleaned
    return Cleaned(
        text=text,
        body=body_of(text),
        changes=changes,
        removed_chars=max(0, len(request.text) - len(text)),
    )


def describe(cleaned: Cleaned) -> str:
    """One line: `cleaned (fixed encoding, stripped markup): 42 characters removed`."""
    if not cleaned.changes:
        return "already clean: nothing changed"
    removed = cleaned.removed_chars
    return (
        f"cleaned ({', '.join(cleaned.changes)}): "
        f"{removed} character{'' if removed == 1 else 's'} removed"
    )

"""Words around a candidate: cues that make a number or a date personal, and the language.

Cues are looked for in a bounded window next to the candidate, so a cue costs
time in proportion to the window, never to the text.
"""

from __future__ import annotations

import re
from typing import Final, Literal

Language = Literal["en", "de"]

# How far before a candidate a cue may stand ("Tel.: ", "Date of birth (as on the card): ").
CUE_WINDOW: Final = 40


def cue_before(text: str, start: int, cue: re.Pattern[str], window: int = CUE_WINDOW) -> bool:
    """Whether `cue` matches within the `window` characters before `start`."""
    return cue.search(text, max(0, start - window), start) is not None


def last_cue(
    text: str, start: int, cue: re.Pattern[str], window: int = CUE_WINDOW
) -> re.Match[str] | None:
    """The last match of `cue` in the window before `start`, if any."""
    last = None
    for match in cue.finditer(text, max(0, start - window), start):
        last = match
    return last


def cue_after(text: str, end: int, cue: re.Pattern[str], window: int = CUE_WINDOW) -> bool:
    return cue.search(text, end, min(len(text), end + window)) is not None


def words(*alternatives: str) -> re.Pattern[str]:
    """One case-insensitive pattern of whole words (a `.` or `-` inside one is literal)."""
    body = "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in alternatives)
    return re.compile(rf"(?<![\w])(?:{body})(?![\w])", re.IGNORECASE)


_GERMAN: Final = words(
    "der", "die", "das", "und", "ist", "nicht", "mit", "für", "ich", "wir", "ein", "eine",
    "bitte", "vielen", "dank", "sehr", "geehrte", "geehrter", "grüße", "gruß", "ihr",
    "ihre", "auf", "bei", "vom", "zum", "zur", "wurde", "haben", "können", "unter", "sind",
)  # fmt: skip
_ENGLISH: Final = words(
    "the", "and", "is", "not", "with", "for", "you", "we", "a", "an", "please", "thanks",
    "thank", "dear", "regards", "of", "to", "your", "our", "was", "have", "can", "are",
    "this", "that", "at", "on", "by",
)  # fmt: skip
# Enough function words to tell the two languages apart; more would only cost time.
_SAMPLE: Final = 4000


def language_of(text: str) -> Language:
    """German or English, by counting a few function words of each in the text's start."""
    sample = text[:_SAMPLE]
    german = len(_GERMAN.findall(sample)) + 3 * len(re.findall("[äöüßÄÖÜ]", sample))
    english = len(_ENGLISH.findall(sample))
    return "de" if german > english else "en"

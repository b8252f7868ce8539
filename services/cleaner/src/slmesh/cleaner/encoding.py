"""Mojibake: UTF-8 bytes once decoded as cp1252 or latin-1 ("â€™" for "’", "Ã©" for "é").

Each UTF-8 sequence of two to four bytes becomes, read as cp1252, a lead letter
(Â-ô) followed by one to three characters of the 0x80-0xBF row ("€", "™", "©", "»"
and the like). Such runs are found by pattern, turned back into the bytes they were
read from and decoded as UTF-8 again. A run is replaced only when those bytes are
strict UTF-8: a lead letter followed by a symbol in genuine text ("Ü®") almost never
is, so what was written on purpose stays as it is.

A right double quote (E2 80 9D) loses its last byte on the way more often than not:
0x9D has no cp1252 character, so many readers drop it or show "�". "â€" left alone
(or before "�") is read as that quote: no other text writes those two characters so.

Text damaged twice (decoded wrongly, encoded, decoded wrongly again) is repaired by
going round again, a bounded number of times.
"""

# ruff: noqa: RUF002 (look-alike characters are this module's subject)

from __future__ import annotations

import re
from typing import Final

# Bytes 0x81, 0x8D, 0x8F, 0x90 and 0x9D have no cp1252 character: a decoder that falls
# back to latin-1 gives the C1 control of the same number, so both spellings are read.
_CP1252_GAPS: Final = frozenset([0x81, 0x8D, 0x8F, 0x90, 0x9D])


def _as_read(byte: int) -> str:
    """The character a cp1252 reader (latin-1 where cp1252 has none) shows for a byte."""
    if byte in _CP1252_GAPS:
        return chr(byte)
    return bytes([byte]).decode("cp1252")


# Character -> the byte it was read from, for the bytes UTF-8 sequences are made of.
_BYTE_OF: Final[dict[str, int]] = {_as_read(b): b for b in range(0x80, 0x100)}


def _char_class(first: int, last: int) -> str:
    return "[" + "".join(re.escape(_as_read(b)) for b in range(first, last + 1)) + "]"


_CONTINUATION: Final = _char_class(0x80, 0xBF)
# Lead bytes of two-, three- and four-byte sequences (0xC0, 0xC1 and 0xF5+ never lead).
_LEAD2: Final = _char_class(0xC2, 0xDF)
_LEAD3: Final = _char_class(0xE0, 0xEF)
_LEAD4: Final = _char_class(0xF0, 0xF4)
_SEQUENCE: Final = (
    f"{_LEAD2}{_CONTINUATION}|{_LEAD3}{_CONTINUATION}{{2}}|{_LEAD4}{_CONTINUATION}{{3}}"
)
# Runs of sequences: a word of several accented letters is repaired in one decode.
_MOJIBAKE: Final = re.compile(f"(?:{_SEQUENCE})+")
_ONE_SEQUENCE: Final = re.compile(_SEQUENCE)
# Text damaged twice needs two rounds; more is no longer text worth guessing at.
MAX_ROUNDS: Final = 3


def _decoded(match: re.Match[str]) -> str | None:
    try:
        return bytes(_BYTE_OF[c] for c in match.group()).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _sequence(match: re.Match[str]) -> str:
    # Not bytes a UTF-8 writer could have made: written on purpose, kept.
    decoded = _decoded(match)
    return match.group() if decoded is None else decoded


# Leads of the latin-1 row (Â, Ã): what most mojibake is. Another lead followed by one
# symbol ("Ü®" is U+072E as UTF-8) is a word's letter only inside a word.
_LATIN_LEADS: Final = frozenset("ÂÃ")


def _alone(match: re.Match[str]) -> bool:
    """Whether the run is one two-byte sequence of a rare lead, with no word around it."""
    run, text = match.group(), match.string
    if len(run) != 2 or run[0] in _LATIN_LEADS:
        return False
    before = text[match.start() - 1] if match.start() > 0 else " "
    after = text[match.end()] if match.end() < len(text) else " "
    return not (before.isalpha() or after.isalpha())


def _repaired(match: re.Match[str]) -> str:
    decoded = _decoded(match)
    if decoded is not None:
        return match.group() if _alone(match) else decoded
    # One bad sequence in a run spoils only itself, not its neighbours.
    return _ONE_SEQUENCE.sub(_sequence, match.group())


# "â€" before "�", or before a space or a sentence's punctuation: a right double quote
# whose 0x9D went. Before a contraction's letters ("Itâ€ s") it was another character
# whose byte was lost, and is left as it is.
_LOST_QUOTE: Final = re.compile(
    "\u00e2\u20ac(?:\ufffd|(?=[\\s.,;:!?)\\]]|$)(?! (?:s|t|d|m|ll|re|ve)\\b))"
)


# A no-break space (C2 A0 or, in "à", C3 A0) read as cp1252 is "Â" or "Ã" and a no-break
# space; where that space was made a plain one on the way, the lead is left alone before
# it. "Â" there is a no-break space that was, and "Ã" after a small letter the "à" of
# "voilà": neither letter stands so in written text (they open capitalised words).
_LOST_SPACE_LEAD: Final = re.compile(r"(?<![A-Z\u00c0-\u00de])\u00c2(?= )")
# The space after "Ã" was the second byte of "à": it goes with it.
_LOST_A_GRAVE: Final = re.compile(r"(?<=[a-z])\u00c3 ")


def repair_mojibake(text: str) -> str:
    """The text with each cleanly reversible run of mojibake decoded as it was meant."""
    text = _LOST_QUOTE.sub("\u201d", text)
    text = _LOST_SPACE_LEAD.sub("", _LOST_A_GRAVE.sub("\u00e0", text))
    for _ in range(MAX_ROUNDS):
        repaired = _MOJIBAKE.sub(_repaired, text)
        if repaired == text:
            break
        text = repaired
    return text

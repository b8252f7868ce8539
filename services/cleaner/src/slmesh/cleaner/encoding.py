"""Mojibake: UTF-8 bytes once decoded as cp1252 or latin-1 ("â€™" for "’", "Ã©" for "é").

Each UTF-8 sequence of two to four bytes becomes, read as cp1252, a lead letter
(Â-ô) followed by one to three characters of the 0x80-0xBF row ("€", "™", "©", "»"
and the like). Such runs are found by pattern, turned back into the bytes they were
read from and decoded as UTF-8 again. A run is replaced only when those bytes are
strict UTF-8: a lead letter followed by a symbol in genuine text ("Ü®") almost never
is, so what was written on purpose stays as it is.

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


def repair_mojibake(text: str) -> str:
    """The text with each cleanly reversible run of mojibake decoded as it was meant."""
    for _ in range(MAX_ROUNDS):
        repaired = _MOJIBAKE.sub(_repaired, text)
        if repaired == text:
            break
        text = repaired
    return text

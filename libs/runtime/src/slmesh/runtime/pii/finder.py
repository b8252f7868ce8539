"""find_pii: every recognizer over one text, and one answer where their findings overlap.

Where two findings overlap, the more specific kind wins (a checksum-proven
number over a shape, a shape over a name), then the longer span: an IBAN's
groups are no phone number, and "Karl Marx Straße 5" is an address, not a name.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Final

from slmesh.runtime.pii.addresses import find_addresses
from slmesh.runtime.pii.birth_dates import find_birth_dates
from slmesh.runtime.pii.contact import find_emails, find_phones
from slmesh.runtime.pii.finance import find_cards, find_ibans
from slmesh.runtime.pii.kinds import PiiKind, PiiSpan
from slmesh.runtime.pii.names import find_persons
from slmesh.runtime.pii.national_ids import find_national_ids
from slmesh.schemas.events import MAX_INPUT_CHARS

# The mesh's own input limit: a longer text is refused, never cut (a cut text would
# leave personal data past the cut unfound and unredacted).
MAX_TEXT_CHARS: Final = MAX_INPUT_CHARS

# Windows of a longer string overlap by this much (find_pii_in_windows).
WINDOW_OVERLAP: Final = 1_000

_RECOGNIZERS: Final[tuple[Callable[[str], Iterator[PiiSpan]], ...]] = (
    find_emails,
    find_ibans,
    find_cards,
    find_national_ids,
    find_birth_dates,
    find_phones,
    find_addresses,
    find_persons,
)
# Higher wins an overlap: proven by check digits or by its syntax, then by a cue, then
# by its shape, then a name.
_SPECIFICITY: Final[dict[PiiKind, int]] = {
    "email": 5,
    "iban": 5,
    "card": 5,
    "national_id": 4,
    "date_of_birth": 3,
    "phone": 2,
    "address": 2,
    "person": 1,
}


class TextTooLong(ValueError):
    """A text over MAX_TEXT_CHARS; the message holds lengths only."""

    def __init__(self, length: int) -> None:
        super().__init__(f"a text of {length} characters is over the limit of {MAX_TEXT_CHARS}")
        self.length = length


def _resolve(candidates: list[PiiSpan]) -> list[PiiSpan]:
    """Non-overlapping spans: the most specific, then the longest, then the first wins."""
    ranked = sorted(candidates, key=lambda s: (-_SPECIFICITY[s.kind], -len(s), s.start))
    # The kept spans never overlap, so sorted by start they are sorted by end too, and
    # a candidate need only be checked against its two neighbours: O(n log n) in all.
    starts: list[int] = []
    kept: list[PiiSpan] = []
    for span in ranked:
        at = bisect_left(starts, span.start)
        if at > 0 and kept[at - 1].end > span.start:
            continue
        if at < len(kept) and kept[at].start < span.end:
            continue
        starts.insert(at, span.start)
        kept.insert(at, span)
    return kept


def find_pii(text: str) -> list[PiiSpan]:
    """The personal data in `text`: sorted, non-overlapping spans (offsets only).

    Raises TextTooLong for a text over MAX_TEXT_CHARS.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise TextTooLong(len(text))
    candidates = [span for recognize in _RECOGNIZERS for span in recognize(text)]
    return _resolve(candidates)


def find_pii_in_windows(text: str) -> list[PiiSpan]:
    """find_pii for a string of any length, read in overlapping windows of MAX_TEXT_CHARS.

    For JSON arguments, whose strings are bounded only by their event's size: an
    argument must be searched whole before it may leave, not refused. A value that
    straddles one window's edge lies whole in the next window (the overlap is far
    longer than any value); where the two disagree, the longer span wins. Time stays
    linear: each window costs what a text of the limit costs.
    """
    if len(text) <= MAX_TEXT_CHARS:
        return find_pii(text)
    step = MAX_TEXT_CHARS - WINDOW_OVERLAP
    candidates: list[PiiSpan] = []
    for offset in range(0, len(text) - WINDOW_OVERLAP, step):
        found = find_pii(text[offset : offset + MAX_TEXT_CHARS])
        candidates += [PiiSpan(s.kind, s.start + offset, s.end + offset) for s in found]
    return _resolve(candidates)

"""IBANs and payment card numbers: found by shape, believed only when their check digits hold.

Shape alone finds every long number (orders, invoices, tracking codes); the
check digits make a wrong guess rare (an IBAN's mod 97 fails 96 of 97 random
strings, Luhn 9 of 10, and a card must also start with a known issuer's prefix).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from slmesh.runtime.pii.checks import IBAN_LENGTHS, card_issued, iban_valid
from slmesh.runtime.pii.kinds import PiiSpan

# A country code, two check digits, then characters each after at most one space.
# Possessive: a candidate is read once and never re-split; where it really ends
# is the country's length's business (below), not the pattern's.
_IBAN: Final = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}+")

# 12 to 19 digits, each after at most one space or dash; read once, cut below.
_CARD: Final = re.compile(r"(?<![\d\-.,/])\d(?:[ \-]?\d){11,18}+")


def _kept(candidate: str, separators: str) -> list[int]:
    """Offsets within `candidate` of its characters that are not separators."""
    return [i for i, c in enumerate(candidate) if c not in separators]


def _ends_cleanly(text: str, end: int) -> bool:
    """Nothing glued to the end: no letter or digit, no decimal part."""
    if end >= len(text):
        return True
    after = text[end]
    if after.isalnum():
        return False
    return not (after in ".," and end + 1 < len(text) and text[end + 1].isdigit())


def find_ibans(text: str) -> Iterator[PiiSpan]:
    for match in _IBAN.finditer(text):
        candidate = match.group()
        kept = _kept(candidate, " ")
        length = IBAN_LENGTHS.get(candidate[:2])
        if length is None or len(kept) < length:
            continue
        # Characters after the IBAN may have been read too ("DE89 ... 00 BIC"): the
        # country's length says where it ends, and the end must fall on a gap.
        end = match.start() + kept[length - 1] + 1
        if not _ends_cleanly(text, end):
            continue
        if iban_valid("".join(candidate[i] for i in kept[:length])):
            yield PiiSpan("iban", match.start(), end)


def find_cards(text: str) -> Iterator[PiiSpan]:
    for match in _CARD.finditer(text):
        candidate = match.group()
        if " " in candidate and "-" in candidate:
            continue  # no card is printed so; a list of numbers is
        kept = _kept(candidate, " -")
        # The longest prefix ending on a group's edge that is a valid card: a CVV or
        # expiry written after the number must not hide it.
        for count in range(len(kept), 11, -1):
            end = match.start() + kept[count - 1] + 1
            if _ends_cleanly(text, end) and card_issued(
                "".join(candidate[i] for i in kept[:count])
            ):
                yield PiiSpan("card", match.start(), end)
                break

"""Values as people write them, read one way by every service that reads them (the
validator's and the rules' checks), so a field normalised by one reads the same in the
other: a number with thousands groups and a decimal mark of either kind ("1.234,56",
"1,234.56", "1 234,5", "0,125"), and the month names a date may use.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Final

# Month names a date may use, English and German (the mesh's two languages), lower case.
MONTHS: Final[dict[str, int]] = {
    "january": 1, "jan": 1, "januar": 1, "jänner": 1,
    "february": 2, "feb": 2, "februar": 2,
    "march": 3, "mar": 3, "märz": 3, "maerz": 3, "mrz": 3,
    "april": 4, "apr": 4,
    "may": 5, "mai": 5,
    "june": 6, "jun": 6, "juni": 6,
    "july": 7, "jul": 7, "juli": 7,
    "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "oktober": 10, "okt": 10,
    "november": 11, "nov": 11,
    "december": 12, "dec": 12, "dezember": 12, "dez": 12,
}  # fmt: skip


def written_number(digits: str) -> Decimal | None:
    """The number a run of digits and separators writes, or None when its separators
    follow no convention (groups of three, one decimal separator, the last)."""
    marks = [c for c in digits if c in ".,"]
    decimal_mark: str | None = None
    if len(set(marks)) == 2:
        decimal_mark = marks[-1]  # 1.234,56 and 1,234.56: the last one is the decimals'
    elif len(marks) == 1:
        before, _, after = digits.partition(marks[0])
        # One separator before exactly three digits groups thousands ("1,234", "1.234 €"),
        # unless only a zero stands before it ("0,125").
        if len(after) != 3 or before.replace(" ", "").replace("'", "") == "0":
            decimal_mark = marks[0]
    integer, fraction = digits, ""
    if decimal_mark is not None:
        integer, fraction = digits.rsplit(decimal_mark, 1)
        if not fraction.isdigit() or decimal_mark in integer:
            return None
    groupers = {c for c in integer if not c.isdigit()}
    if len(groupers) > 1:
        return None
    if groupers:
        first, *rest = integer.split(groupers.pop())
        if not (1 <= len(first) <= 3 and first.isdigit()):
            return None
        if not all(len(group) == 3 and group.isdigit() for group in rest):
            return None
        integer = first + "".join(rest)
    if not integer.isdigit():
        return None
    try:
        return Decimal(f"{integer}.{fraction}" if fraction else integer)
    except InvalidOperation:  # pragma: no cover - digits only by now
        return None

"""Dates of birth: a date is personal only when a birth cue stands just before it.

Any date is found (numeric, and written with English or German month names),
but only the first date after "born", "DOB", "geboren", "Geburtsdatum", …,
within a short window, is a date of birth; a meeting date, a due date or a
second date after the birth date ("born 1990, hired 2015") is not.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from typing import Final

from slmesh.runtime.pii.kinds import PiiSpan

_MONTHS: Final = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
    "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
    "|Januar|Jänner|Februar|März|Maerz|Mai|Juni|Juli|Oktober|Dezember|Okt|Dez"
)
_DAY: Final = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH: Final = r"(?:0?[1-9]|1[0-2])"
_YEAR: Final = r"(?:19\d\d|20\d\d|\d\d)"
_DATE: Final = re.compile(
    r"(?<![\w.\-/])(?:"
    # 12.03.1985, 12/03/1985, 03/12/1985 (either order: both are dates), 12-03-85
    rf"\d{{1,2}}([./\-])\d{{1,2}}\1{_YEAR}"
    # 1985-03-12
    rf"|(?:19|20)\d\d-{_MONTH}-{_DAY}"
    # 12 March 1985, 12th of March, 1985, 12. März 1985, 12.März 1985
    rf"|{_DAY}(?:st|nd|rd|th|\.)?\s?(?:of\s)?(?:{_MONTHS})\.?,?\s(?:19|20)\d\d"
    # March 12, 1985, March 12th 1985
    rf"|(?:{_MONTHS})\.?\s{_DAY}(?:st|nd|rd|th)?,?\s(?:19|20)\d\d"
    r")(?![\w]|[.\-/]\d)",
    re.IGNORECASE,
)
_CUE: Final = re.compile(
    r"(?<![\w])(?:born|birth|birthday|birthdate|d\.?o\.?b\.?|date\sof\sbirth|née|"
    r"geboren|geb\.|geburtsdatum|geburtstag|geb\.-datum|geburtsdat\.|geb\.\sam)(?![\w])",
    re.IGNORECASE,
)
# From the cue's end to the date: "born on the ", "Geburtsdatum (laut Ausweis): ".
_WINDOW: Final = 40
# German puts the verb last: "bin am 14. März 1993 geboren", "am 1.1.1970 in Köln geboren".
_CUE_AFTER: Final = re.compile(
    r"(?:\s(?:in|im|bei|zu)\s[\w\- ]{1,25})?\s(?:geboren|zur\sWelt)", re.I
)


def _valid_numeric(date: str) -> bool:
    """A day-month-year or month-day-year (US) that some calendar has."""
    parts = re.split(r"[./\-]", date)
    if len(parts) != 3:
        return True  # a written date: its pattern already holds a real day and month
    numbers = [int(p) for p in parts]
    if len(parts[0]) == 4:
        return 1 <= numbers[1] <= 12 and 1 <= numbers[2] <= 31
    first, second = numbers[0], numbers[1]
    return (1 <= first <= 31 and 1 <= second <= 12) or (1 <= first <= 12 and 1 <= second <= 31)


def find_birth_dates(text: str) -> Iterator[PiiSpan]:
    dates = [m for m in _DATE.finditer(text) if _valid_numeric(m.group())]
    if not dates:
        return
    starts = [d.start() for d in dates]
    taken = -1
    for date in dates:
        if _CUE_AFTER.match(text, date.end()) is not None:
            yield PiiSpan("date_of_birth", date.start(), date.end())
    for cue in _CUE.finditer(text):
        # The first date after the cue, if it is near enough.
        at = bisect_left(starts, cue.end())
        if at == len(dates):
            break
        following = dates[at]
        if following.start() - cue.end() <= _WINDOW and following.start() > taken:
            taken = following.start()
            yield PiiSpan("date_of_birth", following.start(), following.end())

"""A record's values in one canonical form, read before any rule checks them.

What a person or an extractor writes varies ("€1.234,50", "1,234.50 EUR", "3rd of March
2026", " eur "); what a rule means does not. Each field has a kind (its ruleset says
which) and is read once: amounts as numbers, dates as ISO yyyy-mm-dd, codes upper-cased,
text trimmed. A value its kind cannot read is kept as trimmed text, and the rules that
need the kind say so ("amount is not an amount").

Ambiguity, decided once: a numeric date is read day first (01/03/2026 is 1 March 2026)
unless only month first gives a calendar date (03/14/2026); one separator before exactly
three digits groups thousands ("1,234" and "1.234 €" are 1234), unless a lone zero
stands before it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final, Literal

from pydantic import JsonValue

from slmesh.runtime.pii.checks import card_issued, luhn_valid
from slmesh.runtime.written import MONTHS, written_number

Kind = Literal["text", "code", "currency", "digits", "amount", "date"]

# Longer than this is no amount, date, code or card reference: refused before any pattern
# reads it, so a value built to be slow is not.
MAX_READ_CHARS: Final = 64

# What an extractor or a form writes for a value it has not got.
PLACEHOLDERS: Final[frozenset[str]] = frozenset(
    ["-", "--", "n/a", "na", "none", "null", "nil", "unknown", "not provided", "not given",
     "not stated", "not specified"]
)  # fmt: skip

# Currency symbols and names that name one currency only ("$" names several: none).
CURRENCY_NAMES: Final[dict[str, str]] = {
    "€": "EUR", "EURO": "EUR", "EUROS": "EUR",
    "£": "GBP", "POUND": "GBP", "POUNDS": "GBP", "POUND STERLING": "GBP", "STERLING": "GBP",
    "US$": "USD", "US DOLLAR": "USD", "US DOLLARS": "USD",
    "¥": "JPY", "YEN": "JPY",
}  # fmt: skip
_CURRENCY_WRITTEN = r"US\$|[£€$¥]|[A-Z]{3}|EUROS?|POUNDS?|DOLLARS?"
_AMOUNT: Final = re.compile(
    rf"(?P<sign>[-+]?) ?(?P<before>{_CURRENCY_WRITTEN})? ?(?P<sign2>[-+]?) ?"
    rf"(?P<number>[0-9][0-9.,' ]*[0-9]|[0-9]) ?(?P<after>{_CURRENCY_WRITTEN})?"
)

_WEEKDAYS: Final = frozenset(
    ["monday", "mon", "tuesday", "tue", "tues", "wednesday", "wed", "thursday", "thu", "thurs",
     "friday", "fri", "saturday", "sat", "sunday", "sun", "montag", "dienstag", "mittwoch",
     "donnerstag", "freitag", "samstag", "sonntag"]
)  # fmt: skip
# Year first: 2026-03-01, 2026/03/01, 2026.03.01, with a time after it or not.
_YEAR_FIRST: Final = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})(?:[T ][0-9:.]+Z?)?")
_NUMERIC: Final = re.compile(r"([0-9]{1,2})([./-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})")
# Words of a date written out: 3rd of March, 2026 / Mar. 3 2026 / 3-Mar-2026.
_DATE_TOKEN: Final = re.compile(r"[0-9]+|[^\W\d_]+")
# Words a written-out date may carry besides its parts ("on the 3rd of March"; "am 3.
# März"); an ordinal's ending is a word of its own to the tokens.
_FILLERS: Final = frozenset(["on", "the", "of", "am", "den", "st", "nd", "rd", "th"])

_MASKS: Final = "*xX•·#"


@dataclass(frozen=True)
class Reading:
    """One field as the rules see it: its canonical value, and what its kind read (a
    number, a date) when it could. `missing` is absent, null, blank or a placeholder."""

    value: JsonValue
    missing: bool = False
    number: Decimal | None = None
    day: date | None = None
    # A currency the amount was written with (an amount's only).
    currency: str | None = None


MISSING: Final = Reading(value=None, missing=True)


def text(value: str) -> str:
    """Compatibility forms folded (a no-break space is a space), runs of blanks one space,
    the ends trimmed."""
    return " ".join(unicodedata.normalize("NFKC", value).split())


def is_missing(value: JsonValue) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    written = text(value).casefold()
    return not written or written in PLACEHOLDERS


def read(value: JsonValue, kind: Kind) -> Reading:
    """`value` read as `kind`; what the kind cannot read is kept (text trimmed)."""
    if is_missing(value):
        return MISSING
    if isinstance(value, str):
        value = text(value)
    match kind:
        case "amount":
            return read_amount(value)
        case "date":
            day = read_date(value)
            return Reading(day.isoformat(), day=day) if day else Reading(value)
        case "code":
            return Reading(value.upper() if isinstance(value, str) else _scalar_text(value))
        case "currency":
            return Reading(read_currency(value))
        case "digits":
            return Reading(read_digits(value))
        case "text":
            return Reading(_scalar_text(value))


def _scalar_text(value: JsonValue) -> JsonValue:
    """A number given for a text field is its text ("1234" for 1234); anything else as is."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


# --- amounts ----------------------------------------------------------------------------


def read_amount(value: JsonValue) -> Reading:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return Reading(value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return Reading(str(value))
        number = Decimal(str(value))
        return Reading(_json_number(number), number=number)
    written = value.replace("\u2019", "'").replace("\u2212", "-").upper()
    match = _AMOUNT.fullmatch(written) if len(written) <= MAX_READ_CHARS else None
    if match is None or (match["before"] and match["after"]):
        return Reading(value)
    parsed = written_number(match["number"])
    if parsed is None:
        return Reading(value)
    number = -parsed if "-" in match["sign"] + match["sign2"] else parsed
    currency = read_currency(match["before"] or match["after"] or "")
    known = currency if isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency) else None
    return Reading(_json_number(number), number=number, currency=known)


def _json_number(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def read_currency(value: JsonValue) -> JsonValue:
    """An ISO 4217 code upper-cased, or the one a symbol or name stands for ("€", "euros")."""
    if not isinstance(value, str):
        return value
    written = text(value).upper()
    return CURRENCY_NAMES.get(written, written)


def read_digits(value: JsonValue) -> JsonValue:
    """A reference made of digits (a card's last four): blanks, dashes and the masks
    before them dropped ("**** 1234", "xxxx-1234" are "1234"). A full card number is never
    given back: all but its last four digits are masked."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > MAX_READ_CHARS:
        return value
    compact = re.sub(r"[\s-]", "", value)
    unmasked = compact.lstrip(_MASKS)
    if not unmasked.isdigit():
        return value
    if _card_number(unmasked):
        return "*" * (len(unmasked) - 4) + unmasked[-4:]
    return unmasked


def _card_number(digits: str) -> bool:
    # The PII finder's own rules (issuer ranges, lengths, Luhn): one copy of them.
    return 12 <= len(digits) <= 19 and luhn_valid(digits) and card_issued(digits)


# --- dates ------------------------------------------------------------------------------


def read_date(value: JsonValue) -> date | None:
    """The calendar date `value` writes, or None."""
    if not isinstance(value, str) or len(value) > MAX_READ_CHARS:
        return None
    written = text(value)
    if match := _YEAR_FIRST.fullmatch(written):
        return _calendar(int(match[1]), int(match[3]), int(match[4]))
    if match := _NUMERIC.fullmatch(written):
        year = _full_year(match[4])
        first, second = int(match[1]), int(match[3])
        return _calendar(year, second, first) or _calendar(year, first, second)
    return _written_out(written)


def _full_year(year: str) -> int:
    return 2000 + int(year) if len(year) == 2 else int(year)


def _calendar(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _written_out(written: str) -> date | None:
    """A date with its month in words: its day, month and year in any order."""
    day = month = year = None
    for token in _DATE_TOKEN.findall(written.casefold()):
        if token in _WEEKDAYS or token in _FILLERS:
            continue
        if token in MONTHS and month is None:
            month = MONTHS[token]
        elif token.isdigit() and len(token) == 4 and year is None:
            year = int(token)
        elif token.isdigit() and len(token) <= 2 and day is None:
            day = int(token)
        else:
            return None
    if day is None or month is None or year is None:
        return None
    return _calendar(year, month, day)

"""The validator micromodel's domain: fields and rules in; each check passed or failed, why.

A model that extracts a bill's fields can misread a digit; plain code can tell. Each
rule names one field and one check, and every check says what failed in a few words
("checksum fails", "later than due_date: 2026-03-10 > 2026-03-01"), so a team reads
what to look at rather than a bare "invalid". What passes is given back in one
canonical form (ISO dates, amounts as numbers, compact IBANs, postcodes as the post
writes them), so the data downstream is the same whatever the document wrote.

Reasons never quote an IBAN, an amount or a free text the caller gave: the summary is
quoted verbatim by composers, and the fields may hold personal data. They quote only
what a rule itself names (field names, allowed values, a country) and dates.

Ambiguity, decided once: a date written with slashes (and dots, and hyphens after the
day) is read day first, as in Europe: 01/03/2026 is 1 March 2026, never 3 January. An
amount whose only separator is followed by exactly three digits ("1,234", "1.234 €")
is read as thousands, as money is written: 1234.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from slmesh.runtime.pii.checks import IBAN_LENGTHS, iban_valid
from slmesh.runtime.written import MONTHS, written_number

Check = Literal["required", "amount", "date", "before", "iban", "postcode", "one_of", "currency"]

# Bounds of a request: each check is a few regular expressions over a short string, so
# a request of these sizes is checked in well under a millisecond.
MAX_FIELDS: Final = 64
MAX_RULES: Final = 64
MAX_NAME_CHARS: Final = 64
MAX_VALUES: Final = 64
MAX_VALUE_CHARS: Final = 100
# The fields as JSON: what an extractor gives is far smaller.
MAX_FIELDS_JSON_CHARS: Final = 64_000
# A value longer than this is no date, amount, IBAN, postcode or currency code; it is
# refused before any pattern reads it.
MAX_CHECKED_CHARS: Final = 64
# How many of a one_of rule's values a reason lists.
SHOWN_VALUES: Final = 5
SHOWN_VALUE_CHARS: Final = 30

# A field's name: one line, as an extractor's schema names it ("due_date").
FieldName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=r"^[^\n\r]+$")]
AllowedValue = Annotated[str, Field(min_length=1, max_length=MAX_VALUE_CHARS)]

# ISO 4217 codes of the currencies a European team meets most: a fixed list, so an
# answer does not depend on a library's copy of the standard.
CURRENCIES: Final[frozenset[str]] = frozenset(
    ["EUR", "GBP", "USD", "CHF", "SEK", "DKK", "NOK", "PLN", "CZK", "HUF", "RON", "BGN", "JPY",
     "CAD", "AUD"]
)  # fmt: skip
# Symbols that name one currency only ("$" names several, so it names none).
_CURRENCY_SYMBOLS: Final[dict[str, str]] = {"€": "EUR", "£": "GBP"}

# Country codes written otherwise than ISO 3166-1 does (the UK's own, Greece's EU code).
_COUNTRY_ALIASES: Final[dict[str, str]] = {"UK": "GB", "EL": "GR"}


@dataclass(frozen=True)
class PostcodeFormat:
    """A country's postcode: its pattern (upper case, blanks collapsed) and how its parts
    join in the canonical form. A pattern without groups is canonical as it matched."""

    pattern: re.Pattern[str]
    joiner: str = " "

    def canonical(self, text: str) -> str | None:
        match = self.pattern.fullmatch(text)
        if match is None:
            return None
        parts = [part for part in match.groups() if part]
        return self.joiner.join(parts) if parts else match.group(0)


def _format(pattern: str, joiner: str = " ") -> PostcodeFormat:
    return PostcodeFormat(re.compile(pattern), joiner)


_FOUR_DIGITS = r"[1-9][0-9]{3}"
# Country -> its postcode format. Blanks inside a postcode may be left out by the writer;
# the canonical form puts them back.
POSTCODES: Final[dict[str, PostcodeFormat]] = {
    # Outward code (area, district) and inward code (sector, unit); GIR 0AA is Girobank's.
    "GB": _format(
        r"(GIR) ?(0AA)|([A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]"
        r"|[A-HK-Y][0-9][ABEHMNPRV-Y])) ?([0-9][ABD-HJLNP-UW-Z]{2})"
    ),
    # Eircode: routing key and unique identifier.
    "IE": _format(r"([AC-FHKNPRTV-Y][0-9]{2}|D6W) ?([0-9AC-FHKNPRTV-Y]{4})"),
    "DE": _format(r"(?!00)[0-9]{5}"),
    "FR": _format(r"(?!00)[0-9]{5}"),
    "NL": _format(r"([1-9][0-9]{3}) ?((?!SA|SD|SS)[A-Z]{2})"),
    "BE": _format(_FOUR_DIGITS),
    # The first two digits are the province (01-52).
    "ES": _format(r"(?:0[1-9]|[1-4][0-9]|5[0-2])[0-9]{3}"),
    "IT": _format(r"[0-9]{5}"),
    "AT": _format(_FOUR_DIGITS),
    "PT": _format(r"([1-9][0-9]{3})[- ]?([0-9]{3})", "-"),
    "PL": _format(r"([0-9]{2})[- ]?([0-9]{3})", "-"),
    "SE": _format(r"([1-9][0-9]{2}) ?([0-9]{2})"),
    "DK": _format(_FOUR_DIGITS),
    "FI": _format(r"[0-9]{5}"),
    # ZIP or ZIP+4.
    "US": _format(r"([0-9]{5})(?:[- ]?([0-9]{4}))?", "-"),
    # Forward sortation area and local delivery unit (no D, F, I, O, Q or U).
    "CA": _format(r"([ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z]) ?([0-9][ABCEGHJ-NPRSTV-Z][0-9])"),
    "CH": _format(_FOUR_DIGITS),
    "LU": _format(r"[0-9]{4}"),
    "NO": _format(r"[0-9]{4}"),
    "CZ": _format(r"([1-7][0-9]{2}) ?([0-9]{2})"),
    "SK": _format(r"([089][0-9]{2}) ?([0-9]{2})"),
    "GR": _format(r"([1-8][0-9]{2}) ?([0-9]{2})"),
    "HU": _format(_FOUR_DIGITS),
    "RO": _format(r"[0-9]{6}"),
    "HR": _format(r"[1-5][0-9]{4}"),
    "SI": _format(_FOUR_DIGITS),
    "BG": _format(_FOUR_DIGITS),
}

_MONTH_NAMES: Final = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
_ISO_DATE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Day first, the year in full: 01/03/2026, 1.3.2026, 01-03-2026 (one separator throughout).
_NUMERIC_DATE: Final = re.compile(r"([0-9]{1,2})([./-])([0-9]{1,2})\2([0-9]{4})")
_ORDINAL = r"(?:st|nd|rd|th|\.)?"
# 1 March 2026, 1st March 2026, 1. März 2026, 1 Mar. 2026
_DAY_MONTH_YEAR: Final = re.compile(
    rf"([0-9]{{1,2}}){_ORDINAL} ?([^\W\d_]{{3,9}})\.?,? ([0-9]{{4}})", re.IGNORECASE
)
# March 1, 2026, Mar 1st 2026
_MONTH_DAY_YEAR: Final = re.compile(
    rf"([^\W\d_]{{3,9}})\.? ([0-9]{{1,2}}){_ORDINAL},? ([0-9]{{4}})", re.IGNORECASE
)
DATE_FORMATS: Final = (
    "2026-03-01, 01/03/2026 (day first), 01.03.2026, 1 March 2026 or March 1, 2026"
)

# An amount: a sign, a currency (symbol or code) before or after, digits with separators.
_AMOUNT: Final = re.compile(
    r"(?P<sign>[-+]?) ?(?P<before>[£€$¥]|[A-Z]{3})? ?(?P<sign2>[-+]?) ?"
    r"(?P<number>[0-9][0-9.,' ]*[0-9]|[0-9]) ?(?P<after>[£€$¥]|[A-Z]{3})?"
)
_DECIMALS: Final = 2

_IBAN_SHAPE: Final = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+")


class Rule(BaseModel):
    """One check of one field."""

    # Unknown keys are an error on the wire, not silently dropped (a misspelt `other`
    # would make a `before` rule check nothing). Written out in each model rather than
    # shared so the pydantic mypy plugin sees `frozen`.
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: FieldName = Field(description="The field checked.", examples=["due_date"])
    check: Check = Field(
        description=(
            "required: present, not null, not blank; amount: a number >= 0 with at most 2 "
            "decimals, or a text such as '£1,234.56' or '1.234,56 €'; date: a calendar date "
            f"({DATE_FORMATS}); before: a date not later than the field `other` names; iban: "
            "ISO 13616 (country, length, mod-97 checksum); postcode: the format of `country` "
            "or of the country `country_field` holds; one_of: one of `values` (any case); "
            "currency: an ISO 4217 code of a fixed list. Any check but required fails a "
            "field that is absent, null or blank as 'missing'."
        ),
        examples=["iban"],
    )
    other: FieldName | None = Field(
        default=None,
        description="before: the field that must not be earlier than `field`.",
        examples=["due_date"],
    )
    country: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}$",
        description="postcode: ISO 3166-1 alpha-2 code of the postcode's country.",
        examples=["GB"],
    )
    country_field: FieldName | None = Field(
        default=None,
        description="postcode: the field holding the ISO 3166-1 alpha-2 code of its country.",
        examples=["country"],
    )
    values: list[AllowedValue] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_VALUES,
        description="one_of: the values allowed (compared regardless of case).",
        examples=[["electricity", "gas", "water"]],
    )

    @field_validator("country", mode="before")
    @classmethod
    def _country_code(cls, value: Any) -> Any:
        # Callers write "gb" or the UK's own "UK"; still refuse what is no code at all.
        if not isinstance(value, str):
            return value
        code = value.strip().upper()
        return _COUNTRY_ALIASES.get(code, code)

    @model_validator(mode="after")
    def _combination(self) -> Rule:
        """Each check is given what it needs and nothing meant for another check: a rule
        that could only ever pass, or fail, says so before any field is read."""
        if self.check == "before":
            if self.other is None:
                raise ValueError(
                    f"rule for {self.field!r}: check 'before' needs 'other', the field that "
                    "must not be earlier"
                )
            if self.other == self.field:
                raise ValueError(f"rule for {self.field!r}: 'other' must name another field")
        if self.check == "one_of" and self.values is None:
            raise ValueError(
                f"rule for {self.field!r}: check 'one_of' needs 'values', the values allowed"
            )
        if self.check == "postcode":
            if self.country is None and self.country_field is None:
                raise ValueError(
                    f"rule for {self.field!r}: check 'postcode' needs 'country' (an ISO 3166-1 "
                    "alpha-2 code) or 'country_field' (the field holding it)"
                )
            if self.country is not None and self.country_field is not None:
                raise ValueError(
                    f"rule for {self.field!r}: give 'country' or 'country_field', not both"
                )
        for key, owner in (
            ("other", "before"),
            ("values", "one_of"),
            ("country", "postcode"),
            ("country_field", "postcode"),
        ):
            if getattr(self, key) is not None and self.check != owner:
                raise ValueError(
                    f"rule for {self.field!r}: {key!r} is only for check {owner!r}, "
                    f"not {self.check!r}"
                )
        return self


class ValidationRequest(BaseModel):
    """Request of ValidateFields: the fields a model extracted, and the rules they must meet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[FieldName, JsonValue] = Field(
        max_length=MAX_FIELDS,
        description="The values to check, by field name (an extractor's `data`).",
        examples=[
            {
                "iban": "GB82 WEST 1234 5698 7654 32",
                "issue_date": "01/03/2026",
                "due_date": "15 March 2026",
                "amount_due": "£1,234.56",
            }
        ],
    )
    rules: list[Rule] = Field(
        min_length=1,
        max_length=MAX_RULES,
        description="The checks, each of one field; all are run, in order.",
        examples=[
            [
                {"field": "iban", "check": "iban"},
                {"field": "issue_date", "check": "before", "other": "due_date"},
                {"field": "amount_due", "check": "amount"},
            ]
        ],
    )

    @field_validator("fields")
    @classmethod
    def _bounded(cls, fields: dict[str, JsonValue]) -> dict[str, JsonValue]:
        # Nested values are not checked, but they are carried: bound them too.
        size = len(json.dumps(fields, ensure_ascii=False))
        if size > MAX_FIELDS_JSON_CHARS:
            raise ValueError(
                f"the fields are {size} characters as JSON (at most {MAX_FIELDS_JSON_CHARS})"
            )
        return fields


class Failure(BaseModel):
    """A check a field failed, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(description="The field checked.", examples=["iban"])
    check: Check = Field(description="The check it failed.", examples=["iban"])
    reason: str = Field(
        description="What failed, in a few words (never the value itself, but for dates).",
        examples=["checksum fails", "missing", "later than due_date: 2026-03-10 > 2026-03-01"],
    )


class Validation(BaseModel):
    """Response of ValidateFields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    valid: bool = Field(description="Whether every check passed.")
    failed: list[Failure] = Field(description="Each check that failed, in rule order.")
    passed: list[str] = Field(
        description="Each check that passed, as '<field>:<check>', in rule order.",
        examples=[["iban:iban", "issue_date:before"]],
    )
    normalised: dict[str, JsonValue] = Field(
        description=(
            "The checked fields in canonical form, from the first passing check that gives "
            "one: dates as YYYY-MM-DD, amounts as numbers, IBANs compact in upper case, "
            "postcodes as their country writes them, currency codes and one_of values as "
            "listed."
        ),
        examples=[{"iban": "GB82WEST12345698765432", "issue_date": "2026-03-01"}],
    )


# --- the checks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """A check's outcome: why it failed (None: it passed), and the value in canonical form
    where the check gives one."""

    reason: str | None = None
    normalised: JsonValue = None


def _fail(reason: str) -> Verdict:
    return Verdict(reason=reason)


_ABSENT: Final = object()


def _blank(value: object) -> bool:
    return value is _ABSENT or value is None or (isinstance(value, str) and not value.strip())


def _text(value: str) -> str:
    """Compatibility forms folded (a no-break space is a space, a full-width digit a digit),
    runs of blanks made one space, the ends trimmed."""
    return " ".join(unicodedata.normalize("NFKC", value).split())


def check_required(value: object) -> Verdict:
    if value is _ABSENT:
        return _fail("missing")
    if value is None:
        return _fail("null")
    if isinstance(value, str) and not value.strip():
        return _fail("empty")
    return Verdict()


def _decimals(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _amount_number(number: Decimal) -> JsonValue:
    return int(number) if number == number.to_integral_value() else float(number)


def check_amount(value: object) -> Verdict:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return _fail("not an amount")
    if isinstance(value, int | float):
        number = Decimal(str(value))
        if not number.is_finite():
            return _fail("not an amount")
    else:
        # A typographic apostrophe groups Swiss thousands; a minus sign is a minus.
        text = _text(value).replace("\u2019", "'").replace("\u2212", "-")
        match = _AMOUNT.fullmatch(text.upper()) if len(text) <= MAX_CHECKED_CHARS else None
        if match is None:
            return _fail("not an amount")
        currency = match["before"] or match["after"]
        if match["before"] and match["after"]:
            return _fail("not an amount: two currencies")
        if currency is not None and len(currency) == 3 and currency not in CURRENCIES:
            return _fail(f"not an amount: {currency} is no currency code known here")
        parsed = written_number(match["number"])
        if parsed is None:
            return _fail("not an amount: its separators follow no convention")
        number = -parsed if "-" in (match["sign"] + match["sign2"]) else parsed
    if number < 0:
        return _fail("negative")
    if _decimals(number) > _DECIMALS:
        return _fail(f"more than {_DECIMALS} decimals")
    return Verdict(normalised=_amount_number(number))


def _calendar_date(year: int, month: int, day: int) -> date | str:
    if not 1 <= month <= 12:
        return f"no month {month}"
    try:
        return date(year, month, day)
    except ValueError:
        pass
    if year < 1:
        return f"no year {year}"
    days = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    return f"no such day: {_MONTH_NAMES[month - 1]} {year} has {days} days"


def parse_date(value: object) -> date | str:
    """The date `value` writes, or why it writes none."""
    if not isinstance(value, str) or len(value) > MAX_CHECKED_CHARS:
        return "not a date"
    text = _text(value)
    if match := _ISO_DATE.fullmatch(text):
        return _calendar_date(int(match[1]), int(match[2]), int(match[3]))
    if match := _NUMERIC_DATE.fullmatch(text):
        found = _calendar_date(int(match[4]), int(match[3]), int(match[1]))
        if isinstance(found, str) and int(match[3]) > 12:
            return f"{found} (a date with {match[2]} is read day first)"
        return found
    for pattern, day_at, month_at in ((_DAY_MONTH_YEAR, 1, 2), (_MONTH_DAY_YEAR, 2, 1)):
        match = pattern.fullmatch(text)
        month = MONTHS.get(match[month_at].lower()) if match else None
        if match and month is not None:
            return _calendar_date(int(match[3]), month, int(match[day_at]))
    return "not a date (e.g. 2026-03-01, 01/03/2026, 1 March 2026)"


def check_date(value: object) -> Verdict:
    parsed = parse_date(value)
    if isinstance(parsed, str):
        return _fail(parsed)
    return Verdict(normalised=parsed.isoformat())


def check_before(value: object, other_name: str, other: object) -> Verdict:
    first = parse_date(value)
    if isinstance(first, str):
        return _fail(first)
    if _blank(other):
        return _fail(f"{other_name} missing")
    second = parse_date(other)
    if isinstance(second, str):
        return _fail(f"{other_name} is no date: {second}")
    if first > second:
        return _fail(f"later than {other_name}: {first.isoformat()} > {second.isoformat()}")
    return Verdict(normalised=first.isoformat())


def check_iban(value: object) -> Verdict:
    if not isinstance(value, str) or len(value) > MAX_CHECKED_CHARS:
        return _fail("not an IBAN")
    iban = "".join(_text(value).split()).upper()
    if not iban.isascii() or not iban.isalnum():
        return _fail("not an IBAN: letters, digits and spaces only")
    if not _IBAN_SHAPE.fullmatch(iban):
        return _fail("not an IBAN: no country code and two check digits at its start")
    country = iban[:2]
    length = IBAN_LENGTHS.get(country)
    if length is None:
        return _fail(f"no IBAN format known for {country}")
    if len(iban) != length:
        return _fail(f"length {len(iban)} for {country}, expected {length}")
    if not 2 <= int(iban[2:4]) <= 98:
        return _fail("check digits out of range (02-98)")
    # The PII finder's own check (length and ISO 7064 mod 97-10): one copy of the rule.
    if not iban_valid(iban):
        return _fail("checksum fails")
    return Verdict(normalised=iban)


def _country_of(rule: Rule, fields: dict[str, JsonValue]) -> str | Verdict:
    """The postcode's country code, or the verdict when its field gives none."""
    if rule.country is not None:
        return rule.country
    name = rule.country_field or ""
    value = fields.get(name, _ABSENT)
    if _blank(value):
        return _fail(f"country missing ({name})")
    code = _text(value).upper() if isinstance(value, str) else ""
    if not re.fullmatch(r"[A-Z]{2}", code):
        return _fail(f"{name} is no ISO 3166-1 alpha-2 country code")
    return _COUNTRY_ALIASES.get(code, code)


def check_postcode(value: object, country: str) -> Verdict:
    known = POSTCODES.get(country)
    if known is None:
        return _fail(f"no postcode format known for {country}")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > MAX_CHECKED_CHARS:
        return _fail(f"not a valid postcode for {country}")
    canonical = known.canonical(_text(value).upper())
    if canonical is None:
        return _fail(f"not a valid postcode for {country}")
    return Verdict(normalised=canonical)


def _shown(values: list[str]) -> str:
    shown = [v if len(v) <= SHOWN_VALUE_CHARS else v[: SHOWN_VALUE_CHARS - 1] + "…" for v in values]
    listed = ", ".join(shown[:SHOWN_VALUES])
    return listed + (
        f" (and {len(values) - SHOWN_VALUES} more)" if len(values) > SHOWN_VALUES else ""
    )


def check_one_of(value: object, values: list[str]) -> Verdict:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        wanted = _text(value).casefold()
        for allowed in values:
            if _text(allowed).casefold() == wanted:
                return Verdict(normalised=allowed)
    return _fail(f"not one of {_shown(values)}")


def check_currency(value: object) -> Verdict:
    if not isinstance(value, str) or len(value) > MAX_CHECKED_CHARS:
        return _fail("not a currency code")
    text = _text(value)
    code = _CURRENCY_SYMBOLS.get(text, text.upper())
    if not re.fullmatch(r"[A-Z]{3}", code):
        return _fail("not an ISO 4217 currency code")
    if code not in CURRENCIES:
        return _fail(f"{code} is not a currency code known here")
    return Verdict(normalised=code)


def check(rule: Rule, fields: dict[str, JsonValue]) -> Verdict:
    """One rule's verdict on the fields."""
    value: object = fields.get(rule.field, _ABSENT)
    if rule.check == "required":
        return check_required(value)
    if _blank(value):
        return _fail("missing")
    match rule.check:
        case "amount":
            return check_amount(value)
        case "date":
            return check_date(value)
        case "before":
            other = rule.other or ""
            return check_before(value, other, fields.get(other, _ABSENT))
        case "iban":
            return check_iban(value)
        case "postcode":
            country = _country_of(rule, fields)
            return country if isinstance(country, Verdict) else check_postcode(value, country)
        case "one_of":
            return check_one_of(value, rule.values or [])
        case "currency":
            return check_currency(value)
    raise AssertionError(f"unknown check {rule.check!r}")  # pragma: no cover


def validate(request: ValidationRequest) -> Validation:
    """Every rule in order: each failure with its reason, each pass named, the passing
    values in canonical form (the first check that gives one for a field sets it)."""
    failed: list[Failure] = []
    passed: list[str] = []
    normalised: dict[str, JsonValue] = {}
    for rule in request.rules:
        verdict = check(rule, request.fields)
        if verdict.reason is not None:
            failed.append(Failure(field=rule.field, check=rule.check, reason=verdict.reason))
            continue
        passed.append(f"{rule.field}:{rule.check}")
        if verdict.normalised is not None:
            normalised.setdefault(rule.field, verdict.normalised)
    return Validation(valid=not failed, failed=failed, passed=passed, normalised=normalised)


# --- human summary ----------------------------------------------------------------------


def _checks(count: int) -> str:
    return f"{count} check" if count == 1 else f"{count} checks"


def describe(validation: Validation) -> str:
    """One line: `valid: 5 checks passed`, or `2 of 7 checks failed: iban (checksum
    fails), issue_date (later than due_date: 2026-03-10 > 2026-03-01)`.

    Deterministic (the composer quotes it verbatim), failures in rule order. Bounded:
    64 rules, names of 64 characters and reasons of a few dozen keep it far below a
    reply's limit.
    """
    if not validation.failed:
        return f"valid: {_checks(len(validation.passed))} passed"
    total = len(validation.failed) + len(validation.passed)
    failures = ", ".join(f"{f.field} ({f.reason})" for f in validation.failed)
    return f"{len(validation.failed)} of {_checks(total)} failed: {failures}"

"""Spans of a document that could be a field's value, found by their shape.

Each finder reads the text with bounded patterns and returns `Candidate`s: the text
as written, where it stands, and its value in canonical form (an ISO date, a number,
a compact IBAN, an ISO code). A value the extractor returns is always one of these,
so it is always in the document (or a normal form of something that is).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, Final

from slmesh.extractor.fields import Kind
from slmesh.runtime.pii import find_pii
from slmesh.runtime.pii.checks import IBAN_LENGTHS, iban_valid


@dataclass(frozen=True)
class Candidate:
    kind: Kind
    text: str
    start: int
    end: int
    value: Any
    # For a date: "start" or "end" of a range written "D1 - D2", "" otherwise.
    role: str = ""
    # For an amount: the ISO code of the currency written beside it.
    currency: str | None = None
    # How sure its shape alone makes it (a valid IBAN over an IBAN-shaped string).
    shape: float = 0.0

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


# --- dates --------------------------------------------------------------------------------

MONTHS: Final[dict[str, int]] = {
    # English, German, French, Spanish, Italian, Dutch, Portuguese: the names a European
    # bill or letter writes.
    "january": 1, "jan": 1, "januar": 1, "jänner": 1, "janvier": 1, "enero": 1, "gennaio": 1,
    "januari": 1, "janeiro": 1,
    "february": 2, "feb": 2, "februar": 2, "février": 2, "fevrier": 2, "febrero": 2,
    "febbraio": 2, "februari": 2, "fevereiro": 2,
    "march": 3, "mar": 3, "märz": 3, "maerz": 3, "mrz": 3, "mars": 3, "marzo": 3, "maart": 3,
    "março": 3,
    "april": 4, "apr": 4, "avril": 4, "abril": 4, "aprile": 4,
    "may": 5, "mai": 5, "mayo": 5, "maggio": 5, "mei": 5, "maio": 5,
    "june": 6, "jun": 6, "juni": 6, "juin": 6, "junio": 6, "giugno": 6, "junho": 6,
    "july": 7, "jul": 7, "juli": 7, "juillet": 7, "julio": 7, "luglio": 7, "julho": 7,
    "august": 8, "aug": 8, "août": 8, "aout": 8, "agosto": 8, "augustus": 8,
    "september": 9, "sep": 9, "sept": 9, "septembre": 9, "septiembre": 9, "settembre": 9,
    "setembro": 9,
    "october": 10, "oct": 10, "oktober": 10, "okt": 10, "octobre": 10, "octubre": 10,
    "ottobre": 10, "outubro": 10,
    "november": 11, "nov": 11, "novembre": 11, "noviembre": 11, "novembro": 11,
    "december": 12, "dec": 12, "dezember": 12, "dez": 12, "décembre": 12, "decembre": 12,
    "diciembre": 12, "dicembre": 12, "dezembro": 12,
}  # fmt: skip
_MONTH: Final = r"[^\W\d_]{3,10}"
_ORDINAL: Final = r"(?:st|nd|rd|th|\.|º|er)?"
# Between day, month and year: a blank, a hyphen, or Spanish and Portuguese "de".
_GAP: Final = r"(?:[ -]|\s?de\s|\sof\s)"
_DATE: Final = re.compile(
    r"(?<![\w.,/])(?:"
    r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
    r"|(?P<nd>\d{1,2})(?P<sep>[./-])(?P<nm>\d{1,2})(?P=sep)(?P<ny>\d{4}|\d{2})"
    rf"|(?P<td>\d{{1,2}}){_ORDINAL}{_GAP}(?P<tm>{_MONTH})\.?,?{_GAP}(?P<ty>\d{{4}})"
    rf"|(?P<um>{_MONTH})\.? (?P<ud>\d{{1,2}}){_ORDINAL},? (?P<uy>\d{{4}})"
    r")(?!\w|[.,/]\d|-[^\W\d_])",
    re.IGNORECASE,
)
# Between the two dates of a range: "12 Jan 2025 - 11 Feb 2025", "01.01.2024 to 31.12.2024",
# "15/01/2025 to 14/03/2025", "01.01.2025-31.01.2025".
_RANGE_JOIN: Final = re.compile(
    r"\s{0,3}(?:[-\u2013\u2014]|to|until|till|through|thru|bis|au|al|a|tot|t/m|tot en met|up to|"
    r"hasta|fino al|até)\s{0,3}:?\s{0,3}",
    re.IGNORECASE,
)


def _calendar(year: int, month: int, day: int) -> date | None:
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _date_of(match: re.Match[str], month_first: bool = False) -> date | None:
    if match["iy"]:
        return _calendar(int(match["iy"]), int(match["im"]), int(match["id"]))
    if match["nd"]:
        day, month = int(match["nd"]), int(match["nm"])
        # Day first, as Europe writes it, unless the document writes its dates month
        # first; a "day" over 12 can only be a month-first date.
        if (month_first and match["sep"] == "/" and day <= 12) or month > 12 >= day:
            day, month = month, day
        return _calendar(int(match["ny"]), month, day)
    if match["td"]:
        month_number = MONTHS.get(match["tm"].lower())
        if month_number is None:
            return None
        return _calendar(int(match["ty"]), month_number, int(match["td"]))
    month_number = MONTHS.get(match["um"].lower())
    if month_number is None:
        return None
    return _calendar(int(match["uy"]), month_number, int(match["ud"]))


def _writes_month_first(matches: list[re.Match[str]]) -> bool:
    """Whether a document writes its numeric dates month first, as the US does: one of
    them can only be read so ("06/14/2025") and none can only be read day first. Then
    "05/10/2025" beside it is the 10th of May, not the 5th of October."""
    numeric = [(int(m["nd"]), int(m["nm"])) for m in matches if m["nd"] and m["sep"] == "/"]
    only_us = any(second > 12 >= first for first, second in numeric)
    only_eu = any(first > 12 >= second for first, second in numeric)
    return only_us and not only_eu


def find_dates(text: str) -> list[Candidate]:
    found: list[Candidate] = []
    matches = list(_DATE.finditer(text))
    month_first = _writes_month_first(matches)
    for match in matches:
        day = _date_of(match, month_first)
        if day is not None:
            found.append(Candidate("date", match.group(), match.start(), match.end(), day))
    found = sorted(found + _yearless_starts(text, found), key=lambda c: c.start)
    # A range: the first date starts it, the second ends it.
    ranged: list[Candidate] = list(found)
    for i, (first, second) in enumerate(itertools.pairwise(found)):
        if _RANGE_JOIN.fullmatch(text, first.end, second.start) and first.value <= second.value:
            ranged[i] = _with_role(ranged[i], "start")
            ranged[i + 1] = _with_role(ranged[i + 1], "end")
    return ranged


# A range's first date written without its year: "12 Jan - 11 Feb 2025", "Jan 12 to
# Feb 11, 2025" (the year is the second date's, or the one before it across New Year).
_MONTH_NAME: Final = "|".join(sorted(MONTHS, key=len, reverse=True))
_YEARLESS: Final = re.compile(
    rf"(?<![\w.,/])(?:(?P<d>\d{{1,2}}){_ORDINAL}{_GAP}(?P<m>{_MONTH_NAME})"
    rf"|(?P<um>{_MONTH_NAME})\.? (?P<ud>\d{{1,2}}){_ORDINAL})(?!\w)\.?,?",
    re.IGNORECASE,
)


def _yearless_starts(text: str, dates: list[Candidate]) -> list[Candidate]:
    found = []
    for match in _YEARLESS.finditer(text):
        if any(d.overlaps(match.start(), match.end()) for d in dates):
            continue
        end = next((d for d in dates if _RANGE_JOIN.fullmatch(text, match.end(), d.start)), None)
        month = MONTHS.get((match["m"] or match["um"]).lower())
        if end is None or month is None:
            continue
        day = _calendar(end.value.year, month, int(match["d"] or match["ud"]))
        if day is not None and day > end.value:
            day = _calendar(end.value.year - 1, month, day.day)
        if day is not None:
            found.append(Candidate("date", match.group(), match.start(), match.end(), day))
    return found


# Dates without a year and times, which a list of what a text mentions keeps as written:
# "3 March", "March 3rd", "10:30", "3 pm", "14.30 Uhr".
_LOOSE_DATE: Final = re.compile(
    rf"(?<![\w.,/])(?:\d{{1,2}}{_ORDINAL}{_GAP}(?P<m1>{_MONTH})|(?P<m2>{_MONTH})\.? \d{{1,2}}"
    rf"{_ORDINAL}|\d{{1,2}}[:.]\d{{2}}\s?(?:am|pm|a\.m\.|p\.m\.|h|uhr)?|\d{{1,2}}\s?(?:am|pm))"
    r"(?![\w]|[.,:]\d)",
    re.IGNORECASE,
)


def find_loose_dates(text: str, dates: list[Candidate]) -> list[Candidate]:
    found = []
    for match in _LOOSE_DATE.finditer(text):
        month = match["m1"] or match["m2"]
        if month is not None and month.lower() not in MONTHS:
            continue
        if month is None and re.fullmatch(r"\d{1,2}[.]\d{2}", match.group()):
            continue  # "12.50" is a price more often than a time
        if any(d.overlaps(match.start(), match.end()) for d in dates):
            continue
        value = match.group().rstrip(".")
        found.append(Candidate("date", value, match.start(), match.start() + len(value), value))
    return found


# Quantities with their unit: "412 kWh", "28 m3", "5 kg", "20%", "3 hours".
_QUANTITY: Final = re.compile(
    r"(?<![\w.,])\d+(?:[.,]\d+)?\s?(?:%|percent|per cent|kWh|MWh|GWh|TWh|kW|MW|GW|"
    r"m3|m³|m²|km|kg|g|t|"
    r"tonnes?|tons?|litres?|liters?|l|ml|GB|MB|TB|hours?|hrs?|minutes?|mins?|days?|weeks?|"
    r"months?|years?|units?|pieces?|employees|people|staff)(?![\w])",
    re.IGNORECASE,
)


def find_quantities(text: str, taken: list[Candidate]) -> list[Candidate]:
    return [
        Candidate("amount", m.group(), m.start(), m.end(), m.group())
        for m in _QUANTITY.finditer(text)
        if not any(c.overlaps(m.start(), m.end()) for c in taken)
    ]


def _with_role(candidate: Candidate, role: str) -> Candidate:
    return Candidate(
        candidate.kind, candidate.text, candidate.start, candidate.end, candidate.value, role
    )


# --- money --------------------------------------------------------------------------------

# ISO 4217 codes a document is likely to write; a fixed list, so that any three capitals
# ("VAT", "CTA") are not taken for one.
CURRENCY_CODES: Final = frozenset(
    {
        "EUR", "GBP", "USD", "CHF", "SEK", "DKK", "NOK", "PLN", "CZK", "HUF", "RON", "BGN",
        "JPY", "CAD", "AUD", "NZD", "CNY", "INR", "BRL", "MXN", "ZAR", "TRY", "ISK", "HKD",
        "SGD"
    }
)  # fmt: skip
# Symbols and words that name one currency ("$" is taken as USD: the usual reading).
CURRENCY_SIGNS: Final[dict[str, str]] = {
    "€": "EUR", "£": "GBP", "$": "USD", "US$": "USD", "¥": "JPY", "CHF": "CHF", "Fr.": "CHF",
    "euro": "EUR", "euros": "EUR", "eur": "EUR", "pounds": "GBP", "dollars": "USD",
    "zł": "PLN", "kr": "SEK", "Kč": "CZK",
}  # fmt: skip
_SIGN: Final = r"(?:US\$|[€£$¥]|\b(?:" + "|".join(sorted(CURRENCY_CODES)) + r")\b)"
_WORD_SIGN: Final = r"(?:euros?|EUR|pounds|dollars|zł|Kč)"
_NUMBER: Final = r"\d{1,3}(?:[.,' \u00a0]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
# "$1.2 billion", "EUR 3 Mio.": a number's scale, written after it.
_SCALE: Final = r"(?:thousand|million|billion|trillion|bn|mn|Mio\.?|Mrd\.?|k|m)\b"
_SCALES: Final = {"thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "mio": 1e6,
                  "billion": 1e9, "bn": 1e9, "mrd": 1e9, "trillion": 1e12}  # fmt: skip
_AMOUNT: Final = re.compile(
    rf"(?<![\w.,])(?P<neg>-)?(?:(?P<before>{_SIGN})\s?(?P<neg2>-\s?)?(?P<n1>{_NUMBER})"
    rf"(?P<scale1>\s?{_SCALE})?|(?P<n2>{_NUMBER})(?P<scale2>\s?{_SCALE})?\s?"
    rf"(?P<after>{_SIGN}|{_WORD_SIGN}\b))(?![\w]|[.,]\d)"
    r"|(?<![\w.,/:-])(?P<n3>\d{1,3}(?:[.,]\d{3})*[.,]\d{2}|\d{4,7}[.,]\d{2})(?![\w%]|[.,/]\d|\s?(?:%|kWh|m3|m³))",
    re.IGNORECASE,
)


def parse_number(written: str) -> float | None:
    """The number `written` with any thousands and decimal marks: "1.234,56", "1,234.56",
    "1 234,56", "125,65"; the last mark is the decimals' when two or fewer digits follow."""
    digits = written.replace("\u00a0", " ").replace("'", " ").strip()
    marks = [c for c in digits if c in ".,"]
    decimal_mark = None
    if marks:
        last = max(digits.rfind("."), digits.rfind(","))
        tail = digits[last + 1 :]
        if (
            len(tail) <= 2
            or len(set(marks)) == 2
            or (digits.count(marks[-1]) == 1 and len(tail) != 3)
        ):
            decimal_mark = digits[last]
    integer, fraction = digits, ""
    if decimal_mark is not None:
        integer, fraction = (
            digits[: digits.rfind(decimal_mark)],
            digits[digits.rfind(decimal_mark) + 1 :],
        )
    integer = re.sub(r"[.,\s]", "", integer)
    if not integer.isdigit() or (fraction and not fraction.isdigit()):
        return None
    return float(f"{integer}.{fraction}" if fraction else integer)


def _currency_of(sign: str | None) -> str | None:
    if not sign:
        return None
    upper = sign.upper()
    if upper in CURRENCY_CODES:
        return upper
    return CURRENCY_SIGNS.get(sign) or CURRENCY_SIGNS.get(sign.lower())


# A whole number a charge names without a currency: "I was charged 340 by ...".
_BARE_CHARGE: Final = re.compile(
    r"(?:charged(?: me)?|paid|amount|took|debited|betrag)\s?[:=]?\s?(\d{1,6})(?![\w.,:/]|\s?%)",
    re.IGNORECASE,
)


def find_amounts(text: str, taken: list[Candidate]) -> list[Candidate]:
    found: list[Candidate] = []
    for match in _BARE_CHARGE.finditer(text):
        if not any(c.overlaps(match.start(1), match.end(1)) for c in taken):
            value = float(match[1])
            found.append(
                Candidate("amount", match[1], match.start(1), match.end(1), value, shape=0.1)
            )
    for match in _AMOUNT.finditer(text):
        start, end = match.span()
        if any(c.overlaps(start, end) for c in taken):
            continue
        written = match["n1"] or match["n2"] or match["n3"]
        number = parse_number(written)
        if number is None:
            continue
        scale = (match["scale1"] or match["scale2"] or "").strip().rstrip(".").lower()
        number *= _SCALES.get(scale, 1.0)
        if match["neg"] or match["neg2"]:
            number = -number
        currency = _currency_of(match["before"] or match["after"])
        # A currency beside it makes a number money; bare decimals only might be.
        shape = 1.0 if currency else 0.3
        found.append(
            Candidate(
                "amount", match.group().strip(), start, end, number, currency=currency, shape=shape
            )
        )
    return found


_CURRENCY_MENTION: Final = re.compile(
    rf"{_SIGN}|(?<![\w])(?:euros?|pounds sterling|pounds|dollars)(?![\w])", re.IGNORECASE
)


def find_currencies(text: str) -> list[Candidate]:
    found = []
    for match in _CURRENCY_MENTION.finditer(text):
        code = _currency_of(match.group())
        if code is not None and (
            match.group().isupper() or not match.group().isalpha() or len(match.group()) > 3
        ):
            found.append(Candidate("currency", match.group(), match.start(), match.end(), code))
    return found


# --- bank and contact details ---------------------------------------------------------------

_IBAN: Final = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){10,30}+")


def find_ibans(text: str) -> list[Candidate]:
    """IBAN-shaped strings of their country's length; a passing checksum ranks higher,
    but a failing one is still the IBAN the document gives (its check is the validator's)."""
    found = []
    for match in _IBAN.finditer(text):
        written = match.group()
        length = IBAN_LENGTHS.get(written[:2])
        kept = [i for i, c in enumerate(written) if c != " "]
        if length is None or len(kept) < length:
            continue
        end = match.start() + kept[length - 1] + 1
        if end < len(text) and text[end].isalnum():
            continue
        compact = "".join(written[i] for i in kept[:length])
        shape = 1.0 if iban_valid(compact) else 0.5
        found.append(
            Candidate("iban", text[match.start() : end], match.start(), end, compact, shape=shape)
        )
    return found


def find_pii_kind(text: str, kind: str, as_kind: Kind) -> list[Candidate]:
    try:
        spans = find_pii(text)
    except ValueError:
        return []
    return [
        Candidate(as_kind, text[s.start : s.end], s.start, s.end, text[s.start : s.end])
        for s in spans
        if s.kind == kind
    ]


_CARD_ENDING: Final = re.compile(
    r"(?:ending(?: in| with)?|ends? (?:in|with)|last ?(?:4|four)(?: digits)?(?: of)?(?: my card)?"
    r"(?: are| is)?|(?:[*xX•.]{2,}[\s-]?)+|card no\.?|endet auf|endend auf|"
    # "card=6021", "Card: 3141", "(card 1953)", "card_last4=8123": four digits named the
    # card's, not the first group of a card number ("card 5500 **** **** 7781").
    r"\b(?:card|karte|carte|tarjeta|carta|kaart)(?:[ _-]?(?:last[ _-]?4|last four|number|no\.?|#))?"
    r"[ \t]?[:=#]?)"
    r"\s?[:=]?\s?(?:in\s)?(\d{4})(?!\d|[ -]?[*xX•\d])",
    re.IGNORECASE,
)


def find_card_endings(text: str) -> list[Candidate]:
    return [
        Candidate("card_last4", m[1], m.start(1), m.end(1), m[1], shape=1.0)
        for m in _CARD_ENDING.finditer(text)
    ]


# --- places and codes --------------------------------------------------------------------

COUNTRIES: Final[dict[str, str]] = {
    "united kingdom": "GB", "great britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "uk": "GB", "ireland": "IE", "éire": "IE", "germany": "DE",
    "deutschland": "DE", "france": "FR", "netherlands": "NL", "the netherlands": "NL",
    "nederland": "NL", "belgium": "BE", "belgique": "BE", "spain": "ES", "españa": "ES",
    "portugal": "PT", "italy": "IT", "italia": "IT", "austria": "AT", "österreich": "AT",
    "switzerland": "CH", "schweiz": "CH", "suisse": "CH", "luxembourg": "LU",
    "denmark": "DK", "danmark": "DK", "sweden": "SE", "sverige": "SE", "norway": "NO",
    "norge": "NO", "finland": "FI", "suomi": "FI", "poland": "PL", "polska": "PL",
    "czech republic": "CZ", "czechia": "CZ", "slovakia": "SK", "hungary": "HU",
    "romania": "RO", "bulgaria": "BG", "greece": "GR", "croatia": "HR", "slovenia": "SI",
    "united states": "US", "usa": "US", "canada": "CA", "australia": "AU", "japan": "JP",
}  # fmt: skip
_COUNTRY_NAME: Final = re.compile(
    r"(?<![\w])(?:"
    + "|".join(re.escape(n) for n in sorted(COUNTRIES, key=len, reverse=True))
    + r")(?![\w])",
    re.IGNORECASE,
)


def find_countries(text: str, ibans: list[Candidate]) -> list[Candidate]:
    found = [
        Candidate("country", m.group(), m.start(), m.end(), COUNTRIES[m.group().lower()], shape=1.0)
        for m in _COUNTRY_NAME.finditer(text)
        # "UK" and "USA" only as written in capitals; "Wales" the name, not a word.
        if m.group()[0].isupper()
    ]
    # The IBAN's country code: the country of the account, written in the document.
    found += [
        Candidate("country", c.text[:2], c.start, c.start + 2, c.text[:2], shape=0.6) for c in ibans
    ]
    return found


# Currencies of one country each: the weakest hint of where a document is from.
CURRENCY_COUNTRIES: Final[dict[str, str]] = {
    "GBP": "GB", "CHF": "CH", "SEK": "SE", "DKK": "DK", "NOK": "NO", "PLN": "PL", "CZK": "CZ",
    "HUF": "HU", "RON": "RO", "BGN": "BG", "JPY": "JP", "CAD": "CA", "AUD": "AU",
}  # fmt: skip


def country_hints(text: str) -> list[Candidate]:
    """Countries a currency or an Irish Eircode written in the text implies, where no
    name or IBAN says one."""
    eircodes = [
        Candidate("country", m["ie"], m.start(), m.end(), "IE", shape=0.2)
        for m in _POSTCODE.finditer(text)
        if m["ie"] and any(c.isdigit() for c in m["ie"]) and any(c.isalpha() for c in m["ie"])
    ]
    return eircodes + [
        Candidate("country", c.text, c.start, c.end, CURRENCY_COUNTRIES[c.value], shape=0.1)
        for c in find_currencies(text)
        if c.value in CURRENCY_COUNTRIES
    ]


# Postcodes: a shape per region and where it stands (before or after a town name).
_POSTCODE: Final = re.compile(
    # UK and Irish Eircodes
    r"(?<![\w-])(?P<uk>[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})(?![\w-])"
    r"|(?<=\b[A-Z]{2} )(?P<us>\d{5}(?:-\d{4})?)(?![\w-])"
    r"|(?<![\w-])(?P<ie>[AC-FHKNPRTV-Y]\d{2}(?:\d|W)? ?[0-9AC-FHKNPRTV-Y]{4})(?![\w-])"
    # Dutch: 1234 AB
    r"|(?<![\w-])(?P<nl>[1-9]\d{3} ?[A-Z]{2})(?=\s+[A-Z][a-z])"
    # Portuguese and Polish with their dash, then 4 or 5 digits before a town
    r"|(?<![\w-])(?P<dash>\d{4}-\d{3}|\d{2}-\d{3})(?=[ \t]+[^\W\d_])"
    r"|(?<![\w.,/-])(?P<digits>\d{4,5})(?=[ \t]+[A-ZÀ-Ý][^\W\d_]+)"
    # a town before its code ("Bristol BS8 1AB" is the UK one; "Paris 75001" here)
    r"|(?<=[a-z] )(?P<after>\d{5})(?![\w.,])"
)


# A street's name after a number: the number is the house's ("1800 Pine St, Denver").
_STREET: Final = re.compile(
    r"(?:[ \t]+[A-Z][\w'-]*){1,3}[ \t]+(?:St|Street|Ave|Avenue|Rd|Road|Dr|Drive|Ln|Lane|"
    r"Blvd|Boulevard|Way|Ct|Court|Pl|Place|Pkwy|Parkway|Hwy|Highway|Ter|Terrace)\b\.?"
)


def find_postcodes(text: str) -> list[Candidate]:
    found = []
    for match in _POSTCODE.finditer(text):
        value = match.group()
        # Letters and digits must both be there in a mixed code ("BS8 1AB", not "ABC DEF").
        if (match["uk"] or match["ie"]) and not (
            any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
        ):
            continue
        if match["digits"] and _STREET.match(text, match.end()):
            continue  # "1800 Pine St": a house number
        shaped = match["uk"] or match["ie"] or match["nl"] or match["dash"] or match["us"]
        shape = 1.0 if shaped else 0.6
        found.append(Candidate("postcode", value, match.start(), match.end(), value, shape=shape))
    return found


# An identifier: a token of digits (and letters, dashes or slashes) with at least three
# digits, as account, customer, reference and order numbers are written.
_IDENTIFIER: Final = re.compile(
    r"(?<![\w/.-])(?=[A-Z0-9./-]*\d[A-Z0-9./-]*\d[A-Z0-9./-]*\d)[A-Z0-9](?:[A-Z0-9]|[-/.](?=[A-Z0-9])){2,30}(?![\w/-])",
)


# An identifier printed in groups of digits: "600 184 2291", "7712 0045 88" (a run
# of at least six digits; a blank between groups, never a line's end).
_GROUPED_IDENTIFIER: Final = re.compile(
    r"(?<![\w/.,-])(?:[A-Z]{1,3}[ ])?(?=(?:\d[ ]?){6,})\d{1,5}(?:[ ]\d{2,5}){1,4}(?![\w/-]|[.,]\d)"
)


def find_identifiers(text: str, taken: list[Candidate]) -> list[Candidate]:
    found = []
    grouped = []
    for match in _GROUPED_IDENTIFIER.finditer(text):
        if any(c.overlaps(match.start(), match.end()) for c in taken):
            continue
        value = match.group()
        grouped.append(Candidate("identifier", value, match.start(), match.end(), value))
    found.extend(grouped)
    for match in _IDENTIFIER.finditer(text):
        if any(c.overlaps(match.start(), match.end()) for c in taken + grouped):
            continue
        value = match.group()
        if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})*(?:[.,]\d{1,2})?", value):
            continue  # a count or an amount, not an identifier
        found.append(Candidate("identifier", value, match.start(), match.end(), value))
    return found


# --- names --------------------------------------------------------------------------------

# Legal forms that end a company's name, written without their dots.
LEGAL_FORMS: Final = frozenset(
    {
        "ltd", "limited", "plc", "llc", "llp", "inc", "corp", "corporation", "co", "company",
        "gmbh", "ag", "kg", "se", "ev", "ug", "mbh", "nv", "bv", "sa", "sas", "sarl", "sl",
        "spa", "srl", "oy", "oyj", "ab", "as", "a/s", "aps", "lda", "kft", "sro", "sp", "zoo",
        "pty", "pvt", "bhd"
    }
)  # fmt: skip
# Words that make a run of capitalised words an organisation's name.
ORG_NOUNS: Final = frozenset(
    {
        "bank", "group", "university", "council", "commission", "ministry", "agency",
        "authority", "institute", "foundation", "association", "club", "hospital", "school",
        "energy", "telekom", "telecom", "airlines", "airways", "insurance", "utilities",
        "water", "power", "gas", "networks", "network", "services", "holdings", "partners",
        "solutions", "technologies", "systems", "parliament", "court", "police", "government",
        "committee", "office", "department", "broadband", "electric", "electricity", "mobile",
        "media", "motors", "foods", "stores", "ai", "labs", "tech", "software", "capital",
        "ventures", "pharma", "airline"
    }
)  # fmt: skip
# Words that open a public body's name: "Ayuntamiento de ...", "Gemeente ...".
ORG_HEADS: Final = frozenset(
    {
        "ayuntamiento", "gemeente", "stadtwerke", "comune", "commune", "gemeinde", "stadt",
        "city", "municipality", "bank", "university", "hospital", "ministerio", "ministère",
        "ministry"
    }
)  # fmt: skip
# Words a document's title is, not a sender's name.
DOCUMENT_WORDS: Final = frozenset(
    {
        "invoice", "bill", "statement", "receipt", "factura", "rechnung", "fattura", "factuur",
        "facture", "nota", "note", "reminder", "mahnung", "quote", "quotation", "offer",
        "order", "confirmation", "letter", "dispute", "claim", "complaint", "form",
        "chargeback", "report", "request", "notice"
    }
)  # fmt: skip
# How a letter or a mail opens: a line that greets is no letterhead.
_GREETING: Final = re.compile(
    r"(?:dear|hi|hello|hey|good (?:morning|afternoon|evening)|to whom|geachte|sehr geehrte|"
    r"liebe|hallo|bonjour|madame|monsieur|estimad[oa]|hola|gentile|egregio|caro|cara)\b",
    re.IGNORECASE,
)


def _dotless(word: str) -> str:
    return word.strip(",;:()").lower().replace(".", "")


# A run of capitalised words (with a few lower-case joiners), as names are written.
_CAPITALISED: Final = re.compile(
    r"(?<![\w'])(?:[A-ZÀ-ÝŁŚŻŹĆŃØÅÆ][\w'\u2019.&-]*|&)"
    r"(?:(?:[ \t]|,[ \t](?=(?:S\.|Inc|Ltd|LLC|SA|AG)))"
    r"(?:(?:de|la|le|van|von|der|den|du|des|del|da|do|dos|e|y|of|and|und|&|the|für|an|am|zu)"
    r"[ \t]){0,2}"
    r"(?:[A-ZÀ-ÝŁŚŻŹĆŃØÅÆ&][\w'\u2019.&/-]*|&|[a-z]\.[a-z]\.)){0,6}"
    # Legal forms written in lower case: "Sp. z o.o.", "s.r.o.", "e.V.".
    r"(?:[ \t](?:z o\.o\.|s\.r\.o\.|e\.V\.|a\.s\.|s\.a\.|s\.l\.))?"
)
_LINE_SPLIT: Final = re.compile(r"\s+[·|•\u2013\u2014-]\s+|\s{3,}|\t")
_NOT_A_NAME_START: Final = frozenset(
    {
        "the", "your", "our", "this", "that", "please", "dear", "total", "amount", "invoice",
        "bill", "date", "page", "tel", "phone", "fax", "email", "iban", "bic", "vat", "account",
        "customer", "reference", "ref", "number", "no", "subtotal", "net", "gross", "due",
        "payment", "statement", "period", "meter", "from", "to", "for", "and", "of", "in", "at",
        "on", "by", "with", "if", "you", "we", "it", "questions", "need", "moving", "smell",
        "how", "pay", "transfer", "balance", "previous", "latest", "units", "electricity",
        "gas", "water", "item", "description", "qty", "price", "rate", "standing", "charge",
        "charges", "tax"
    }
)  # fmt: skip


def _name_like(line: str) -> bool:
    """Mostly capitalised words, as a name is written (a sentence is mostly lower case)."""
    words = [w for w in re.findall(r"[^\W\d_][\w'\u2019.&-]*", line) if len(w) > 3]
    return bool(words) and sum(w[0].isupper() for w in words) >= 0.75 * len(words)


def is_organisation(name: str) -> bool:
    words = [_dotless(w) for w in name.split()]
    if not words or any(c.isdigit() for c in name):
        return False
    return words[-1] in LEGAL_FORMS or (
        len(words) > 1 and (words[0] in ORG_HEADS or any(w in ORG_NOUNS for w in words))
    )


def tidy_name(value: str) -> str:
    """A name without the punctuation around it; the dot of "Ltd." or "S.p.A." stays."""
    value = value.strip(" ,:;|·-\u2013")
    if value.endswith("."):
        last = value.split()[-1] if value.split() else ""
        if not (_dotless(last) in LEGAL_FORMS or "." in last[:-1] or len(last) <= 2):
            value = value[:-1]
    return value


_SENTENCE_GAP: Final = re.compile(
    r"(?<=[^\W\d_]{4}\.)\s+|(?:(?<=\bLtd\.)|(?<=\bInc\.)|(?<=\bCorp\.)|(?<=\bPlc\.)|(?<=\bLLC\.)|(?<=\bCo\.))\s+(?!(?:KG|AG|Ltd|Inc|LLC|GmbH)\b)"
)


def _name_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    for match in _CAPITALISED.finditer(text, start, end):
        # A sentence ends inside a run ("in Paris. The Commission"); an initial does not.
        cursor = match.start()
        for piece in _SENTENCE_GAP.split(match.group()):
            value = tidy_name(piece.rstrip(" ,-&"))
            at = text.index(piece, cursor)
            cursor = at + len(piece)
            if len(value) >= 2:
                spans.append((at, at + len(value)))
    return spans


@cache
def _lines(text: str) -> tuple[tuple[int, int], ...]:
    spans = []
    position = 0
    for line in text.split("\n"):
        spans.append((position, position + len(line)))
        position += len(line) + 1
    return tuple(spans)


def find_organisations(text: str) -> list[Candidate]:
    """Letterhead lines and their parts, and runs of capitalised words with a company's
    suffix ("Ltd", "GmbH", "S.A.") or word ("Bank", "Council")."""
    found: list[Candidate] = []
    seen: set[tuple[int, int]] = set()

    def add(start: int, end: int, shape: float) -> None:
        value = tidy_name(text[start:end])
        if not value or (start, end) in seen or not any(c.isalpha() for c in value):
            return
        if _dotless(value.split()[-1]) in DOCUMENT_WORDS:
            return  # a document's title: "Gas Bill", "INVOICE", "Your electricity bill"
        start = text.index(value, start)
        seen.add((start, start + len(value)))
        if is_organisation(value):
            # A legal form says company more surely than a word like "Gas" or "Bank".
            shape += 1.0 if _dotless(value.split()[-1]) in LEGAL_FORMS else 0.5
        found.append(
            Candidate("organisation", value, start, start + len(value), value, shape=shape)
        )

    # A letterhead is a name, not a "Label: value" line ("Subject: ...", "Date: ...").
    lines = [(s, e) for s, e in _lines(text) if text[s:e].strip()]
    for s, e in lines[:2]:
        head = text[s:e]
        if ":" in head or not _name_like(head) or _GREETING.match(head.strip()):
            continue
        if _TITLE.match(head.strip()):
            continue  # "Sig.ra Chiara Esposito": the addressee, not a letterhead
        add(s, e, 0.5)
        cursor = s
        for piece in _LINE_SPLIT.split(text[s:e]):
            at = text.index(piece, cursor, e) if piece else cursor
            if (piece and at != s) or piece:
                add(at, at + len(piece), 0.5)
            cursor = at + len(piece)
    spans = _name_spans(text, 0, len(text))
    # "Anna Schmidt of Siemens AG": the parts of a run joined by "of", "at", "and" too.
    for start, end in list(spans):
        cursor = start
        for match in _NAME_END.finditer(text, start, end):
            spans.append((cursor, match.start()))
            cursor = match.end()
        if cursor != start:
            spans.append((cursor, end))
    for start, end in spans:
        value = text[start:end]
        first = _dotless(value.split()[0])
        if is_organisation(value) and first not in _NOT_A_NAME_START:
            add(start, end, 0.0)
        elif (
            first not in _NOT_A_NAME_START
            and _trading_name(value)
            and (_after_org_cue(text, start) or _ORG_VERB.match(text, end))
        ):
            # A shop named as one ("charged by Quickcab", "GLOBEMART ONLINE charged me").
            add(start, end, 0.3)
    return found


_ORG_CUE: Final = re.compile(
    r"(?:transfer to|payable to|pay to|paid to|payment to|paid|from|at|with|by|to|an|bei|"
    r"chez|merchant|shop|store|seller|vendor|company|supplier|biller|creditor|payee|"
    r"bought from|ordered from|purchased from|purchase at|merchant name|shop name|"
    r"company name|händler|geschäft|commerçant|comercio)\s?[:=]?\s?$",
    re.IGNORECASE,
)
# What a shop does to a card, said right after its name.
_ORG_VERB: Final = re.compile(
    r",?[ \t]+(?:has[ \t]+|have[ \t]+)?(?:charged|took|billed|debited|charges|takes)\b",
    re.IGNORECASE,
)


_PRONOUNS: Final = frozenset(
    {"they", "he", "she", "we", "it", "someone", "somebody", "nobody", "everyone", "this",
     "that", "these", "those", "who", "which", "there", "then", "also", "still", "today"}
)  # fmt: skip


def _trading_name(value: str) -> bool:
    """Whether a run of capitals can be a shop's name: not a code, a month or a title."""
    words = value.split()
    if len(value) < 3 or value.upper() in CURRENCY_CODES or _dotless(value) in MONTHS:
        return False
    if _dotless(words[0]) in _PRONOUNS:
        return False  # "They took ...": the shop again, not its name
    return not (len(words) == 1 and _TITLE.fullmatch(value + " "))


def _after_org_cue(text: str, start: int) -> bool:
    return _ORG_CUE.search(text, max(0, start - 25), start) is not None


_TITLE: Final = re.compile(
    r"(?:(?<![\w])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Herrn|Frau|Mme|Mlle|M\.|Monsieur|Madame|"
    r"Mademoiselle|Sr|Sra|Srta|Señor|Señora|Dña|Dª|Don|Doña|Dhr|Mevr|Mevrouw|De heer|Mw|"
    r"Sig|Sig\.ra|Sigra|Signor|Signora|Gentile Sig|Gentile Sig\.ra|Spett\.le|Egr|Gent\.mo|"
    r"Gent\.ma|Dott|Dott\.ssa|Ing|Mag|Dipl\.-Ing|Pan|Pani|Hr|Fr|"
    r"(?i:mevrouw|meneer|de heer|monsieur|madame|herrn|herr|frau|señora|señor)"
    # Spanish "D." (don) before a full name, not an initial before a surname.
    r"|D(?=\.[ \t]+[A-ZÀ-Ý][a-zà-ÿ]+[ \t]+[A-ZÀ-Ý]))\.?[ \t]+(?:(?:&|and|und|et|y)[ \t]+)?)+"
)
_NAME_END: Final = re.compile(r"\s(?:of|and|und|the|&|for|für|at|from|with|in|on|an|y|e|et)\s")
# A label that is a whole line's head: "Customer:", "Account holder:", "From:" (a mail's).
_PERSON_LABEL: Final = re.compile(
    r"(?:(?:customer|client|account|card|policy)\s)?(?:name|customer|client|titular|holder|"
    r"cardholder|recipient|addressee|kunde|kundin|nom|nombre|nome|naam|asiakas|attn|cliente|"
    r"klant|destinatario|intestatario|titulaire|inhaber|aan|an|à|para|a la atención de|"
    r"attention|bill to|sold to|to|from|dear)",
    re.IGNORECASE,
)


def find_people(text: str) -> list[Candidate]:
    """Names after a title or a label ("Ms", "Herrn", "Customer:"), names the PII finder
    knows by their given name, and the name line that heads an address block."""
    found: list[Candidate] = []
    seen: set[tuple[int, int]] = set()

    def add(start: int, end: int, shape: float) -> None:
        # A name ends before "of", "and", "from": "John Carter of Barclays Bank".
        value = tidy_name(_NAME_END.split(text[start:end])[0])
        title = _TITLE.match(value)
        # "Mw. S. Jansen-Bakker" is S. Jansen-Bakker.
        value = value[title.end() :] if title else value
        if not value or len(value) > 60 or _dotless(value) in MONTHS:
            return
        start = text.index(value, start)
        if (start, start + len(value)) in seen or is_organisation(value):
            return
        following = text[start + len(value) :].split(maxsplit=1)
        if following and _dotless(following[0]) in LEGAL_FORMS:
            return  # "Helen Energia Oy": a company's name, not a person's
        if value.split()[0].lower().strip(".,") in _NOT_A_NAME_START:
            return
        seen.add((start, start + len(value)))
        found.append(Candidate("person", value, start, start + len(value), value, shape=shape))

    for match in _TITLE.finditer(text):
        after = match.end()
        # "Herrn\nJonas Albrecht": the name may be on the next line.
        if text[match.end() - 1] == "\n" or text[after : after + 1] == "\n":
            after += 1
        for start, end in _name_spans(text, after, _name_end(text, after))[:1]:
            if start == after:
                add(start, end, 1.0)
    for line_start, line_end in _lines(text):
        stripped = text[line_start:line_end].strip()
        if re.fullmatch(r"(?:Herrn?|Frau|Mr|Mrs|Ms|Dr)\.?", stripped):
            nxt = line_end + 1
            for start, end in _name_spans(text, nxt, _name_end(text, nxt))[:1]:
                add(start, end, 1.0)
    # A label ends with a colon, or with a run of blanks in a table ("Name      Sean").
    for match in re.finditer(r"(?m)^[ \t]*([^\n:]{2,25}?)(?::[ \t]*|[ \t]{3,})", text):
        if _PERSON_LABEL.fullmatch(match[1].strip()):
            for start, end in _name_spans(text, match.end(), _name_end(text, match.end()))[:1]:
                if start == match.end():
                    add(start, end, 0.8)
    for candidate in find_pii_kind(text, "person", "person"):
        add(candidate.start, candidate.end, 0.6)
    _address_block_names(text, add)
    return found


# A name is read within this many characters of where it starts: a text of titles
# ("Mr Mr Mr ...") then costs time linear in its length.
NAME_CHARS: Final = 80


def _name_end(text: str, start: int) -> int:
    """Where a name starting at `start` must end: its line's end, or NAME_CHARS on."""
    line_end = text.find("\n", start, start + NAME_CHARS)
    return min(len(text), start + NAME_CHARS) if line_end < 0 else line_end


def _address_block_names(text: str, add: Any) -> None:
    """A line of two to five capitalised words over a line that starts or ends with a
    house number: how a letter is addressed."""
    lines = _lines(text)
    for (s, e), (ns, ne) in itertools.pairwise(lines):
        line, below = text[s:e].strip(), text[ns:ne].strip()
        words = line.split()
        if not 2 <= len(words) <= 5 or not below or any(c.isdigit() for c in line):
            continue
        if not re.search(
            r"^\d{1,4}\w?\b|\b\d{1,4}\w?(?:,.*)?$|^(?:Flat|Apt|Unit|Rua|C/|Calle|Via|Rue)\b", below
        ):
            continue
        if ":" in line or len(_LINE_SPLIT.split(line)) > 1:
            continue  # a "Label: value" line, which the labels' reading takes
        if all(w[0].isupper() or w.lower() in _PARTICLES for w in words):
            # "Mr R. van der Meulen": the name without its title.
            title = _TITLE.match(text, s)
            add(title.end() if title else s, e, 0.7)


_PARTICLES: Final = frozenset(
    {"van", "der", "den", "de", "von", "da", "do", "dos", "la", "le", "du"}
)


def find_places(text: str) -> list[Candidate]:
    """Towns after a postcode, and capitalised words after "in", "at", "from", "to"."""
    found = []
    for match in re.finditer(
        r"(?<![\w])\d{4,5}(?: ?[A-Z]{2})?[ \t]+([A-ZÀ-Ý][^\W\d_]+(?:[ -][A-ZÀ-Ý][^\W\d_]+)?)", text
    ):
        found.append(
            Candidate("place", match[1], match.start(1), match.end(1), match[1], shape=0.8)
        )
    for match in re.finditer(
        r"(?<![\w])(?:in|at|from|to|near|nach|aus|bei)[ \t]+"
        r"((?:[A-ZÀ-Ý][^\W\d_]+)(?:[ -][A-ZÀ-Ý][^\W\d_]+)?)",
        text,
    ):
        found.append(
            Candidate("place", match[1], match.start(1), match.end(1), match[1], shape=0.3)
        )
    for c in find_countries(text, []):
        found.append(Candidate("place", c.text, c.start, c.end, c.text, shape=0.8))
    return found


# Where an address may start: after a comma, colon or dash (a name before it), or a line's
# start.
_ADDRESS_START: Final = re.compile(
    r"(?:^|(?<=\n)|(?<=, )|(?<=: )|(?<= - ))(?=[^\W_])", re.MULTILINE
)
# Where it ends: a sentence's end (not "ul." or "St."), a semicolon, a line's end, a dash.
_ADDRESS_STOP: Final = re.compile(r"(?<=[^\W\d_]{3})\.(?:\s|$)|;|\n| [-\u2013] |$")


def find_addresses(text: str) -> list[Candidate]:
    """Postal addresses written on one line: a part with a house number, then the town
    ("7 Via Roma, Milan", "Hauptstraße 12, 20095 Hamburg", "ul. Długa 5, Gdańsk")."""
    found = [
        Candidate("place", c.text, c.start, c.end, c.text, shape=1.0)
        for c in find_pii_kind(text, "address", "place")
    ]
    for start_match in _ADDRESS_START.finditer(text):
        start = start_match.start()
        stop = _ADDRESS_STOP.search(text, start)
        end = stop.start() if stop else len(text)
        parts = text[start:end].split(", ")
        if not 2 <= len(parts) <= 4 or any(not 2 <= len(p) <= 40 for p in parts):
            continue
        first, last = parts[0], parts[-1]
        if not (re.search(r"\b\d{1,4}[a-zA-Z]?\b", first) and re.search(r"[^\W\d_]{2}", first)):
            continue
        if not (last[0].isupper() or last[0].isdigit()) or ":" in first:
            continue
        value = text[start:end].rstrip(" .,")
        found.append(Candidate("place", value, start, start + len(value), value, shape=0.8))
    return found


_LABEL_VALUE: Final = re.compile(r"(?m)^[ \t]*([^\n:]{2,40}?)[ \t]*:[ \t]*([^\n]{1,80}?)[ \t]*$")


def find_labelled(text: str) -> list[Candidate]:
    """ "Label: value" lines: the value, whatever it looks like, for a field its label names."""
    return [
        Candidate("text", m[2], m.start(2), m.end(2), m[2], shape=0.5)
        for m in _LABEL_VALUE.finditer(text)
    ]


# A sentence's end, read backwards: a blank after a full stop that ends a word.
# A number ends a sentence as well as a word does ("... on 22/08/2026. Payment to ...").
_SENTENCE_END: Final = re.compile(r"\s[.!?](?=[^\W\d_]{3}|\d)|;")


def label_before(text: str, start: int) -> str:
    """The words that name a value: its line up to it, and the line above when the value
    opens its line (a label written over its value)."""
    line_start = text.rfind("\n", 0, start) + 1
    label = text[line_start:start]
    # An earlier sentence labels nothing here ("I dispute a charge. On 3 March ...").
    # A full stop right before the value ends an abbreviation ("Kundennr. 55 102 883"),
    # not a sentence. A form's fields stand between semicolons: "date=...; received=...".
    backwards = label[::-1]
    sentence = next(
        (
            m
            for m in _SENTENCE_END.finditer(backwards)
            if m.start() > 0 and _word_before(backwards, m.end()) not in ABBREVIATIONS
        ),
        None,
    )
    if sentence is not None:
        label = label[len(label) - sentence.start() :]
    if sum(c.isalpha() for c in label) < 3 and line_start > 0:
        above = text.rfind("\n", 0, line_start - 1) + 1
        label = text[above : line_start - 1] + " " + label
    return label[-60:].lower()


# Words written with a full stop that ends no sentence: "total (incl. VAT): 39.99 EUR".
ABBREVIATIONS: Final = frozenset(
    {
        "incl", "excl", "inkl", "zzgl", "approx", "ca", "no", "nr", "ref", "tel", "vs", "etc",
        "bzw", "ggf", "min", "max", "avg", "acc", "acct", "cust", "st", "dept", "co", "corp",
    }
)  # fmt: skip


def _word_before(backwards: str, at: int) -> str:
    """The word written before a full stop, read in the reversed label from `at`."""
    found = re.match(r"[^\W\d_]+", backwards[at:])
    return found.group()[::-1].lower() if found else ""


def label_after(text: str, end: int) -> str:
    """The rest of a value's line: "am 28.01.2025 per SEPA-Lastschrift eingezogen"."""
    line_end = text.find("\n", end)
    return text[end : len(text) if line_end < 0 else line_end][:40].lower()


def line_of(text: str, start: int) -> int:
    return text.count("\n", 0, start)

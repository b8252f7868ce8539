"""Email addresses and phone numbers.

An email address is clear-cut. A phone number is any run of digits with the
right separators, which is also what dates, amounts, IBAN groups and order
numbers are; so a run is a phone number only by its shape (an international
prefix, a national trunk 0, US (555) 123-4567) and its digit count, or a cue
("Tel.", "phone", "Handy") just before it, and never after an order or account
cue or inside an IBAN-like group.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from slmesh.runtime.pii.context import last_cue, words
from slmesh.runtime.pii.kinds import PiiSpan

# The local part starts where no local character stands before it, so a long run
# without an `@` fails after at most 64 characters at its first position only.
_EMAIL: Final = re.compile(
    r"(?<![\w.%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@"
    r"(?:[A-Za-z0-9\-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w\-])"
)

# A run of digits and the separators phone numbers are written with, starting at
# a `+`, a `(` or a digit that no word or number is glued to. Bounded: 26 characters.
_RUN: Final = re.compile(r"(?<![\w+\-/.,])(?:\+|\(\+?)?\d[\d \-./()]{4,24}\d(?!\w)")

_PHONE_CUE: Final = words(
    "tel", "tel.", "tel.:", "telefon", "telephone", "phone", "phone no", "ph", "call",
    "calling", "mobile", "mobil", "mob", "cell", "cellphone", "handy", "fax", "telefax",
    "rufnummer", "telefonnummer", "handynummer", "mobilnummer", "erreichbar", "anrufen",
    "rufen", "whatsapp", "hotline", "durchwahl", "phone number", "reach me", "text me",
    "contact number", "tel-nr", "tel.-nr", "tel.-nr.", "fon", "☎",
)  # fmt: skip
# A number right after one of these is the thing they name, not a phone number.
_NUMBER_CUE: Final = words(
    "order", "order no", "invoice", "invoice no", "rechnung", "rechnungsnummer",
    "bestellung", "bestellnummer", "auftrag", "auftragsnummer", "kundennummer", "kunden-nr",
    "customer no", "customer number", "account", "konto", "kontonummer", "blz", "artikel",
    "article", "item", "sku", "ref", "reference", "referenz", "ticket", "case", "vorgang",
    "aktenzeichen", "tracking", "sendungsnummer", "iban", "bic", "card", "karte", "serial",
    "seriennummer", "version", "policy", "vertrag",
    "vertragsnummer", "versicherungsnummer", "steuer-id", "steuernummer", "ssn", "pin", "tan",
    "code", "passcode", "password", "passwort", "kennwort", "puk", "bestell-nr", "rechnungs-nr",
    "auftrags-nr", "kd.-nr", "kd-nr", "vertrags-nr", "artikel-nr", "art.-nr", "order #",
    "invoice #", "order no.", "ref.", "az.",
)  # fmt: skip
# A cue in an earlier sentence says nothing of this number ("… zur Rechnung. Nummer: 0351 …").
_SENTENCE_END: Final = re.compile(r"[.!?]\s|\n")
_ABBREVIATION: Final = re.compile(r"(?:^|[\-.])[A-Za-z]{1,3}$")
_DATE_LIKE: Final = re.compile(r"\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}")
# "DE89 3704 ..." just before the run: the run is the rest of an IBAN.
_IBAN_HEAD: Final = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4})*+ ?$")
_US: Final = re.compile(r"(?:\(\d{3}\) ?|\d{3}[\-. ])\d{3}[\-. ]\d{4}")
# Groups of exactly four, like IBAN and card groups, and unlike phone numbers.
_FOURS: Final = re.compile(r"\d{4}(?:([ \-])\d{4})(?:\1\d{4})++(?:\1\d{1,4})?")


def find_emails(text: str) -> Iterator[PiiSpan]:
    for match in _EMAIL.finditer(text):
        yield PiiSpan("email", match.start(), match.end())


def _digits(run: str) -> int:
    return sum(c.isdigit() for c in run)


def _phone_shaped(run: str, cued: bool) -> bool:
    digits = _digits(run)
    compact = re.sub(r"[^\d+]", "", run)
    if _FOURS.fullmatch(run) and not run.startswith("+"):
        return False  # grouped in fours like an IBAN, card or serial, and unlike a phone number
    if run.startswith(("+", "(+")) or compact.startswith("00"):
        # International: a country code and a national number, 8-15 digits in all (E.164).
        return 8 <= digits <= 15 + (2 if compact.startswith("00") else 0)
    if _US.fullmatch(run):
        return True
    if _DATE_LIKE.fullmatch(run):
        return False
    if compact.startswith("0"):
        # A national number with its trunk 0 (DE, UK, FR, NL, ...): written in groups,
        # or a mobile number (015x/016x/017x, 07xxx) written in one piece.
        grouped = any(c in run for c in " -/()")
        mobile = re.fullmatch(r"01[5-7]\d{8,9}|07\d{9}", compact) is not None
        return 9 <= digits <= 12 and (grouped or mobile or cued)
    # No prefix: only where a cue says it is a phone number.
    return cued and 6 <= digits <= 12


def find_phones(text: str) -> Iterator[PiiSpan]:
    for match in _RUN.finditer(text):
        start, end = match.span()
        run = match.group()
        # A bracket only counts when it is closed inside the run.
        if run.count("(") != run.count(")"):
            # A bracket only counts when it is closed inside the run: "(+49 621 987 654)"
            # is a number in brackets, "030 (office" a number and a word.
            if run.startswith("("):
                run = run[1:]
                start += 1
            while run.count("(") != run.count(")") and run:
                run = run[:-1].rstrip(" -./(")
            if not run:
                continue
            end = start + len(run)
        if _IBAN_HEAD.search(text, max(0, start - 40), start) is not None:
            continue
        # The nearer cue says what the number is: "call …, PIN 4471 22", "Tel.-Nr. 030 …".
        phone_cue = last_cue(text, start, _PHONE_CUE, 30)
        number_cue = last_cue(text, start, _NUMBER_CUE, 20)
        if number_cue is not None and (phone_cue is None or number_cue.end() > phone_cue.end()):
            # Unless a sentence ended between them ("… zur Rechnung. Nummer: 0351 …"); a dot
            # right after an abbreviation is its own ("Bestell-Nr. 0170 …").
            after = number_cue.end() + bool(_ABBREVIATION.search(number_cue.group()))
            if not _SENTENCE_END.search(text, after, start):
                continue
        cued = phone_cue is not None
        if _phone_shaped(run, cued):
            yield PiiSpan("phone", start, end)

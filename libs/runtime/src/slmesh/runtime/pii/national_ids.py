"""National identifiers: US SSN, UK NINO, German tax id and identity card, Dutch BSN.

Each is believed by its own rules (SSN number ranges, NINO prefixes, the tax
id's check digit and repetition rule, the ICAO check digit). Where the rules
alone would take product codes or plain numbers too (a nine-character card
serial without its check digit, nine bare digits), a cue word must stand
just before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from slmesh.runtime.pii.checks import (
    ausweis_serial,
    bsn_valid,
    icao_check_digit,
    nino_valid,
    ssn_valid,
    steuer_id_valid,
)
from slmesh.runtime.pii.context import cue_before, words
from slmesh.runtime.pii.kinds import PiiSpan

_SSN: Final = re.compile(r"(?<![\w\-])(\d{3})([\- ])(\d{2})\2(\d{4})(?![\w\-])")
_SSN_BARE: Final = re.compile(r"(?<![\w\-])\d{9}(?![\w\-])")
_SSN_CUE: Final = words("ssn", "social security", "social security number", "ss#", "ssn#")

_NINO: Final = re.compile(r"(?<![\w])[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![\w])")
_NINO_CUE: Final = words("ni", "nino", "national insurance", "ni number", "ni no", "insurance no")

# 11 digits, written in one piece or in the groups of the tax office's letters.
_STEUER_ID: Final = re.compile(r"(?<![\w\-.,/])\d{2} ?\d{3} ?\d{3} ?\d{3}(?![\w\-]|[.,]\d)")

# The card serial: nine characters of its alphabet and, when given, the check digit.
_AUSWEIS: Final = re.compile(
    r"(?<![\w\-])[CFGHJKLMNPRTVWXYZ][0-9CFGHJKLMNPRTVWXYZ]{8}(\d?)(?![\w\-])"
)
_AUSWEIS_CUE: Final = words(
    "ausweis", "personalausweis", "ausweisnummer", "ausweis-nr", "ausweis-nr.",
    "personalausweisnummer", "id card", "identity card", "id-karte", "id number",
    "reisepass", "passnummer", "pass-nr", "pass-nr.", "passport", "passport no",
    "passport number", "dokumentennummer", "document number", "seriennummer des ausweises",
)  # fmt: skip

_BSN: Final = re.compile(r"(?<![\w\-.])\d{4}\.?\d{2}\.?\d{3}(?![\w\-]|[.,]\d)")
_BSN_CUE: Final = words("bsn", "burgerservicenummer", "citizen service number", "sofinummer")


def _compact(value: str) -> str:
    return re.sub(r"[ \-.]", "", value)


def find_national_ids(text: str) -> Iterator[PiiSpan]:
    for match in _SSN.finditer(text):
        spaced = match.group(2) == " "
        if ssn_valid(match.group(1), match.group(3), match.group(4)) and (
            not spaced or cue_before(text, match.start(), _SSN_CUE)
        ):
            yield PiiSpan("national_id", match.start(), match.end())
    for match in _SSN_BARE.finditer(text):
        digits = match.group()
        if cue_before(text, match.start(), _SSN_CUE, 25) and ssn_valid(
            digits[:3], digits[3:5], digits[5:]
        ):
            yield PiiSpan("national_id", match.start(), match.end())
    for match in _NINO.finditer(text):
        spaced = " " in match.group()
        if nino_valid(_compact(match.group())) and (
            spaced or cue_before(text, match.start(), _NINO_CUE)
        ):
            yield PiiSpan("national_id", match.start(), match.end())
    for match in _STEUER_ID.finditer(text):
        if steuer_id_valid(_compact(match.group())):
            yield PiiSpan("national_id", match.start(), match.end())
    for match in _AUSWEIS.finditer(text):
        serial, check = match.group()[:9], match.group(1)
        if not ausweis_serial(serial):
            continue
        if check:
            # With a tenth character, the check digit decides.
            if icao_check_digit(serial) == int(check):
                yield PiiSpan("national_id", match.start(), match.end())
        elif cue_before(text, match.start(), _AUSWEIS_CUE):
            yield PiiSpan("national_id", match.start(), match.end())
    for match in _BSN.finditer(text):
        if bsn_valid(_compact(match.group())) and cue_before(text, match.start(), _BSN_CUE):
            yield PiiSpan("national_id", match.start(), match.end())

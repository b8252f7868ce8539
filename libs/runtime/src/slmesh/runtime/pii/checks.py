"""The check digits and number rules that tell an identifier from any run of digits.

Each function takes the compact value (no spaces or dashes) and answers whether
it could have been issued; none of them keeps or reports the value.
"""

from __future__ import annotations

from typing import Final

# ISO 13616 IBAN lengths by country (the SWIFT IBAN registry's lengths, written out here).
IBAN_LENGTHS: Final[dict[str, int]] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
    "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def _alnum_value(char: str) -> int:
    """0-9 for digits, 10-35 for A-Z (IBAN and ICAO agree on this)."""
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def iban_valid(compact: str) -> bool:
    """ISO 13616: the country's length, and mod 97 of the rearranged number is 1."""
    if len(compact) != IBAN_LENGTHS.get(compact[:2], -1) or not compact[2:4].isdigit():
        return False
    if not (compact.isascii() and compact.isalnum() and compact == compact.upper()):
        return False
    rearranged = compact[4:] + compact[:4]
    remainder = 0
    # Digit by digit (letters count as two): no 30-digit integer, and linear time.
    for char in rearranged:
        for digit in str(_alnum_value(char)):
            remainder = (remainder * 10 + int(digit)) % 97
    return remainder == 1


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number carries in its last digit."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# Issuer prefixes (IIN ranges) and the lengths their cards have.
_CARD_RANGES: Final[tuple[tuple[int, int, frozenset[int]], ...]] = (
    # (first prefix, last prefix, lengths), prefixes compared at their own length.
    (4, 4, frozenset({13, 16, 19})),  # Visa
    (51, 55, frozenset({16})),  # Mastercard
    (2221, 2720, frozenset({16})),  # Mastercard 2-series
    (34, 34, frozenset({15})),  # American Express
    (37, 37, frozenset({15})),
    (300, 305, frozenset({14, 16, 19})),  # Diners Club
    (36, 36, frozenset({14, 16, 19})),
    (38, 39, frozenset({14, 16, 19})),
    (6011, 6011, frozenset({16, 17, 18, 19})),  # Discover
    (644, 649, frozenset({16, 17, 18, 19})),
    (65, 65, frozenset({16, 17, 18, 19})),
    (3528, 3589, frozenset({16, 17, 18, 19})),  # JCB
    (62, 62, frozenset({16, 17, 18, 19})),  # UnionPay
    (50, 50, frozenset({12, 13, 14, 15, 16, 17, 18, 19})),  # Maestro
    (56, 58, frozenset({12, 13, 14, 15, 16, 17, 18, 19})),
    (63, 63, frozenset({12, 13, 14, 15, 16, 17, 18, 19})),
    (67, 67, frozenset({12, 13, 14, 15, 16, 17, 18, 19})),
    (2200, 2204, frozenset({16, 17, 18, 19})),  # Mir
)


def card_issued(digits: str) -> bool:
    """A known issuer's prefix, a length that issuer uses, and the Luhn check."""
    for first, last, lengths in _CARD_RANGES:
        width = len(str(first))
        if len(digits) in lengths and first <= int(digits[:width]) <= last:
            return luhn_valid(digits)
    return False


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """US SSN rules: no area 000, 666 or 9xx, no group 00, no serial 0000."""
    return (
        area not in ("000", "666")
        and not area.startswith("9")
        and group != "00"
        and serial != "0000"
    )


# HMRC: never the first letter D F I Q U V, never the second D F I O Q U V,
# and these pairs are not allocated.
_NINO_FIRST: Final = frozenset("ABCEGHJKLMNOPRSTWXYZ")
_NINO_SECOND: Final = frozenset("ABCEGHJKLMNPRSTWXYZ")
_NINO_UNUSED: Final = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


def nino_valid(compact: str) -> bool:
    """UK National Insurance number: two prefix letters, six digits, suffix A-D."""
    return (
        len(compact) == 9
        and compact[0] in _NINO_FIRST
        and compact[1] in _NINO_SECOND
        and compact[:2] not in _NINO_UNUSED
        and compact[2:8].isdigit()
        and compact[8] in "ABCD"
    )


def steuer_id_valid(digits: str) -> bool:
    """German tax id (Steuerliche Identifikationsnummer): 11 digits, no leading 0.

    In the first ten digits exactly one digit is repeated (twice, or three times
    but not three in a row), and the eleventh is the ISO 7064 MOD 11,10 check digit.
    """
    if len(digits) != 11 or not digits.isdigit() or digits[0] == "0":
        return False
    body = digits[:10]
    counts = sorted((body.count(d) for d in set(body)), reverse=True)
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] > 1):
        return False
    if counts[0] == 3 and any(body[i] == body[i + 1] == body[i + 2] for i in range(8)):
        return False
    product = 10
    for char in body:
        total = (int(char) + product) % 10 or 10
        product = (total * 2) % 11
    check = 11 - product
    return (0 if check == 10 else check) == int(digits[10])


# ICAO 9303 check digits weigh the characters 7, 3, 1, 7, 3, 1, ...
_ICAO_WEIGHTS: Final = (7, 3, 1)


def icao_check_digit(value: str) -> int:
    return sum(_alnum_value(c) * _ICAO_WEIGHTS[i % 3] for i, c in enumerate(value)) % 10


# German identity card and passport serials (since 2010): letters without vowels
# or lookalikes, and digits.
AUSWEIS_ALPHABET: Final = frozenset("0123456789CFGHJKLMNPRTVWXYZ")


def ausweis_serial(value: str) -> bool:
    """Nine characters of the serial alphabet, the first a letter (the issuing authority's)."""
    return (
        len(value) == 9
        and value[0].isalpha()
        and all(c in AUSWEIS_ALPHABET for c in value)
        and any(c.isdigit() for c in value)
    )


def bsn_valid(digits: str) -> bool:
    """Dutch citizen service number (BSN): nine digits passing the "elfproef"."""
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    total = sum(int(c) * w for c, w in zip(digits[:8], range(9, 1, -1), strict=True))
    return (total - int(digits[8])) % 11 == 0

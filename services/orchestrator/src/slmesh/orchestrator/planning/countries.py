"""How people name the EU member states in a request: English names, native names, adjectives."""

from __future__ import annotations

import re

# ISO 3166-1 alpha-2 code -> names and adjectives a request may use (lower case).
MEMBER_STATES: dict[str, tuple[str, ...]] = {
    "AT": ("austria", "austrian", "österreich"),
    "BE": ("belgium", "belgian", "belgië", "belgique"),
    "BG": ("bulgaria", "bulgarian"),
    "HR": ("croatia", "croatian", "hrvatska"),
    "CY": ("cyprus", "cypriot"),
    "CZ": ("czechia", "czech republic", "czech"),
    "DK": ("denmark", "danish", "danmark"),
    "EE": ("estonia", "estonian", "eesti"),
    "FI": ("finland", "finnish", "suomi"),
    "FR": ("france", "french"),
    "DE": ("germany", "german", "deutschland"),
    "GR": ("greece", "greek", "hellas"),
    "HU": ("hungary", "hungarian", "magyarország"),
    "IE": ("ireland", "irish", "éire"),
    "IT": ("italy", "italian", "italia"),
    "LV": ("latvia", "latvian", "latvija"),
    "LT": ("lithuania", "lithuanian", "lietuva"),
    "LU": ("luxembourg", "luxembourgish"),
    "MT": ("malta", "maltese"),
    "NL": ("netherlands", "the netherlands", "holland", "dutch", "nederland"),
    "PL": ("poland", "polish", "polska"),
    "PT": ("portugal", "portuguese"),
    "RO": ("romania", "romanian", "românia"),
    "SK": ("slovakia", "slovak", "slovensko"),
    "SI": ("slovenia", "slovenian", "slovenija"),
    "ES": ("spain", "spanish", "españa"),
    "SE": ("sweden", "swedish", "sverige"),
}

_NAME_TO_CODE = {name: code for code, names in MEMBER_STATES.items() for name in names}
# Longest names first so "czech republic" wins over "czech".
_NAMES = re.compile(
    r"\b(" + "|".join(re.escape(n) for n in sorted(_NAME_TO_CODE, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
# Codes only in upper case: "IT" is Italy, "it" is a pronoun. EL is Greece's VAT code.
_CODES = re.compile(r"\b(" + "|".join([*MEMBER_STATES, "EL"]) + r")\b")
_ALL = re.compile(
    r"\b(all|every|each)\b.{0,40}\b(eu|european union|member states?|countries|states)\b"
    r"|\b(eu|european union)[- ]wide\b",
    re.IGNORECASE,
)


def mentioned_countries(text: str) -> list[str]:
    """Member-state codes named in `text`, in order of first mention, without repeats."""
    found: list[tuple[int, str]] = []
    for m in _NAMES.finditer(text):
        found.append((m.start(), _NAME_TO_CODE[m.group(1).lower()]))
    for m in _CODES.finditer(text):
        found.append((m.start(), "GR" if m.group(1) == "EL" else m.group(1)))
    return list(dict.fromkeys(code for _, code in sorted(found)))


def asks_for_all(text: str) -> bool:
    return _ALL.search(text) is not None

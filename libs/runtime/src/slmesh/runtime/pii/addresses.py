"""Postal addresses: a street with its house number, and the postal code and town after it.

English streets are "<number> <Name> <Street|Road|Ave|…>"; German ones are
"<Name>straße <number>" (or weg, platz, allee, gasse, ring, damm, ufer, …),
"<Berliner> Straße <number>", and "Am/An der/Im <Name> <number>" — the last
only where an address is said to follow or a postal code and town come after
it, since "Am Montag 12 Leute" has the same shape. A postal code and town
alone ("10115 Berlin") are an address only after an address cue.
One span covers the street and the postal code and town that follow it on
the same or the next line: an address is one datum.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from slmesh.runtime.pii.context import cue_before, words
from slmesh.runtime.pii.kinds import PiiSpan

# A capitalised word of a street's name (letters, dots and hyphens: "Dr.-Wilhelm-Külz").
_NAME: Final = r"[A-ZÄÖÜ][\wäöüß'\u2019.\-]{0,40}"
# House numbers: 12, 12a, 12 a, 12-14, 12/1; German ones stay under 1000, so a year is none.
_NUMBER: Final = r"\d{1,3}(?:\s?[a-zA-Z](?![\w]))?(?:\s?[\-/\u2013]\s?\d{1,3}[a-zA-Z]?)?(?!\d)"
# No unit, time or amount after the number: "Arbeitsplatz 3 Minuten", "Wall 5 %".
_NOT_AFTER_NUMBER: Final = (
    r"(?![\d,.]\d|\s?(?:%|€|Uhr|Min|Std|Stunden|Tage|Jahre|km|m\b|Euro|EUR|x\b))"
)

# Either case: "Lindenstraße", and after a hyphen "Karl-Marx-Allee".
_SUFFIX_WORDS: Final = (
    "straße", "strasse", "str.", "weg", "platz", "allee", "gasse", "ring", "damm", "ufer",
    "chaussee", "steig", "pfad", "graben", "kamp", "stieg", "wall", "markt", "promenade", "zeile",
)  # fmt: skip
_STREET_SUFFIX: Final = "(?:{})".format(
    "|".join(f"[{w[0]}{w[0].upper()}]{re.escape(w[1:])}" for w in _SUFFIX_WORDS)
)
_STREET_WORD: Final = (
    r"(?:Straße|Strasse|Str\.|Weg|Platz|Allee|Gasse|Ring|Damm|Ufer|Chaussee|Steig|Pfad"
    r"|Graben|Markt|Promenade|Landstraße|Brücke)"
)
_DE_STREET: Final = re.compile(
    r"(?<![\w\-])(?:"
    # Lindenstraße 5, Karl-Marx-Allee 12a, Dr.-Külz-Str. 3
    rf"[A-ZÄÖÜ][\w'\u2019.\-]{{0,40}}{_STREET_SUFFIX}"
    # Berliner Straße 12, Alte Landstraße 4
    rf"|(?:{_NAME}\s){{1,2}}{_STREET_WORD}"
    # Straße des 17. Juni 135
    rf"|Straße\sdes\s\d{{1,2}}\.\s{_NAME}"
    rf")\s{{0,2}}{_NUMBER}{_NOT_AFTER_NUMBER}",
)
# Am Markt 3, An der Alster 12, Im Winkel 4, Unter den Linden 77, Zur Mühle 2.
_DE_PREPOSITION_STREET: Final = re.compile(
    r"(?<![\w\-])(?:Am|An\sder|An\sden|Auf\sdem|Auf\sder|Im|In\sder|In\sden|Zum|Zur|Unter\sden"
    rf"|Hinter\sder|Hinter\sdem|Vor\sdem|Bei\sder|Beim)\s(?:{_NAME}\s){{1,2}}"
    rf"{_NUMBER}{_NOT_AFTER_NUMBER}(?!\w)"
)
_EN_STREET: Final = re.compile(
    rf"(?<![\w\-,.])(?P<number>\d{{1,5}}[A-Za-z]?(?:-\d{{1,5}})?),?\s"
    # 455 West 57th Street
    rf"(?:(?:{_NAME}|\d{{1,3}}(?:st|nd|rd|th))\s){{1,3}}"
    r"(?:Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Drive|Dr\.?|Way|Boulevard|Blvd\.?"
    r"|Court|Ct\.?|Place|Pl\.?|Terrace|Close|Crescent|Square|Sq\.?|Parkway|Pkwy\.?"
    r"|Highway|Hwy\.?|Row|Gardens|Grove|Hill|Mews|Circle|Cir\.?|Trail|Park|Green"
    r"|Parade|Wharf|Quay|Embankment)"
    r"(?:\s(?:NW|NE|SW|SE|N|S|E|W)\b)?(?![\w])"
)
# What may follow a street: a flat or suite, then postal code and town.
_UNIT: Final = re.compile(
    r"[,\s]\s{0,2}(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Floor|Wohnung|Whg\.?|App\.?|"
    r"(?:\d{1,2}\.\s?)?(?:OG|EG|Etage|Stock))\s?#?\s?[\w\-]{0,6}"
)
# A town: one word ("Berlin-Mitte"), maybe after "Bad"/"St.", maybe with its river or region.
_DE_TOWN: Final = (
    r"(?:(?:Bad|Sankt|St\.|Neu|Klein|Groß)\s)?[A-ZÄÖÜ][\w\-]{1,40}"
    r"(?:\s(?:am|an\sder|im|in\sder|ob\sder|bei|vor\sder)\s[A-ZÄÖÜ][\w\-]{1,30}"
    r"|\sa\.\s?[A-Z]\.|\s\([A-ZÄÖÜ][\w\-]{1,20}\)|\s[A-Z]\.[A-Z]\.)?"
)
_POSTAL_TOWN: Final = re.compile(
    r"(?:,\s{0,3}|\s{1,3}|\s{0,2}\n\s{0,4})(?:"
    # 10115 Berlin, D-10115 Berlin, 1010 Wien, 8001 Zürich
    rf"(?:D-|DE-|A-|AT-|CH-)?\d{{4,5}}\s{_DE_TOWN}"
    # London SW1A 2AA, SW1A 2AA
    r"|(?:[A-Z][a-z]{2,30}(?:\s[A-Z][a-z]{2,30})?,?\s)?[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}(?![\w])"
    # Springfield, IL 62704; Washington, DC 20500-0003
    r"|[A-Z][a-z]{2,30}(?:\s[A-Z][a-z]{2,30}){0,2},\s?[A-Z]{2}\s\d{5}(?:-\d{4})?(?![\w])"
    # Manchester (a town alone, after a comma)
    r"|(?<=,\s)(?P<town>[A-ZÄÖÜ][a-zäöüß]{2,30}(?:\s[A-Z][a-z]{2,30})?)(?=[\s.;)]|$)"
    r")"
)
# A postal code and town alone: only after one of these.
_ADDRESS_CUE: Final = words(
    "address", "adresse", "anschrift", "wohnhaft", "wohnhaft in", "wohnt in", "lives in",
    "lives at", "living at", "resides", "residing", "located at", "wohnort", "plz", "ort",
    "postanschrift", "lieferadresse", "rechnungsadresse", "billing address", "shipping address",
    "delivery address", "home address", "mailing address", "postal address", "zip",
    "postcode", "post code", "wohnhaft:", "domicile",
)  # fmt: skip
_POSTAL_TOWN_ALONE: Final = re.compile(
    rf"(?<![\w\-])(?:D-|DE-|A-|AT-|CH-)?\d{{5}}\s{_DE_TOWN}"
    r"|(?<![\w])[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}(?![\w])"
)
_PO_BOX: Final = re.compile(
    r"(?<![\w])(?:Postfach|P\.?\s?O\.?\s?Box|PO\sBox)\s\d{1,6}(?:\s\d{2}){0,3}(?![\w])",
    re.IGNORECASE,
)
# Words that are no town after a postal code ("10115 Stück", "12345 Euro").
_NOT_TOWNS: Final = frozenset(
    {"Stück", "Euro", "EUR", "Dollar", "Punkte", "Kunden", "Mitarbeiter", "Einwohner", "Jahre",
     "Tage", "Items", "Units", "Users", "Nutzer", "Seiten", "Pages", "Kilometer", "Meter",
     "Total", "Tel", "Telefon", "Phone", "Fax", "Email", "Mail", "Please", "Bitte", "Thanks",
     "Danke", "The", "Der", "Die", "Das", "Und", "And", "Ich", "Wir", "Sie", "We", "You",
     "Regards", "Grüße", "Best", "Kind", "Viele", "Mit", "With", "Tax", "Amount", "Betrag",
     "Invoice", "Rechnung", "Order", "Bestellung", "Due", "Datum", "Date"}
)  # fmt: skip
_COUNTRY: Final = re.compile(
    r",?\s(?:Germany|Deutschland|Austria|Österreich|Switzerland|Schweiz|UK|United\sKingdom"
    r"|USA|United\sStates|England|Scotland|Wales|Netherlands|France|Italy|Spain)(?![\w])"
)


def _extend(text: str, end: int) -> int:
    """The end of the address that begins with a street ending at `end`."""
    unit = _UNIT.match(text, end)
    if unit is not None:
        end = unit.end()
    town = _POSTAL_TOWN.match(text, end)
    if town is not None and _town_ok(town.group()):
        end = town.end()
        # A country after the town: ", Germany", ", Deutschland".
        country = _COUNTRY.match(text, end)
        if country is not None:
            end = country.end()
    return end


def _town_ok(found: str) -> bool:
    words_found = found.replace(",", " ").split()
    return not any(w in _NOT_TOWNS for w in words_found)


def find_addresses(text: str) -> Iterator[PiiSpan]:
    for pattern in (_DE_STREET, _EN_STREET):
        for match in pattern.finditer(text):
            yield PiiSpan("address", match.start(), _extend(text, match.end()))
    for match in _DE_PREPOSITION_STREET.finditer(text):
        end = _extend(text, match.end())
        # "Am Montag 12 Leute" has this shape: a postal code after it, or a cue before it.
        if (end > match.end() and re.search(r"\d{4,5}|[A-Z]\d", text[match.end() : end])) or (
            cue_before(text, match.start(), _ADDRESS_CUE)
        ):
            yield PiiSpan("address", match.start(), end)
    for match in _POSTAL_TOWN_ALONE.finditer(text):
        if cue_before(text, match.start(), _ADDRESS_CUE, 30) and _town_ok(match.group()):
            yield PiiSpan("address", match.start(), match.end())
    for match in _PO_BOX.finditer(text):
        yield PiiSpan("address", match.start(), _extend(text, match.end()))

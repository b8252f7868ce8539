"""find_pii by kind, in English and German: what must be found, and what must not.

Each found example is written as markup (`[[kind:value]]`, eval/pii_dataset.py):
the test asserts exactly the marked spans are found, nothing more.
"""

from __future__ import annotations

import itertools

import pytest

from eval.pii_dataset import parse_markup
from slmesh.runtime.pii import PiiKind, PiiSpan, find_pii


def spans_of(markup: str) -> tuple[str, list[PiiSpan]]:
    [example] = parse_markup(f"=== t en\n{markup}")
    return example.text, [PiiSpan(e.kind, e.start, e.end) for e in example.entities]


def shown(text: str, spans: list[PiiSpan]) -> list[tuple[PiiKind, str]]:
    return [(s.kind, text[s.start : s.end]) for s in spans]


def assert_finds(markup: str) -> None:
    text, expected = spans_of(markup)
    assert shown(text, find_pii(text)) == shown(text, expected)


@pytest.mark.parametrize(
    "markup",
    [
        "Write to [[email:jane.doe+billing@example.co.uk]].",
        "E-Mail: [[email:m.mueller@firma-nord.de]]",
        "Contact [[email:a@b.io]], not a@b or @handle.",
    ],
)
def test_emails(markup: str) -> None:
    assert_finds(markup)


@pytest.mark.parametrize(
    "markup",
    [
        "IBAN: [[iban:DE89 3704 0044 0532 0130 00]]",
        "Please pay to [[iban:DE89370400440532013000]].",
        "Account [[iban:GB82 WEST 1234 5698 7654 32]] (Barclays).",
        "IBAN [[iban:DE89 3704 0044 0532 0130 00]] BIC COBADEFFXXX",
        "Konto [[iban:AT61 1904 3002 3457 3201]], Verwendungszweck Miete",
    ],
)
def test_ibans(markup: str) -> None:
    assert_finds(markup)


@pytest.mark.parametrize(
    "markup",
    [
        "Card [[card:4111 1111 1111 1111]], expiry 09/27",
        "Karte [[card:5555-5555-5555-4444]] wurde belastet.",
        "Amex [[card:3782 822463 10005]]",
        "card number [[card:4111111111111111]] 123",
    ],
)
def test_cards(markup: str) -> None:
    assert_finds(markup)


@pytest.mark.parametrize(
    "markup",
    [
        "SSN: [[national_id:123-45-6789]]",
        "social security number [[national_id:123456789]]",
        "NI number [[national_id:AB 12 34 56 C]]",
        "My NINO is [[national_id:AB123456C]].",
        "Steuer-ID: [[national_id:86 095 742 719]]",
        "Steuerliche Identifikationsnummer [[national_id:86095742719]]",
        "Ausweisnummer: [[national_id:T22000129]]",
        "Personalausweis [[national_id:T220001293]], gültig bis 2031",
        "BSN [[national_id:111222333]]",
    ],
)
def test_national_ids(markup: str) -> None:
    assert_finds(markup)


@pytest.mark.parametrize(
    "markup",
    [
        "Date of birth: [[date_of_birth:04/11/1962]]",
        "DOB [[date_of_birth:1987-09-30]]",
        "born on [[date_of_birth:22 July 1990]] in Leeds",
        "born [[date_of_birth:March 3, 1995]]",
        "Geburtsdatum: [[date_of_birth:03.07.1971]]",
        "geb. [[date_of_birth:05.11.1958]]",
        "Ich bin am [[date_of_birth:14. März 1993]] geboren.",
        "Sie wurde am [[date_of_birth:1.1.1970]] in Köln geboren.",
    ],
)
def test_dates_of_birth(markup: str) -> None:
    assert_finds(markup)


@pytest.mark.parametrize(
    "markup",
    [
        "Call me on [[phone:+44 7700 900123]].",
        "Tel.: [[phone:030 12345678]]",
        "Telefon [[phone:0221 / 98 76 54]]",
        "Handy: [[phone:0176 12345678]]",
        "mobile [[phone:01761234567]]",
        "Phone: [[phone:(217) 555-0148]]",
        "Fax [[phone:+49 (0)89 2345 6789]]",
        "UK office [[phone:020 7946 0958]]",
        "call [[phone:555-867-5309]] after 5",
        "Anruf von Herrn [[person:Kaiser]] ([[phone:+49 621 987 654]]) wegen der Befunde",
        # An order cue in the sentence before says nothing of this number.
        "Sie hat eine Frage zur Rechnung. Nummer: [[phone:0351 4455667]].",
    ],
)
def test_phones(markup: str) -> None:
    assert_finds(markup)


@pytest.mark.parametrize(
    "markup",
    [
        "Ship to [[address:14 Elm Grove, Oxford OX2 6DP]] please.",
        "Address: [[address:221 Maple Avenue, Springfield, IL 62704]]",
        "Office: [[address:500 Howard Street, Suite 300, San Francisco, CA 94105]].",
        "Wir liefern an [[address:Lindenstraße 14, 50674 Köln]].",
        "Ich wohne in der [[address:Schillerstraße 22a, 80336 München]].",
        "Anschrift: [[address:Am Sonnenhang 7, 79098 Freiburg im Breisgau]]",
        "Kontakt: [[address:Karl-Marx-Allee 12\n10243 Berlin]]",
        "Postanschrift: [[address:Postfach 10 20 30, 70020 Stuttgart]]",
        "wohnhaft in [[address:10115 Berlin]]",
    ],
)
def test_addresses(markup: str) -> None:
    assert_finds(markup)


@pytest.mark.parametrize(
    "markup",
    [
        "Dear [[person:Jane Whitfield]],",
        "Mr [[person:Whitaker]] called again.",
        "Best regards,\n[[person:Tom Barker]]\nCustomer Care",
        "My name is [[person:Carlos Mendoza]] and I live here.",
        "Attendees: [[person:Anna Kowalczyk]], [[person:Rahul Mehta]].",
        "Sehr geehrte Frau [[person:Schneider]],",
        "Sehr geehrter Herr Prof. Dr. [[person:Wolfgang Richter]],",
        "Mit freundlichen Grüßen\n[[person:Jonas Becker]]\nKundenservice",
        "Ich heiße [[person:Miriam Kaya]].",
        "Kontoinhaber: [[person:Markus Weber]]",
        "Herr [[person:von Bülow]] hat angerufen.",
        "[[person:Anna Schmidt]] übernimmt das Projekt. [[person:Schmidt]] ist erreichbar.",
        "Yours faithfully,\n[[person:P. Gallagher]]",
    ],
)
def test_persons(markup: str) -> None:
    assert_finds(markup)


@pytest.mark.parametrize(
    "text",
    [
        # invoice, order and reference numbers, product codes
        "Invoice INV-2024-00417 is due on 15 March 2024. Order number 4000123498765.",
        "Product code: XK-2290-B. SKU 889944771. Batch L8839201.",
        "Artikelnummer 4003994155486, Bestellnummer 30029911, Kundennummer 1002938475.",
        "Seriennummer 2210004471, Rabattcode SOMMER24, Angebotsnummer AN-2024-0331.",
        "Tracking number 1Z999AA10123456784. Ticket 4471-22.",
        # amounts, percentages, measures
        "Total: 1,245.90 EUR. Interest 4.25% p.a., loan 250,000 GBP.",
        "Betrag 1.249,00 €, Skonto 2 %, Zählerstand 12345,6 kWh.",
        # meeting dates and times: dates, but nobody's birth
        "The meeting is on 2024-05-14 at 10:30 in room 4.12.",
        "Die Sitzung findet am 14.05.2024 um 10:30 Uhr statt.",
        "Happy birthday to everyone born in May! The party is on 31 May.",
        # invalid check digits
        "IBAN DE12 3456 7890 1234 5678 90 ist ungültig.",
        "Card declined: 4111 1111 1111 1112.",
        "Die Kartennummer 1234 5678 9012 3456 wurde abgelehnt.",
        # German nouns after a title-like word, and German capitalisation
        "Sehr geehrte Damen und Herren, vielen Dank für Ihre Anfrage.",
        "Am Montag 12 Leute, am Dienstag 15 Leute.",
        "Dear Hiring Manager, Hello team, Hallo zusammen.",
        "Die Berliner Straße ist wegen Bauarbeiten gesperrt.",
        "Version 2.14.3, build 20240315.1, commit 4f9a2c1.",
        "Sensor ID 0043-8812-7781, PIN 4471 22#.",
        "Rechnungsnummer 0351 4455667, Bestell-Nr. 0170 1234567",
        "The hotel is near Lincoln Memorial and the April Fools parade on Chase Bank Plaza.",
    ],
)
def test_nothing_personal(text: str) -> None:
    assert shown(text, find_pii(text)) == []


def test_an_iban_is_not_also_a_phone_number_and_a_card_not_a_phone() -> None:
    text = "IBAN DE89 3704 0044 0532 0130 00, card 4111 1111 1111 1111, tel 030 1234567"
    assert [s.kind for s in find_pii(text)] == ["iban", "card", "phone"]


def test_a_second_date_after_a_birth_date_is_not_one() -> None:
    text = "Born on 3 May 1990 and hired on 1 June 2015."
    assert shown(text, find_pii(text)) == [("date_of_birth", "3 May 1990")]


def test_an_ausweis_serial_needs_a_cue_without_its_check_digit() -> None:
    assert find_pii("Produktcode T22000129 im Katalog") == []
    assert [s.kind for s in find_pii("Ausweis-Nr. T22000129")] == ["national_id"]


def test_spans_are_sorted_and_never_overlap() -> None:
    text = (
        "Dear Anna Schmidt, your card 4111 1111 1111 1111 and IBAN DE89 3704 0044 0532 0130 00 "
        "are on file; call 030 1234567 or write to anna.schmidt@example.de, "
        "Lindenstraße 5, 10115 Berlin."
    )
    spans = find_pii(text)
    assert spans == sorted(spans, key=lambda s: s.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert {s.kind for s in spans} == {"person", "card", "iban", "phone", "email", "address"}

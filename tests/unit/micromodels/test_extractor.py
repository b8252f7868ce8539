"""extractor: candidates by shape and label, the model choosing among them, typed outputs.

The texts here are written for these tests (bills, card claims, news-like paragraphs);
the held-apart evaluation sets are never read.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import jsonschema
import pytest

from slmesh.extractor import candidates as find
from slmesh.extractor.extraction import Found, rank, read_document
from slmesh.extractor.fields import read_field, read_fields
from slmesh.extractor.micromodel import (
    FALLBACK_TOKENS_PER_FIELD,
    MAX_STRING,
    ExtractionRequest,
    bounded,
    decode_rest,
    extract,
    in_document,
)
from slmesh.runtime.llm import LocalModel, ModelSession, ModelSettings
from slmesh.runtime.llm.usage import Generation

NULLABLE = ["string", "null"]
BILL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "supplier": {"type": NULLABLE, "description": "the company that sent the bill"},
        "customer_name": {"type": NULLABLE},
        "account_number": {"type": NULLABLE},
        "iban": {"type": NULLABLE, "description": "the IBAN the bill is paid from"},
        "postcode": {"type": NULLABLE, "description": "the customer's postcode"},
        "country": {"type": NULLABLE, "description": "ISO code of the customer's country"},
        "period_start": {"type": NULLABLE, "description": "first day billed"},
        "period_end": {"type": NULLABLE, "description": "last day billed"},
        "issue_date": {"type": NULLABLE},
        "due_date": {"type": NULLABLE},
        "amount_due": {"type": ["number", "null"], "description": "the total to pay"},
        "currency": {"type": NULLABLE, "description": "ISO 4217 code"},
    },
    "required": [
        "supplier", "customer_name", "account_number", "iban", "postcode", "country",
        "period_start", "period_end", "issue_date", "due_date", "amount_due", "currency",
    ],
}  # fmt: skip
CLAIM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "merchant": {"type": NULLABLE},
        "transaction_date": {"type": NULLABLE},
        "claim_date": {"type": NULLABLE},
        "amount": {"type": ["number", "null"]},
        "currency": {"type": NULLABLE},
        "card_last4": {"type": NULLABLE},
        "reason": {
            "type": "string",
            "enum": ["fraud", "not_received", "duplicate", "not_as_described", "cancelled"],
        },
    },
    "required": [
        "merchant", "transaction_date", "claim_date", "amount", "currency", "card_last4",
        "reason",
    ],
}  # fmt: skip
ENTITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        name: {"type": "array", "items": {"type": "string"}}
        for name in ("people", "organisations", "places", "dates", "amounts")
    },
    "required": ["people", "organisations", "places", "dates", "amounts"],
}

BILL = """Oakfield Water plc
Customer services, PO Box 88, Leeds LS1 4AP

Mrs Dorothy Okafor
3 Mill Lane
Harrogate
HG1 2BX

Your account number: 77120-4431
Date of bill: 9 June 2025
Charges from 1 March 2025 to 31 May 2025

Water supply .................. £61.20
Wastewater .................... £48.75
Total ......................... £109.95

Amount due: £109.95 - please pay by 30 June 2025.
Direct Debit from IBAN GB33 BUKB 2020 1555 5555 55.
"""
BILL_WANTED = {
    "supplier": "Oakfield Water plc",
    "customer_name": "Dorothy Okafor",
    "account_number": "77120-4431",
    "iban": "GB33BUKB20201555555555",
    "postcode": "HG1 2BX",
    "country": "GB",
    "period_start": "2025-03-01",
    "period_end": "2025-05-31",
    "issue_date": "2025-06-09",
    "due_date": "2025-06-30",
    "amount_due": 109.95,
    "currency": "GBP",
}
GERMAN_BILL = """Stadtwerke Auental GmbH, Hauptstraße 1, 99084 Erfurt

Frau
Lena Vogt
Am Weiher 7
99096 Erfurt

Kundennummer: 440178223
Rechnungsdatum: 03.07.2025
Lieferzeitraum: 01.06.2025 - 30.06.2025
Gesamtbetrag: 87,40 €
Fällig am 17.07.2025, Lastschrift von IBAN DE89 3704 0044 0532 0130 00
"""
CLAIMS = [
    (
        "Hello, I want to dispute a charge. On 3 March 2025 my card ending in 4821 was charged "
        "£89.99 by Zentro Electronics Ltd for headphones that never arrived. I am writing on "
        "20 March 2025. Regards, Tom Baker",
        {
            "merchant": "Zentro Electronics Ltd",
            "transaction_date": "2025-03-03",
            "claim_date": "2025-03-20",
            "amount": 89.99,
            "currency": "GBP",
            "card_last4": "4821",
        },
    ),
    (
        "Date: 12/04/2025\nSubject: card payment I did not make\nThere is a payment of "
        "EUR 249.00 to LuxStay Hotels SA on 09/04/2025 on my card **** 7730. I never made "
        "this purchase; my card must have been stolen.",
        {
            "merchant": "LuxStay Hotels SA",
            "transaction_date": "2025-04-09",
            "claim_date": "2025-04-12",
            "amount": 249.0,
            "currency": "EUR",
            "card_last4": "7730",
        },
    ),
]
ENTITIES = (
    "On 14 March 2025 Anna Schmidt of Siemens AG met Mr John Carter of Barclays Bank in "
    "Berlin. They agreed a loan of EUR 250,000, to be repaid by 1 April 2027."
)


# Bills of other countries and layouts: labels in their own languages, a label over its
# value, a range written "du ... au", a US statement with no IBAN and no country.
MORE_BILLS = [
    (
        "EAUX DU LEMAN SA\n12 avenue de la Gare, 74200 Thonon-les-Bains\n\nFacture d'eau\n\n"
        "Nom : Claire Dubois\nAdresse : 4 impasse des Lilas, 74500 Évian-les-Bains\n"
        "N° client : FR-0098123\nDate de facture : 1er mars 2025\n"
        "Période : du 1er décembre 2024 au 28 février 2025\n\n"
        "Consommation 31 m3 x 3,12 €        96,72 €\nAbonnement                          18,00 €\n"
        "Montant total TTC                  114,72 €\n"
        "Montant à payer avant le 20 mars 2025 : 114,72 €\n"
        "Prélèvement sur IBAN FR14 2004 1010 0505 0001 3M02 606\n",
        {
            "supplier": "EAUX DU LEMAN SA", "customer_name": "Claire Dubois",
            "account_number": "FR-0098123", "iban": "FR1420041010050500013M02606",
            "postcode": "74500", "country": "FR", "period_start": "2024-12-01",
            "period_end": "2025-02-28", "issue_date": "2025-03-01", "due_date": "2025-03-20",
            "amount_due": 114.72, "currency": "EUR",
        },
    ),
    (
        "Energía Verde del Sur, S.L.\nFactura de electricidad\n\nCliente: Javier Ortega Ruiz\n"
        "Calle Sol 8, 3º A\n41001 Sevilla\nEspaña\n\nNº de contrato: ES-771203\n"
        "Fecha de factura: 15 de marzo de 2025\n"
        "Periodo de facturación: 10/02/2025 - 11/03/2025\nImporte total: 67,35 €\n"
        "Fecha de cargo: 25/03/2025\nDomiciliado en ES79 2100 0813 6101 2345 6789\n",
        {
            "supplier": "Energía Verde del Sur, S.L.", "customer_name": "Javier Ortega Ruiz",
            "account_number": "ES-771203", "iban": "ES7921000813610123456789",
            "postcode": "41001", "country": "ES", "period_start": "2025-02-10",
            "period_end": "2025-03-11", "issue_date": "2025-03-15", "due_date": "2025-03-25",
            "amount_due": 67.35, "currency": "EUR",
        },
    ),
    (
        "ACME Power Inc.\nStatement Date: March 12, 2025\nAccount #: 4410-229-871\n"
        "Service From: Feb 8, 2025  To: Mar 9, 2025\n\nJohn Q. Smith\n1200 Elm Street Apt 4\n"
        "Springfield, IL 62704\n\nCurrent charges  $143.22\nLate fee          $5.00\n"
        "Total Amount Due  $148.22\nDue Date: April 2, 2025\n",
        {
            "supplier": "ACME Power Inc.", "customer_name": "John Q. Smith",
            "account_number": "4410-229-871", "iban": None, "postcode": "62704",
            "country": None, "period_start": "2025-02-08", "period_end": "2025-03-09",
            "issue_date": "2025-03-12", "due_date": "2025-04-02", "amount_due": 148.22,
            "currency": "USD",
        },
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel.load(ModelSettings())


# --- fields -------------------------------------------------------------------------------


def test_fields_get_their_kind_from_type_name_and_description() -> None:
    kinds = {spec.name: spec.kind for spec in read_fields(BILL_SCHEMA)}
    assert kinds == {
        "supplier": "organisation",
        "customer_name": "person",
        "account_number": "identifier",
        "iban": "iban",
        "postcode": "postcode",
        "country": "country",
        "period_start": "date",
        "period_end": "date",
        "issue_date": "date",
        "due_date": "date",
        "amount_due": "amount",
        "currency": "currency",
    }
    claim = {spec.name: spec.kind for spec in read_fields(CLAIM_SCHEMA)}
    assert claim["merchant"] == "organisation"
    assert claim["card_last4"] == "card_last4"
    assert claim["reason"] == "choice"
    entity = {spec.name: (spec.kind, spec.many) for spec in read_fields(ENTITY_SCHEMA)}
    assert entity == {
        "people": ("person", True),
        "organisations": ("organisation", True),
        "places": ("place", True),
        "dates": ("date", True),
        "amounts": ("amount", True),
    }


def test_a_date_format_makes_any_field_a_date() -> None:
    spec = read_field("signed_on", {"type": "string", "format": "date"})
    assert spec.kind == "date"
    assert spec.date_format


# --- candidates by shape --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("2025-06-02", date(2025, 6, 2)),
        ("14.01.2025", date(2025, 1, 14)),
        ("08-01-2025", date(2025, 1, 8)),
        ("02/04/2025", date(2025, 4, 2)),
        ("14 Feb 2025", date(2025, 2, 14)),
        ("3rd March 2025", date(2025, 3, 3)),
        ("16-Jan-2025", date(2025, 1, 16)),
        ("March 1, 2026", date(2026, 3, 1)),
        ("1. März 2026", date(2026, 3, 1)),
        ("5 de abril de 2025", date(2025, 4, 5)),
        ("12/31/2025", date(2025, 12, 31)),
    ],
)
def test_dates_in_common_formats(written: str, day: date) -> None:
    found = find.find_dates(f"Date: {written}.")
    assert [(c.text, c.value) for c in found] == [(written, day)]


def test_a_date_range_marks_its_start_and_end() -> None:
    for text in ("01.01.2025-31.01.2025", "12 Jan 2025 - 11 Feb 2025", "1/3/2025 to 31/5/2025"):
        roles = [c.role for c in find.find_dates(f"Period: {text}")]
        assert roles == ["start", "end"], text


def test_no_date_in_numbers_that_only_look_like_one() -> None:
    assert find.find_dates("Meter 19K0274415, reading 31.12 kWh, version 1.2.2025a") == []


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("Total: £124.91", 124.91, "GBP"),
        ("Nachzahlung: 1.245,65 €", 1245.65, "EUR"),
        ("TOTAL 400.27 EUR", 400.27, "EUR"),
        ("Balance: -€59.99", -59.99, "EUR"),
        ("Fee CHF 1'200.50", 1200.5, "CHF"),
        ("Amount: $12", 12.0, "USD"),
    ],
)
def test_amounts_with_their_currency(text: str, value: float, currency: str) -> None:
    found = find.find_amounts(text, [])
    assert [(c.value, c.currency) for c in found] == [(value, currency)]


def test_ibans_are_found_even_when_their_checksum_fails() -> None:
    good, bad = find.find_ibans("IBAN GB33 BUKB 2020 1555 5555 55 or IE24 AIBK 9311 5248 2077 86.")
    assert good.value == "GB33BUKB20201555555555"
    assert good.shape > bad.shape
    assert bad.value == "IE24AIBK93115248207786"


@pytest.mark.parametrize(
    "line",
    ["Harrogate\nHG1 2BX", "Bristol BS8 1AB", "3811CV Amersfoort", "28203 Bremen", "D02 X285"],
)
def test_postcodes_of_several_countries(line: str) -> None:
    found = find.find_postcodes(line)
    assert found, line
    assert found[0].text in line


def test_card_endings_and_countries() -> None:
    assert [c.value for c in find.find_card_endings("card ending in 4821, or **** 7730")] == [
        "4821",
        "7730",
    ]
    ibans = find.find_ibans("IBAN DE89 3704 0044 0532 0130 00")
    assert {c.value for c in find.find_countries("Lyon, France", [])} == {"FR"}
    assert {c.value for c in find.find_countries("paid from", ibans)} == {"DE"}


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "Bill for Max Müller, Hauptstraße 12, 20095 Hamburg. Due now.",
            "Hauptstraße 12, 20095 Hamburg",
        ),
        ("Customer: Anna Rossi - 7 Via Roma, Milan. Total 4 EUR", "7 Via Roma, Milan"),
        ("Client: Sofia Nowak, ul. Długa 5, Gdańsk. Fee 9 EUR", "ul. Długa 5, Gdańsk"),
    ],
)
def test_addresses_written_on_one_line(text: str, address: str) -> None:
    assert address in {c.value for c in find.find_addresses(text)}


def test_names_of_people_and_organisations() -> None:
    people = {c.value for c in find.find_people(BILL)}
    assert "Dorothy Okafor" in people
    assert not any("Oakfield" in p for p in people)
    organisations = {c.value for c in find.find_organisations(GERMAN_BILL)}
    assert "Stadtwerke Auental GmbH" in organisations


def test_a_label_ranks_the_value_it_names_first() -> None:
    spec = read_field("account_number", {"type": NULLABLE})
    text = "Invoice number: INV-2025-0042\nCustomer number: 300471982\nMeter: 7GMT0041829"
    ranked = rank(spec, Found(text).of_kind(spec), text)
    assert ranked[0].candidate.value == "300471982"


# --- whole documents without a model --------------------------------------------------------


def test_a_bill_read_by_shapes_and_labels_alone() -> None:
    data = read_document(BILL, read_fields(BILL_SCHEMA), None)
    assert data == BILL_WANTED


def test_a_german_bill_read_by_shapes_and_labels_alone() -> None:
    data = read_document(GERMAN_BILL, read_fields(BILL_SCHEMA), None)
    assert data["supplier"] == "Stadtwerke Auental GmbH"
    assert data["customer_name"] == "Lena Vogt"
    assert data["account_number"] == "440178223"
    assert data["postcode"] == "99096"
    assert (data["period_start"], data["period_end"]) == ("2025-06-01", "2025-06-30")
    assert (data["issue_date"], data["due_date"]) == ("2025-07-03", "2025-07-17")
    assert (data["amount_due"], data["currency"], data["country"]) == (87.4, "EUR", "DE")


@pytest.mark.parametrize(("text", "wanted"), MORE_BILLS)
def test_bills_of_other_countries(text: str, wanted: dict[str, Any]) -> None:
    data = read_document(text, read_fields(BILL_SCHEMA), None)
    assert {name: data.get(name) for name in wanted} == wanted


def test_entity_lists_hold_what_the_text_mentions() -> None:
    data = read_document(ENTITIES, read_fields(ENTITY_SCHEMA), None)
    assert {"Anna Schmidt", "John Carter"} <= set(data["people"])
    assert {"Siemens AG", "Barclays Bank"} <= set(data["organisations"])
    assert "Berlin" in data["places"]
    assert data["dates"] == ["14 March 2025", "1 April 2027"]
    assert data["amounts"] == ["EUR 250,000"]
    jsonschema.validate(data, ENTITY_SCHEMA)


def test_claims_read_by_shapes_and_labels_alone() -> None:
    specs = [s for s in read_fields(CLAIM_SCHEMA) if s.kind != "choice"]
    for text, wanted in CLAIMS:
        data = read_document(text, specs, None)
        assert data == wanted


def test_values_as_written_bounded_lists_and_a_nullable_enum() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "amount": {"type": NULLABLE, "description": "the amount disputed, as written"},
            "charged_on": {"type": NULLABLE, "description": "the day the card was charged"},
            "reason": {"type": NULLABLE, "enum": ["fraud", "duplicate", None]},
            "dates": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        },
    }
    text = "Charged twice: 19,90 EUR on 22.04.2025, again on 23.04.2025 and 24.04.2025 at 10:30."
    data = read_document(text, read_fields(schema), None)
    assert data["amount"] == "19,90 EUR"
    assert data["charged_on"] == "2025-04-22"
    assert data["reason"] == "duplicate"
    assert data["dates"] == ["22.04.2025", "23.04.2025"]
    jsonschema.validate(data, schema)


# --- bounds and the fallback ---------------------------------------------------------------


def test_nullable_strings_and_arrays_are_bounded() -> None:
    schema = bounded(BILL_SCHEMA | {"properties": {"a": {"type": NULLABLE}}})
    assert schema["properties"]["a"]["maxLength"] == MAX_STRING
    listed = bounded(ENTITY_SCHEMA)["properties"]["people"]
    assert listed["maxItems"] > 0
    assert listed["items"]["maxLength"] == MAX_STRING
    enum = bounded({"type": "string", "enum": ["a", "b"]})
    assert "maxLength" not in enum


def test_a_decoded_value_outside_the_document_is_dropped() -> None:
    assert in_document("Jana  WEBER", "to jana weber, Hamburg")
    assert not in_document("Nordlicht GmbH", "to jana weber, Hamburg")


class _Scripted:
    """A model stand-in that writes fixed JSON and counts what it was allowed."""

    id = "scripted"
    locality = "on-premise"
    provider = None
    price = None
    concurrency = 1
    admitted = 1

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.budgets: list[int | None] = []

    def count_tokens(self, prompt: object) -> int:
        return 10

    def complete_json(
        self, prompt: object, schema: dict[str, Any], *, max_tokens: int | None = None
    ) -> Generation:
        self.budgets.append(max_tokens)
        return Generation(self.reply, 10, 5, 0.01, "stop")


def test_the_fallback_has_a_token_budget_per_field_and_keeps_only_document_values() -> None:
    scripted = _Scripted('{"signatory": "Jana Weber", "notes": "made up"}')
    request = ExtractionRequest.model_validate(
        {
            "text": "Signed by Jana Weber in Hamburg.",
            "schema": {
                "type": "object",
                "properties": {"signatory": {"type": NULLABLE}, "notes": {"type": NULLABLE}},
            },
        }
    )
    specs = read_fields(request.json_schema)
    data = decode_rest(request, specs, ModelSession(scripted))  # type: ignore[arg-type]
    assert data == {"signatory": "Jana Weber", "notes": None}
    assert scripted.budgets == [FALLBACK_TOKENS_PER_FIELD * 2 + 16]


# --- with the real model -------------------------------------------------------------------


@pytest.mark.model
def test_a_bill_with_the_model_choosing(model: LocalModel) -> None:
    request = ExtractionRequest.model_validate({"text": BILL, "schema": BILL_SCHEMA})
    session = ModelSession(model)
    data = extract(request, session).data
    jsonschema.validate(data, BILL_SCHEMA)
    right = sum(data[name] == wanted for name, wanted in BILL_WANTED.items())
    assert right >= 11, data
    # Choosing writes nothing: no token is generated.
    assert session.usage.completion_tokens == 0


@pytest.mark.model
@pytest.mark.parametrize(("text", "wanted"), CLAIMS)
def test_claims_with_the_model_choosing(
    model: LocalModel, text: str, wanted: dict[str, Any]
) -> None:
    request = ExtractionRequest.model_validate({"text": text, "schema": CLAIM_SCHEMA})
    data = extract(request, ModelSession(model)).data
    jsonschema.validate(data, CLAIM_SCHEMA)
    assert {k: data[k] for k in wanted} == wanted
    assert data["reason"] in CLAIM_SCHEMA["properties"]["reason"]["enum"]


@pytest.mark.model
def test_no_value_comes_from_anywhere_but_the_document(model: LocalModel) -> None:
    text = "Thanks for your message, we will get back to you soon."
    request = ExtractionRequest.model_validate({"text": text, "schema": BILL_SCHEMA})
    data = extract(request, ModelSession(model)).data
    jsonschema.validate(data, BILL_SCHEMA)
    for value in data.values():
        assert value is None or in_document(value, text)

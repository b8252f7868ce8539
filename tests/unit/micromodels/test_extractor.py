"""extractor: candidates by shape and label, the model choosing among them, typed outputs.

The texts here are written for these tests (bills, card claims, news-like paragraphs);
the held-apart evaluation sets are never read.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

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
from slmesh.rules.checks import judge
from slmesh.rules.contract import RulesRequest
from slmesh.rules.micromodel import library_of
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


# Bills of many countries and layouts, written for these tests: tables, letters, OCR noise
# (0 for O), labels over values, a previous balance beside the amount due, account,
# customer, contract and invoice numbers side by side, month-first US dates.
VARIED_BILLS = [
    (
        "NORTHERN GAS & POWER LIMITED\nRegistered office: 1 Quay St, Manchester M3 3JE\n"
        "\nMr Peter Holloway\n22 Birch Avenue\nStockport\n"
        "SK4 2LP\n\nAccount No. 600 184 2291\nInvoice No. INV-88213409\n"
        "Statement date: 02/05/2025\nPeriod: 01/04/2025 to 30/04/2025\n"
        "\nPrevious balance   £210.00\nPayment received, thank you   -£210.00\n"
        "Balance brought forward   £0.00\nThis period's charges   £96.40\n"
        "Total amount due   £96.40\n\nWe will collect £96.40 by Direct Debit on or after "
        "19/05/2025\nfrom account GB07 LOYD 3096 3412 3456 78.\n",
        {
            "supplier": "NORTHERN GAS & POWER LIMITED",
            "customer_name": "Peter Holloway",
            "account_number": "600 184 2291",
            "iban": "GB07LOYD30963412345678",
            "postcode": "SK4 2LP",
            "country": "GB",
            "period_start": "2025-04-01",
            "period_end": "2025-04-30",
            "issue_date": "2025-05-02",
            "due_date": "2025-05-19",
            "amount_due": 96.4,
            "currency": "GBP",
        },
    ),
    (
        "Rheinstrom AG | Postfach 1120 | 50667 Köln\n"
        "\nFrau Dr. Sabine Krüger\nGoethestr. 14\n50823 Köln\n"
        "\nStromrechnung\nVertragskonto: 7712 0045 88\n"
        "Rechnungsnummer: 2025-330012\nDatum: 21.03.2025\n"
        "Lieferzeitraum 01.02.2025 bis 28.02.2025\n"
        "\nVerbrauch 312 kWh\nArbeitspreis   96,72 EUR\n"
        "Grundpreis   12,90 EUR\nNettobetrag   109,62 EUR\n"
        "MwSt. 19 %   20,83 EUR\nRechnungsbetrag   130,45 EUR\n"
        "\nZahlbar bis 04.04.2025. Wir buchen den Betrag von Ihrem Konto DE89 3704 0044 "
        "0532 0130 00 ab.\n",
        {
            "supplier": "Rheinstrom AG",
            "customer_name": "Sabine Krüger",
            "account_number": "7712 0045 88",
            "iban": "DE89370400440532013000",
            "postcode": "50823",
            "country": "DE",
            "period_start": "2025-02-01",
            "period_end": "2025-02-28",
            "issue_date": "2025-03-21",
            "due_date": "2025-04-04",
            "amount_due": 130.45,
            "currency": "EUR",
        },
    ),
    (
        "Électricité de Provence SAS\nService clients - BP 40 - 13001 Marseille\n"
        "\nMonsieur Antoine Marchal\n18 rue des Oliviers\n"
        "13100 Aix-en-Provence\n\nRéférence client : 5003 2188 41\n"
        "Facture n° F25-0042311 du 12/02/2025\nConsommation du 05/12/2024 au 04/02/2025\n"
        "\nTotal HT   88,20 €\nTVA   17,64 €\nTotal TTC   105,84 €\n"
        "Montant à payer : 105,84 €\nDate limite de paiement : 27/02/2025\n"
        "Prélevé sur le compte FR76 3000 6000 0112 3456 7890 189\n",
        {
            "supplier": "Électricité de Provence SAS",
            "customer_name": "Antoine Marchal",
            "account_number": "5003 2188 41",
            "iban": "FR7630006000011234567890189",
            "postcode": "13100",
            "country": "FR",
            "period_start": "2024-12-05",
            "period_end": "2025-02-04",
            "issue_date": "2025-02-12",
            "due_date": "2025-02-27",
            "amount_due": 105.84,
            "currency": "EUR",
        },
    ),
    (
        "Aguas de Levante S.A.\nFACTURA\n\nTitular: María del Carmen López Vidal\n"
        "Avda. del Puerto 112, 5º\n46023 Valencia\n\n"
        "Número de abonado: 0045-778812\nNº factura: AL/2025/118822\n"
        "Fecha de emisión: 03/06/2025\nPeríodo: 01/03/2025 - 31/05/2025\n"
        "\nCuota de servicio  12,40 €\nConsumo 24 m3  31,68 €\n"
        "IVA 10%  4,41 €\nTOTAL A PAGAR  48,49 €\nFecha de cargo: 18/06/2025 en ES60 0049 "
        "1500 0512 3456 7892\n",
        {
            "supplier": "Aguas de Levante S.A.",
            "customer_name": "María del Carmen López Vidal",
            "account_number": "0045-778812",
            "iban": "ES6000491500051234567892",
            "postcode": "46023",
            "country": "ES",
            "period_start": "2025-03-01",
            "period_end": "2025-05-31",
            "issue_date": "2025-06-03",
            "due_date": "2025-06-18",
            "amount_due": 48.49,
            "currency": "EUR",
        },
    ),
    (
        "LUCE ITALIA S.p.A.\nBolletta luce\n\nGentile Sig. Marco Bernardi\n"
        "Via Garibaldi 45\n20121 Milano MI\n\nCodice cliente: 300112457\n"
        "Numero fattura: 8821004451 del 10/01/2025\n"
        "Periodo di fatturazione: dal 01/11/2024 al 31/12/2024\n"
        "\nTotale imponibile  75,10 €\nIVA 10%  7,51 €\n"
        "Totale da pagare  82,61 €\nScadenza: 30/01/2025\n"
        "Addebito su IBAN IT60 X054 2811 1010 0000 0123 456\n",
        {
            "supplier": "LUCE ITALIA S.p.A.",
            "customer_name": "Marco Bernardi",
            "account_number": "300112457",
            "iban": "IT60X0542811101000000123456",
            "postcode": "20121",
            "country": "IT",
            "period_start": "2024-11-01",
            "period_end": "2024-12-31",
            "issue_date": "2025-01-10",
            "due_date": "2025-01-30",
            "amount_due": 82.61,
            "currency": "EUR",
        },
    ),
    (
        "Eneco Noord B.V.\n\nDhr. J.P. de Vries\nLaan van Meerdervoort 210\n"
        "2517 BH Den Haag\n\nJaarafrekening\nKlantnummer: 10293847\n"
        "Factuurnummer: 55410098\nFactuurdatum: 14-02-2025\n"
        "Periode: 01-01-2024 t/m 31-12-2024\n\nTotaal energiekosten  1.842,30\n"
        "Betaalde termijnen  -1.800,00\nTe betalen: € 42,30\n"
        "We schrijven dit bedrag af rond 28-02-2025 van NL20 INGB 0001 2345 67.\n",
        {
            "supplier": "Eneco Noord B.V.",
            "customer_name": "J.P. de Vries",
            "account_number": "10293847",
            "iban": "NL20INGB0001234567",
            "postcode": "2517 BH",
            "country": "NL",
            "period_start": "2024-01-01",
            "period_end": "2024-12-31",
            "issue_date": "2025-02-14",
            "due_date": "2025-02-28",
            "amount_due": 42.3,
            "currency": "EUR",
        },
    ),
    (
        "EDP Comercial - Comercialização de Energia, S.A.\n"
        "Fatura de eletricidade\n\nCliente: Rui Miguel Ferreira\n"
        "Rua Augusta 100, 2º Esq\n1100-053 Lisboa\n\n"
        "N.º de cliente: 712004889\nData de emissão: 07/04/2025\n"
        "Período de faturação: 06/03/2025 a 05/04/2025\n"
        "Total a pagar: 58,73 €\nData limite de pagamento: 28/04/2025\n"
        "Débito direto: PT50 0002 0123 1234 5678 9015 4\n",
        {
            "supplier": "EDP Comercial - Comercialização de Energia, S.A.",
            "customer_name": "Rui Miguel Ferreira",
            "account_number": "712004889",
            "iban": "PT50000201231234567890154",
            "postcode": "1100-053",
            "country": "PT",
            "period_start": "2025-03-06",
            "period_end": "2025-04-05",
            "issue_date": "2025-04-07",
            "due_date": "2025-04-28",
            "amount_due": 58.73,
            "currency": "EUR",
        },
    ),
    (
        "Liffey Energy DAC\nYour bill\n\nMs Aoife Byrne\n"
        "Apartment 12, Harbour View\nDun Laoghaire\n"
        "Co. Dublin\nA96 K2X3\n\nAccount number: 902-118-447\n"
        "MPRN: 10008842217\nBill date: 15 August 2025\n"
        "Billing period: 14 June 2025 - 13 August 2025\n"
        "\nOpening balance €0.00\nNew charges €187.66\n"
        "Amount due €187.66\nDue date 5 September 2025\n"
        "Direct debit from IE29 AIBK 9311 5212 3456 78\n",
        {
            "supplier": "Liffey Energy DAC",
            "customer_name": "Aoife Byrne",
            "account_number": "902-118-447",
            "iban": "IE29AIBK93115212345678",
            "postcode": "A96 K2X3",
            "country": "IE",
            "period_start": "2025-06-14",
            "period_end": "2025-08-13",
            "issue_date": "2025-08-15",
            "due_date": "2025-09-05",
            "amount_due": 187.66,
            "currency": "EUR",
        },
    ),
    (
        "Telenet Mobile BV\nFactuur / Facture\n\nMevr. Els Peeters\n"
        "Kerkstraat 8\n2000 Antwerpen\n\nKlantnummer: 8001-223-91\n"
        "Factuurdatum: 01/09/2025\nPeriode: 01/08/2025 - 31/08/2025\n"
        "\nAbonnement  35,00\nExtra data  4,13\nBTW 21%  8,22\n"
        "Te betalen  47,35 EUR\nVervaldatum: 15/09/2025\n"
        "Domiciliëring: BE68 5390 0754 7034\n",
        {
            "supplier": "Telenet Mobile BV",
            "customer_name": "Els Peeters",
            "account_number": "8001-223-91",
            "iban": "BE68539007547034",
            "postcode": "2000",
            "country": "BE",
            "period_start": "2025-08-01",
            "period_end": "2025-08-31",
            "issue_date": "2025-09-01",
            "due_date": "2025-09-15",
            "amount_due": 47.35,
            "currency": "EUR",
        },
    ),
    (
        "Wien Energie GmbH\nThomas-Klestil-Platz 14, 1030 Wien\n"
        "\nHerrn Ing. Markus Huber\nMariahilfer Straße 77/4\n"
        "1060 Wien\n\nKundennummer 4400128813 | Rechnung 25-7781122 | Datum 09.10.2025\n"
        "Abrechnungszeitraum: 09.09.2025 - 08.10.2025\n"
        "Energie 61,20 EUR | Netz 28,40 EUR | USt 20% 17,92 EUR\n"
        "Gesamtbetrag 107,52 EUR\nAbbuchung am 23.10.2025 von AT61 1904 3002 3457 3201\n",
        {
            "supplier": "Wien Energie GmbH",
            "customer_name": "Markus Huber",
            "account_number": "4400128813",
            "iban": "AT611904300234573201",
            "postcode": "1060",
            "country": "AT",
            "period_start": "2025-09-09",
            "period_end": "2025-10-08",
            "issue_date": "2025-10-09",
            "due_date": "2025-10-23",
            "amount_due": 107.52,
            "currency": "EUR",
        },
    ),
    (
        "Dear Mrs Patel,\n\nThank you for being a customer of Severn Broadband Ltd. This "
        "letter is your bill for the month of July.\n"
        "\nYour account reference is SB-0071823. The bill is dated 3 August 2025 and "
        "covers 1 July 2025 to 31 July 2025. The total to pay is £34.99, which we will "
        "collect on 18 August 2025 from your account GB02 BARC 2004 0412 3456 78.\n"
        "\nYours sincerely,\nSevern Broadband Ltd\n\nMrs Anjali Patel, 7 Orchard Way, "
        "Gloucester GL1 4RT\n",
        {
            "supplier": "Severn Broadband Ltd",
            "customer_name": "Anjali Patel",
            "account_number": "SB-0071823",
            "iban": "GB02BARC20040412345678",
            "postcode": "GL1 4RT",
            "country": "GB",
            "period_start": "2025-07-01",
            "period_end": "2025-07-31",
            "issue_date": "2025-08-03",
            "due_date": "2025-08-18",
            "amount_due": 34.99,
            "currency": "GBP",
        },
    ),
    (
        "HYDR0 SCOTIA WATER LTD\nW A T E R  B I L L\n"
        "Cust0mer: Mr Alan McLeod\n4 Glen Road\nInverness IV2 3PQ\n"
        "Acc0unt Number : 55-2019-887\nlssue date : 11 Nov 2025\n"
        "Billing peri0d : 1 Aug 2025 - 31 Oct 2025\n"
        "T0TAL DUE : £ 72.18\nPay by : 2 Dec 2025\nIBAN: GB07 LOYD 3096 3412 3456 78\n",
        {
            "supplier": "HYDR0 SCOTIA WATER LTD",
            "customer_name": "Alan McLeod",
            "account_number": "55-2019-887",
            "iban": "GB07LOYD30963412345678",
            "postcode": "IV2 3PQ",
            "country": "GB",
            "period_start": "2025-08-01",
            "period_end": "2025-10-31",
            "issue_date": "2025-11-11",
            "due_date": "2025-12-02",
            "amount_due": 72.18,
            "currency": "GBP",
        },
    ),
    (
        "| Supplier | Baltic Heat Sp. z o.o. |\n| Customer | Anna Kowalska |\n"
        "| Address | ul. Długa 5, 80-827 Gdańsk |\n"
        "| Customer no. | 44120098 |\n| Invoice no. | FV/2025/10/7712 |\n"
        "| Invoice date | 2025-10-05 |\n| Period | 2025-09-01 - 2025-09-30 |\n"
        "| Amount due | 412,50 PLN |\n| Due date | 2025-10-19 |\n"
        "| Bank account | PL61 1090 1014 0000 0712 1981 2874 |\n",
        {
            "supplier": "Baltic Heat Sp. z o.o.",
            "customer_name": "Anna Kowalska",
            "account_number": "44120098",
            "iban": "PL61109010140000071219812874",
            "postcode": "80-827",
            "country": "PL",
            "period_start": "2025-09-01",
            "period_end": "2025-09-30",
            "issue_date": "2025-10-05",
            "due_date": "2025-10-19",
            "amount_due": 412.5,
            "currency": "PLN",
        },
    ),
    (
        "Helen Energia Oy\nSähkölasku\n\nMatti Virtanen\n"
        "Mannerheimintie 12 B 8\n00100 Helsinki\n\nAsiakasnumero: 3300981\n"
        "Laskun päivä: 02.12.2025\nLaskutuskausi: 01.11.2025 - 30.11.2025\n"
        "Yhteensä 64,10 €\nEräpäivä: 16.12.2025\nTilinumero: FI21 1234 5600 0007 85\n",
        {
            "supplier": "Helen Energia Oy",
            "customer_name": "Matti Virtanen",
            "account_number": "3300981",
            "iban": "FI2112345600000785",
            "postcode": "00100",
            "country": "FI",
            "period_start": "2025-11-01",
            "period_end": "2025-11-30",
            "issue_date": "2025-12-02",
            "due_date": "2025-12-16",
            "amount_due": 64.1,
            "currency": "EUR",
        },
    ),
    (
        "Pacific Gas Co.\nACCOUNT SUMMARY\nAccount Number 0921-4456-78   Statement Date "
        "06/14/2025\nService period 05/10/2025 - 06/09/2025\n"
        "\nMaria Gonzalez\n455 Oak Ridge Dr\nFresno, CA 93710\n"
        "\nPrevious Balance $88.10\nPayment Received 05/30/2025 -$88.10\n"
        "Current Charges $91.45\nTotal Amount Due $91.45\n"
        "Please pay by 07/03/2025\n",
        {
            "supplier": "Pacific Gas Co.",
            "customer_name": "Maria Gonzalez",
            "account_number": "0921-4456-78",
            "iban": None,
            "postcode": "93710",
            "country": None,
            "period_start": "2025-05-10",
            "period_end": "2025-06-09",
            "issue_date": "2025-06-14",
            "due_date": "2025-07-03",
            "amount_due": 91.45,
            "currency": "USD",
        },
    ),
    pytest.param(
        "Stadtwerke Lindau GmbH\nTelefon 08382 7040 | www.sw-lindau.de\n"
        "\nHerrn\nKlaus Meier\nBahnhofstraße 3\n88131 Lindau\n"
        "\nAbschlagsrechnung\nIhre Kundennummer: 10077341\n"
        "Ihre Vertragsnummer: V-55-2201\nBelegdatum: 30.06.2025\n"
        "Leistungszeitraum: 01.07.2025 - 31.07.2025\n"
        "Abschlag Juli   65,00 €\nFälligkeitsdatum: 15.07.2025\n"
        "IBAN: DE02 1203 0000 0000 2020 51\n",
        {
            "supplier": "Stadtwerke Lindau GmbH",
            "customer_name": "Klaus Meier",
            "account_number": "10077341",
            "iban": "DE02120300000000202051",
            "postcode": "88131",
            "country": "DE",
            "period_start": "2025-07-01",
            "period_end": "2025-07-31",
            "issue_date": "2025-06-30",
            "due_date": "2025-07-15",
            "amount_due": 65.0,
            "currency": "EUR",
        },
        marks=pytest.mark.xfail(
            reason="an advance payment's amount is labelled only as one (Abschlag)", strict=True
        ),
    ),
    (
        "Thames Valley Water plc\nPO Box 400, Reading RG1 8DB\n"
        "\nMr & Mrs Graham Whitfield\n9 Kennet Walk\n"
        "Newbury\nRG14 5JS\n\nCustomer reference: 4471 2298 01\n"
        "Date: 2 April 2025\nCharges for 1 April 2025 to 31 March 2026\n"
        "\nWater £212.40   Sewerage £268.10\nAnnual total £480.50\n"
        "Payable in 10 instalments of £48.05, the first due 15 April 2025.\n"
        "Amount due now: £48.05\n",
        {
            "supplier": "Thames Valley Water plc",
            "customer_name": "Graham Whitfield",
            "account_number": "4471 2298 01",
            "iban": None,
            "postcode": "RG14 5JS",
            "country": "GB",
            "period_start": "2025-04-01",
            "period_end": "2026-03-31",
            "issue_date": "2025-04-02",
            "due_date": "2025-04-15",
            "amount_due": 48.05,
            "currency": "GBP",
        },
    ),
    (
        "Facture\nGaz Naturel Alpin SA\n\nClient : Sophie Lambert\n"
        "5 chemin du Lac\n1003 Lausanne\nSuisse\n\nN° de compte : 88-441-20\n"
        "Date : 31.01.2025\nPériode de facturation : 01.10.2024 - 31.12.2024\n"
        "Montant total : CHF 318.40\nÉchéance : 28.02.2025\n"
        "IBAN CH93 0076 2011 6238 5295 7\n",
        {
            "supplier": "Gaz Naturel Alpin SA",
            "customer_name": "Sophie Lambert",
            "account_number": "88-441-20",
            "iban": "CH9300762011623852957",
            "postcode": "1003",
            "country": "CH",
            "period_start": "2024-10-01",
            "period_end": "2024-12-31",
            "issue_date": "2025-01-31",
            "due_date": "2025-02-28",
            "amount_due": 318.4,
            "currency": "CHF",
        },
    ),
    (
        "Vattenfall Warmte NL N.V.\nWarmtenota\nDe heer T. Bakker\n"
        "Prinsengracht 300-2\n1016 HX Amsterdam\nContractnummer 7700-1182\n"
        "Klantnummer 3319027\nNotadatum 20-05-2025\n"
        "Verbruiksperiode 01-04-2025 tot 30-04-2025\n"
        "Vorig saldo 0,00\nNieuw bedrag 118,90\nTotaal te betalen € 118,90 uiterlijk "
        "03-06-2025\nRekening NL44 RABO 0123 4567 89\n",
        {
            "supplier": "Vattenfall Warmte NL N.V.",
            "customer_name": "T. Bakker",
            "account_number": "3319027",
            "iban": "NL44RABO0123456789",
            "postcode": "1016 HX",
            "country": "NL",
            "period_start": "2025-04-01",
            "period_end": "2025-04-30",
            "issue_date": "2025-05-20",
            "due_date": "2025-06-03",
            "amount_due": 118.9,
            "currency": "EUR",
        },
    ),
    (
        "From: billing@clearline-telecom.co.uk\nSubject: Your Clearline bill is ready\n"
        "\nHi Daniel Osei,\n\nYour bill for 12 Sep 2025 - 11 Oct 2025 is ready. Account: "
        "CL-99012387. Bill date 13 Oct 2025.\nTotal: £27.50, taken by Direct Debit on 28 "
        "Oct 2025.\nClearline Telecom Ltd, Leeds LS2 7EW\n"
        "Your address: 31 Bank Street, Bradford BD1 1HY\n",
        {
            "supplier": "Clearline Telecom Ltd",
            "customer_name": "Daniel Osei",
            "account_number": "CL-99012387",
            "iban": None,
            "postcode": "BD1 1HY",
            "country": "GB",
            "period_start": "2025-09-12",
            "period_end": "2025-10-11",
            "issue_date": "2025-10-13",
            "due_date": "2025-10-28",
            "amount_due": 27.5,
            "currency": "GBP",
        },
    ),
    (
        "Gas Natural Norte, S.A.\n\nD. Alberto Sánchez Gil\n"
        "C/ Mayor 23, 2º B\n28013 Madrid\n\nNº de contrato: 2209981112\n"
        "Fecha factura: 15 de abril de 2025\nPeriodo de consumo: del 10 de febrero de 2025 "
        "al 9 de abril de 2025\nImporte total factura: 96,15 €\n"
        "Fecha de cargo en cuenta: 30 de abril de 2025\n"
        "Cuenta de cargo: ES91 2100 0418 4502 0005 1332\n",
        {
            "supplier": "Gas Natural Norte, S.A.",
            "customer_name": "Alberto Sánchez Gil",
            "account_number": "2209981112",
            "iban": "ES9121000418450200051332",
            "postcode": "28013",
            "country": "ES",
            "period_start": "2025-02-10",
            "period_end": "2025-04-09",
            "issue_date": "2025-04-15",
            "due_date": "2025-04-30",
            "amount_due": 96.15,
            "currency": "EUR",
        },
    ),
    (
        "SOLAR BRIGHT ENERGY LIMITED\nInvoice\nInvoice number: 100044721   Invoice date: "
        "28.02.2025\nCustomer: Fiona Grant   Customer number: 2207713\n"
        "Supply address: 15 Castle Terrace, Edinburgh EH1 2DP\n"
        "Period 01.02.2025 - 28.02.2025\n\nAmount          VAT     Gross\n"
        "£80.00          £4.00   £84.00\nOutstanding from last bill: £12.00\n"
        "Total to pay: £96.00 by 14.03.2025\n",
        {
            "supplier": "SOLAR BRIGHT ENERGY LIMITED",
            "customer_name": "Fiona Grant",
            "account_number": "2207713",
            "iban": None,
            "postcode": "EH1 2DP",
            "country": "GB",
            "period_start": "2025-02-01",
            "period_end": "2025-02-28",
            "issue_date": "2025-02-28",
            "due_date": "2025-03-14",
            "amount_due": 96.0,
            "currency": "GBP",
        },
    ),
    (
        "Acqua Veneta S.r.l.\nSpett.le Giulia Romano\n"
        "Corso Italia 18\n30171 Venezia VE\n\nCod. utente: 0099128-4\n"
        "Fattura n. 2025/00451 emessa il 14 marzo 2025\n"
        "Consumi dal 1 dicembre 2024 al 28 febbraio 2025\n"
        "Importo totale: € 63,90\nDa pagare entro il 4 aprile 2025\n"
        "IBAN per il pagamento: IT60 X054 2811 1010 0000 0123 456\n",
        {
            "supplier": "Acqua Veneta S.r.l.",
            "customer_name": "Giulia Romano",
            "account_number": "0099128-4",
            "iban": "IT60X0542811101000000123456",
            "postcode": "30171",
            "country": "IT",
            "period_start": "2024-12-01",
            "period_end": "2025-02-28",
            "issue_date": "2025-03-14",
            "due_date": "2025-04-04",
            "amount_due": 63.9,
            "currency": "EUR",
        },
    ),
    (
        "ENERGIE OUEST\nSARL au capital de 50 000 €\n"
        "\nMme Camille Roux\n3 place du Marché\n35000 Rennes\n"
        "\nVotre facture du 3 juin 2025\nN° de client : 4401 8876\n"
        "Période : du 1 avril 2025 au 31 mai 2025\n"
        "Solde précédent : 0,00 €\nMontant de cette facture : 142,30 €\n"
        "À payer avant le 20 juin 2025\nIBAN FR14 2004 1010 0505 0001 3M02 606\n",
        {
            "supplier": "ENERGIE OUEST",
            "customer_name": "Camille Roux",
            "account_number": "4401 8876",
            "iban": "FR1420041010050500013M02606",
            "postcode": "35000",
            "country": "FR",
            "period_start": "2025-04-01",
            "period_end": "2025-05-31",
            "issue_date": "2025-06-03",
            "due_date": "2025-06-20",
            "amount_due": 142.3,
            "currency": "EUR",
        },
    ),
    (
        "Kent Coast Energy Ltd\n\nMiss Laura Bennett\n"
        "Flat 3, 21 Marine Parade\nMargate\nCT9 1DH\n"
        "\nAccount number: 3004417752   Bill number: 77102\n"
        "Bill date: 07 January 2026\nYou're being billed for 6 Dec 2025 - 5 Jan 2026\n"
        "\nCredit from last bill: £15.20\nNew charges: £118.40\n"
        "Total: £103.20\nAmount due by 21 January 2026: £103.20\n",
        {
            "supplier": "Kent Coast Energy Ltd",
            "customer_name": "Laura Bennett",
            "account_number": "3004417752",
            "iban": None,
            "postcode": "CT9 1DH",
            "country": "GB",
            "period_start": "2025-12-06",
            "period_end": "2026-01-05",
            "issue_date": "2026-01-07",
            "due_date": "2026-01-21",
            "amount_due": 103.2,
            "currency": "GBP",
        },
    ),
    (
        "OCTAVIA UTILITIES LTD\n\nInvoice to:\nMr Samuel Adeyemi\n"
        "48 Chestnut Grove\nLuton LU2 7HF\n\nCustomer account: 3310-882-04\n"
        "Invoice ref: OU/2025/44120\nInvoice issued 6 October 2025\n"
        "Supply from 1 September 2025 until 30 September 2025\n"
        "Charges this month £58.12\nArrears £20.00\n"
        "Please pay £78.12 before 27 October 2025\n"
        "Sort code 20-00-00 / IBAN GB02 BARC 2004 0412 3456 78\n",
        {
            "supplier": "OCTAVIA UTILITIES LTD",
            "customer_name": "Samuel Adeyemi",
            "account_number": "3310-882-04",
            "iban": "GB02BARC20040412345678",
            "postcode": "LU2 7HF",
            "country": "GB",
            "period_start": "2025-09-01",
            "period_end": "2025-09-30",
            "issue_date": "2025-10-06",
            "due_date": "2025-10-27",
            "amount_due": 78.12,
            "currency": "GBP",
        },
    ),
    (
        "Bayernwerk Vertrieb GmbH\nRechnung Nr. 99120044 vom 12. Mai 2025\n"
        "\nKunde: Franziska Bauer\nLeopoldstraße 120\n"
        "80804 München\n\nKundennr. 55 102 883\nZeitraum 01.04.2025 \u2013 30.04.2025\n"
        "Summe netto 71,00 €\nMwSt 13,49 €\nZu zahlender Betrag 84,49 €\n"
        "fällig zum 26.05.2025\nBankverbindung: DE89 3704 0044 0532 0130 00\n",
        {
            "supplier": "Bayernwerk Vertrieb GmbH",
            "customer_name": "Franziska Bauer",
            "account_number": "55 102 883",
            "iban": "DE89370400440532013000",
            "postcode": "80804",
            "country": "DE",
            "period_start": "2025-04-01",
            "period_end": "2025-04-30",
            "issue_date": "2025-05-12",
            "due_date": "2025-05-26",
            "amount_due": 84.49,
            "currency": "EUR",
        },
    ),
    (
        "Dear Mr Okonkwo,\nPlease find your quarterly water bill from Medway Water "
        "Services Ltd below.\nName: Chidi Okonkwo\nProperty: 12 Dock Road, Chatham ME4 "
        "4TZ\nAccount: MW-448190\nBill date 01/07/2025\n"
        "Quarter 01/04/2025 - 30/06/2025\nAmount payable £112.30 (due 22/07/2025)\n",
        {
            "supplier": "Medway Water Services Ltd",
            "customer_name": "Chidi Okonkwo",
            "account_number": "MW-448190",
            "iban": None,
            "postcode": "ME4 4TZ",
            "country": "GB",
            "period_start": "2025-04-01",
            "period_end": "2025-06-30",
            "issue_date": "2025-07-01",
            "due_date": "2025-07-22",
            "amount_due": 112.3,
            "currency": "GBP",
        },
    ),
    (
        "TotalÉnergies Électricité et Gaz France\nFacture du 18/11/2025\n"
        "Titulaire du contrat : Mme Julie Fontaine\n"
        "12 boulevard Voltaire, 75011 Paris\nRéférence client : 1 2033 4451\n"
        "Période du 15/10/2025 au 14/11/2025\nTotal à payer : 76,40 € TTC\n"
        "Prélèvement le 02/12/2025 sur FR76 3000 6000 0112 3456 7890 189\n",
        {
            "supplier": "TotalÉnergies Électricité et Gaz France",
            "customer_name": "Julie Fontaine",
            "account_number": "1 2033 4451",
            "iban": "FR7630006000011234567890189",
            "postcode": "75011",
            "country": "FR",
            "period_start": "2025-10-15",
            "period_end": "2025-11-14",
            "issue_date": "2025-11-18",
            "due_date": "2025-12-02",
            "amount_due": 76.4,
            "currency": "EUR",
        },
    ),
    (
        "City of Riverton Utilities\nUTILITY BILL\nAccount No: 200-44817-3\n"
        "Bill Date: 09/30/2025\nDue Date: 10/20/2025\n"
        "Service Address: 77 Maple Ave, Riverton, NJ 08077\n"
        "Customer: Robert Kline\nService Period: 08/28/2025 - 09/27/2025\n"
        "Water $41.10\nSewer $38.90\nTrash $22.00\nAMOUNT DUE $102.00\n",
        {
            "supplier": "City of Riverton Utilities",
            "customer_name": "Robert Kline",
            "account_number": "200-44817-3",
            "iban": None,
            "postcode": "08077",
            "country": None,
            "period_start": "2025-08-28",
            "period_end": "2025-09-27",
            "issue_date": "2025-09-30",
            "due_date": "2025-10-20",
            "amount_due": 102.0,
            "currency": "USD",
        },
    ),
    (
        "Iberdrola Clientes, S.A.U.\nDatos del titular\n"
        "Nombre: Lucía Fernández Ortiz\nDirección: C/ Alcalá 200, 28028 Madrid\n"
        "Contrato nº 5500223311\nFecha de emisión: 04/08/2025\n"
        "Periodo facturado: 01/07/2025 a 31/07/2025\n"
        "Total importe factura 53,20 €\nSe cargará en su cuenta ES91 2100 0418 4502 0005 "
        "1332 el 19/08/2025\n",
        {
            "supplier": "Iberdrola Clientes, S.A.U.",
            "customer_name": "Lucía Fernández Ortiz",
            "account_number": "5500223311",
            "iban": "ES9121000418450200051332",
            "postcode": "28028",
            "country": "ES",
            "period_start": "2025-07-01",
            "period_end": "2025-07-31",
            "issue_date": "2025-08-04",
            "due_date": "2025-08-19",
            "amount_due": 53.2,
            "currency": "EUR",
        },
    ),
    (
        "GREENFIELD ENERGY\nYour statement\nStatement date  14 Mar 2025      Account "
        "number  GE 7731 0092\nMs. Olivia Hart, 5 Bramble Close, Ipswich IP4 5QT\n"
        "\nPeriod              16 Feb 2025 to 15 Mar 2025\n"
        "Previous balance    £45.00 (paid)\nNew charges         £63.70\n"
        "Balance to pay      £63.70\nCollected on        28 Mar 2025\n",
        {
            "supplier": "GREENFIELD ENERGY",
            "customer_name": "Olivia Hart",
            "account_number": "GE 7731 0092",
            "iban": None,
            "postcode": "IP4 5QT",
            "country": "GB",
            "period_start": "2025-02-16",
            "period_end": "2025-03-15",
            "issue_date": "2025-03-14",
            "due_date": "2025-03-28",
            "amount_due": 63.7,
            "currency": "GBP",
        },
    ),
    (
        "A2A Energia SpA\nSig.ra Chiara Esposito\nVia Toledo 256\n"
        "80134 Napoli NA\n\nN. cliente 7700991\nData emissione 05.09.2025\n"
        "Periodo 01.07.2025 - 31.08.2025\nTotale bolletta € 134,80\n"
        "Pagare entro il 25.09.2025\nDomiciliazione: IT60 X054 2811 1010 0000 0123 456\n",
        {
            "supplier": "A2A Energia SpA",
            "customer_name": "Chiara Esposito",
            "account_number": "7700991",
            "iban": "IT60X0542811101000000123456",
            "postcode": "80134",
            "country": "IT",
            "period_start": "2025-07-01",
            "period_end": "2025-08-31",
            "issue_date": "2025-09-05",
            "due_date": "2025-09-25",
            "amount_due": 134.8,
            "currency": "EUR",
        },
    ),
    (
        "Dublin Gas Networks Ltd\nBILL\nName      Sean Murphy\n"
        "Address   14 Ormond Quay, Dublin 7, D07 X2F9\n"
        "Account   GN-33019\nBill date   20/02/2025\n"
        "Period      21/12/2024 - 19/02/2025\nAmount due  EUR 211.35\n"
        "Pay by     13/03/2025\n",
        {
            "supplier": "Dublin Gas Networks Ltd",
            "customer_name": "Sean Murphy",
            "account_number": "GN-33019",
            "iban": None,
            "postcode": "D07 X2F9",
            "country": "IE",
            "period_start": "2024-12-21",
            "period_end": "2025-02-19",
            "issue_date": "2025-02-20",
            "due_date": "2025-03-13",
            "amount_due": 211.35,
            "currency": "EUR",
        },
    ),
    (
        "Evides Waterbedrijf\nAan: mevrouw A. de Groot\n"
        "Dorpsstraat 5\n4331 AB Middelburg\n\nDebiteurnummer 600123987\n"
        "Datum nota: 10 januari 2025\nPeriode 1 oktober 2024 t/m 31 december 2024\n"
        "Totaal te betalen € 61,75\nWij incasseren dit bedrag op 24 januari 2025 van NL44 "
        "RABO 0123 4567 89\n",
        {
            "supplier": "Evides Waterbedrijf",
            "customer_name": "A. de Groot",
            "account_number": "600123987",
            "iban": "NL44RABO0123456789",
            "postcode": "4331 AB",
            "country": "NL",
            "period_start": "2024-10-01",
            "period_end": "2024-12-31",
            "issue_date": "2025-01-10",
            "due_date": "2025-01-24",
            "amount_due": 61.75,
            "currency": "EUR",
        },
    ),
    (
        "ScottishPower Retail Ltd\nBill for: Mrs Eilidh Fraser\n"
        "Supply address: 2/1, 45 Byres Road, Glasgow G11 5RG\n"
        "Account ref 1100 2293 847\nBill produced 22 April 2025\n"
        "Billing period 24 Jan - 23 Apr 2025\nBalance from previous bill £0.00\n"
        "Total charges £201.77\nWhat you owe £201.77\n"
        "Please pay by 12 May 2025\n",
        {
            "supplier": "ScottishPower Retail Ltd",
            "customer_name": "Eilidh Fraser",
            "account_number": "1100 2293 847",
            "postcode": "G11 5RG",
            "period_start": "2025-01-24",
            "period_end": "2025-04-23",
            "issue_date": "2025-04-22",
            "due_date": "2025-05-12",
            "amount_due": 201.77,
            "currency": "GBP",
        },
    ),
    (
        "INVOICE\nfrom: Vodaline Communications GmbH\n"
        "to: Herr Tobias Wendt, Kantstraße 9, 10623 Berlin\n"
        "customer no.: K-4471902\ninvoice date: 2025-06-03\n"
        "billing period: 2025-05-01 to 2025-05-31\n"
        "total (incl. VAT): 39.99 EUR\nwill be debited on 2025-06-13 from DE89 3704 0044 "
        "0532 0130 00\n",
        {
            "supplier": "Vodaline Communications GmbH",
            "customer_name": "Tobias Wendt",
            "account_number": "K-4471902",
            "postcode": "10623",
            "period_start": "2025-05-01",
            "period_end": "2025-05-31",
            "issue_date": "2025-06-03",
            "due_date": "2025-06-13",
            "amount_due": 39.99,
            "currency": "EUR",
        },
    ),
    (
        "Lyonnaise des Eaux\nM. Pierre Girard\n27 rue Paul Bert\n"
        "69003 Lyon\nN° abonné : 330 771 902\nFacture émise le 05/05/2025 pour la période "
        "du 01/01/2025 au 31/03/2025\nMontant TTC à régler : 88,56 € avant le 25/05/2025\n",
        {
            "supplier": "Lyonnaise des Eaux",
            "customer_name": "Pierre Girard",
            "account_number": "330 771 902",
            "postcode": "69003",
            "period_start": "2025-01-01",
            "period_end": "2025-03-31",
            "issue_date": "2025-05-05",
            "due_date": "2025-05-25",
            "amount_due": 88.56,
            "currency": "EUR",
        },
    ),
    (
        "BILL  Date 03-Mar-2025   Acct 77-210-9\nNorthwind Power LLC\n"
        "Customer  Dana White\n1800 Pine St, Denver, CO 80202\n"
        "Period  Feb 1 - Feb 28, 2025\nEnergy charge $74.10\n"
        "Delivery $31.55\nTotal due $105.65   Due 03/24/2025\n",
        {
            "supplier": "Northwind Power LLC",
            "customer_name": "Dana White",
            "account_number": "77-210-9",
            "postcode": "80202",
            "period_start": "2025-02-01",
            "period_end": "2025-02-28",
            "issue_date": "2025-03-03",
            "due_date": "2025-03-24",
            "amount_due": 105.65,
            "currency": "USD",
        },
    ),
]

# Card dispute claims written for these tests: cardholders' letters and mails, agents'
# notes, form dumps; dates in ISO, day-first, US and spelled-out forms; masked card
# numbers, endings with leading zeros, other dates beside the charge's.
VARIED_CLAIMS = [
    (
        "To whom it may concern,\n\nI am writing on 2 May 2026 to dispute a payment of "
        "€1.299,00 to Velora Furniture GmbH made on 12 April 2026 with my card ending "
        "0042. The sofa was delivered broken and is not what was advertised.\n"
        "\nKind regards,\nIngrid Maier",
        {
            "merchant": "Velora Furniture GmbH",
            "transaction_date": "2026-04-12",
            "claim_date": "2026-05-02",
            "amount": 1299.0,
            "currency": "EUR",
            "card_last4": "0042",
            "reason": "not_as_described",
        },
    ),
    (
        "Agent note 05/03/2026: customer called re. charge of 45.00 usd from STREAMFLIX on "
        "02/14/2026, card 5500 **** **** 7781. Says she cancelled her membership on "
        "01/20/2026 but was still billed.",
        {
            "merchant": "STREAMFLIX",
            "transaction_date": "2026-02-14",
            "claim_date": "2026-05-03",
            "amount": 45.0,
            "currency": "USD",
            "card_last4": "7781",
            "reason": "cancelled",
        },
    ),
    (
        "merchant: Orbit Airlines\ntransaction date: 2026-01-18\n"
        "amount: GBP 612.40\ncard: XXXX-XXXX-XXXX-0917\n"
        "reason code: not_received\nsubmitted: 2026-02-01",
        {
            "merchant": "Orbit Airlines",
            "transaction_date": "2026-01-18",
            "claim_date": "2026-02-01",
            "amount": 612.4,
            "currency": "GBP",
            "card_last4": "0917",
            "reason": "not_received",
        },
    ),
    (
        "Hello, I see two identical charges of $23.99 from Crumb & Co Bakery on March 9, "
        "2026 on my Visa ending 3308. Only one order was placed. Today is March 11, 2026.",
        {
            "merchant": "Crumb & Co Bakery",
            "transaction_date": "2026-03-09",
            "claim_date": "2026-03-11",
            "amount": 23.99,
            "currency": "USD",
            "card_last4": "3308",
            "reason": "duplicate",
        },
    ),
    (
        "Claim filed 14.07.2026. Karteninhaber meldet: Zahlung über 89,50 EUR an Hotel "
        "Seeblick am 01.07.2026 nicht autorisiert. Karte endet auf 6610.",
        {
            "merchant": "Hotel Seeblick",
            "transaction_date": "2026-07-01",
            "claim_date": "2026-07-14",
            "amount": 89.5,
            "currency": "EUR",
            "card_last4": "6610",
            "reason": "fraud",
        },
    ),
    (
        "Date submitted: 30 September 2026\nI ordered running shoes from PaceRunner Ltd on "
        "2 September 2026 and paid £79.95 with card **** **** **** 1204. They never "
        "arrived and the tracking stopped.",
        {
            "merchant": "PaceRunner Ltd",
            "transaction_date": "2026-09-02",
            "claim_date": "2026-09-30",
            "amount": 79.95,
            "currency": "GBP",
            "card_last4": "1204",
            "reason": "not_received",
        },
    ),
    (
        "Dispute form\nCardholder: R. Okoye\nCard number: **** **** **** ****\n"
        "Merchant: Nimbus Cloud Storage\nDate of charge: 5 Feb 2026\n"
        "Amount: 9.99 EUR\nReason: I do not recognise this charge\n"
        "Date: 7 Feb 2026",
        {
            "merchant": "Nimbus Cloud Storage",
            "transaction_date": "2026-02-05",
            "claim_date": "2026-02-07",
            "amount": 9.99,
            "currency": "EUR",
            "card_last4": None,
            "reason": "fraud",
        },
    ),
    (
        "I'm disputing the charge of 1,250.00 GBP by Grandview Electronics on 10 January "
        "2026 - the TV I received is a different model than ordered. Card ending 2290. "
        "Written 20 June 2026.",
        {
            "merchant": "Grandview Electronics",
            "transaction_date": "2026-01-10",
            "claim_date": "2026-06-20",
            "amount": 1250.0,
            "currency": "GBP",
            "card_last4": "2290",
            "reason": "not_as_described",
        },
    ),
    (
        "Sent: 3 March 2026\nFrom: paul.k@example.com\n"
        "Subject: chargeback\n\nMy gym, FitZone Studios, took EUR 39.00 on 1 March 2026 "
        "although I ended my contract on 31 January 2026. Card ending 5512.",
        {
            "merchant": "FitZone Studios",
            "transaction_date": "2026-03-01",
            "claim_date": "2026-03-03",
            "amount": 39.0,
            "currency": "EUR",
            "card_last4": "5512",
            "reason": "cancelled",
        },
    ),
    (
        "merchant=Kappa "
        "Rentals;txn_date=15/04/2026;amount=15000.00;currency=EUR;card_last4=8123;reason=fraud;claim_date=20/04/2026",
        {
            "merchant": "Kappa Rentals",
            "transaction_date": "2026-04-15",
            "claim_date": "2026-04-20",
            "amount": 15000.0,
            "currency": "EUR",
            "card_last4": "8123",
            "reason": "fraud",
        },
    ),
    (
        "On the twelfth I noticed it: Brightside Pharmacy charged me 18.40 CHF on 12 May "
        "2026. I didn't make this purchase. Card ending 7002. Claim submitted 13 May 2026.",
        {
            "merchant": "Brightside Pharmacy",
            "transaction_date": "2026-05-12",
            "claim_date": "2026-05-13",
            "amount": 18.4,
            "currency": "CHF",
            "card_last4": "7002",
            "reason": "fraud",
        },
    ),
    (
        "Customer complaint received 22/08/2026. Payment to Horizon Travel of £420.00 on "
        "18/08/2026 (card ending 0306). Customer wants a refund because the hotel was not "
        "as booked.",
        {
            "merchant": "Horizon Travel",
            "transaction_date": "2026-08-18",
            "claim_date": "2026-08-22",
            "amount": 420.0,
            "currency": "GBP",
            "card_last4": "0306",
            "reason": "not_as_described",
        },
    ),
    (
        "I paid Quickcab 12.50 EUR twice on 2026-06-06 - duplicate charge. Card last four "
        "4410. Filing this on 2026-06-08.",
        {
            "merchant": "Quickcab",
            "transaction_date": "2026-06-06",
            "claim_date": "2026-06-08",
            "amount": 12.5,
            "currency": "EUR",
            "card_last4": "4410",
            "reason": "duplicate",
        },
    ),
    (
        "Reported on 1 December 2026: a charge of $310.00 from Summit Outdoor Gear dated "
        "10 November 2026 on card ending 9921. The tent was never delivered.",
        {
            "merchant": "Summit Outdoor Gear",
            "transaction_date": "2026-11-10",
            "claim_date": "2026-12-01",
            "amount": 310.0,
            "currency": "USD",
            "card_last4": "9921",
            "reason": "not_received",
        },
    ),
    (
        "Claim date: 2026-02-10\nMerchant: Lumen Books\n"
        "Transaction: 2026-02-15\nAmount: 22.00\nCurrency: GBP\n"
        "Card: 3141\nReason: duplicate",
        {
            "merchant": "Lumen Books",
            "transaction_date": "2026-02-15",
            "claim_date": "2026-02-10",
            "amount": 22.0,
            "currency": "GBP",
            "card_last4": "3141",
            "reason": "duplicate",
        },
    ),
    (
        "Hi team, customer Jane Doe says Coastline Ferries charged her card (ends in 0088) "
        "£64.00 on 4 Jul 2026 for a crossing that was cancelled by the ferry company. "
        "Logged 6 Jul 2026.",
        {
            "merchant": "Coastline Ferries",
            "transaction_date": "2026-07-04",
            "claim_date": "2026-07-06",
            "amount": 64.0,
            "currency": "GBP",
            "card_last4": "0088",
            "reason": "cancelled",
        },
    ),
    (
        "Written on 9 October 2026. I bought a watch from Tempus Watches SA for 2.450,00 "
        "EUR on 28 September 2026 (card ending 6003). It turned out to be a fake.",
        {
            "merchant": "Tempus Watches SA",
            "transaction_date": "2026-09-28",
            "claim_date": "2026-10-09",
            "amount": 2450.0,
            "currency": "EUR",
            "card_last4": "6003",
            "reason": "not_as_described",
        },
    ),
    (
        "Transaction 11/03/2026 - PIXELPLAY GAMES - 59.99 USD - card ****2047\n"
        "Cardholder states the charge was not authorised by him. Dispute raised 12/03/2026.",
        {
            "merchant": "PIXELPLAY GAMES",
            "transaction_date": "2026-03-11",
            "claim_date": "2026-03-12",
            "amount": 59.99,
            "currency": "USD",
            "card_last4": "2047",
            "reason": "fraud",
        },
    ),
    (
        "On 3rd of June 2026 Greenleaf Grocers charged my card ending 1180 €56.30. On 5th "
        "of June 2026 I am asking for this back: I never placed that order and don't "
        "recognise the shop.",
        {
            "merchant": "Greenleaf Grocers",
            "transaction_date": "2026-06-03",
            "claim_date": "2026-06-05",
            "amount": 56.3,
            "currency": "EUR",
            "card_last4": "1180",
            "reason": "fraud",
        },
    ),
    pytest.param(
        "Please dispute: Alpine Ski Hire, 240 EUR, 14 January 2026, card ending 7734. The "
        "shop refused to refund my deposit, which is why I am complaining. 20 January 2026.",
        {
            "merchant": "Alpine Ski Hire",
            "transaction_date": "2026-01-14",
            "claim_date": "2026-01-20",
            "amount": 240.0,
            "currency": "EUR",
            "card_last4": "7734",
            "reason": "other",
        },
        marks=pytest.mark.xfail(reason="no word says which date is the charge's", strict=True),
    ),
    (
        "Complaint dated 2026-09-15. On 2026-04-02 I was charged 75.00 EUR by Metro "
        "Parking for a permit that I had already cancelled. Card ending 5051.",
        {
            "merchant": "Metro Parking",
            "transaction_date": "2026-04-02",
            "claim_date": "2026-09-15",
            "amount": 75.0,
            "currency": "EUR",
            "card_last4": "5051",
            "reason": "cancelled",
        },
    ),
    (
        "I want my money back from Nova Gadgets. They took GBP 199.00 on 8 August 2026, "
        "card ending 4402, for a phone that never came. (sent 8 Sept 2026)",
        {
            "merchant": "Nova Gadgets",
            "transaction_date": "2026-08-08",
            "claim_date": "2026-09-08",
            "amount": 199.0,
            "currency": "GBP",
            "card_last4": "4402",
            "reason": "not_received",
        },
    ),
    (
        "DISPUTE\nDate: 17 March 2026\nCard ending: 0019\n"
        "I was charged USD 14.99 by Melody Music on 15 March 2026 and again the same day "
        "for the same subscription.",
        {
            "merchant": "Melody Music",
            "transaction_date": "2026-03-15",
            "claim_date": "2026-03-17",
            "amount": 14.99,
            "currency": "USD",
            "card_last4": "0019",
            "reason": "duplicate",
        },
    ),
    (
        'Claimant writes (submitted 30/01/2026): "Casa Bella Restaurant charged me 86,40 '
        '€ on 24/01/2026. I never ate there." Card ending 3377.',
        {
            "merchant": "Casa Bella Restaurant",
            "transaction_date": "2026-01-24",
            "claim_date": "2026-01-30",
            "amount": 86.4,
            "currency": "EUR",
            "card_last4": "3377",
            "reason": "fraud",
        },
    ),
    (
        "Card ending 9090. Charged AUD 120.00 by Koala Tours on 2 February 2026; the tour "
        "never took place and the company cancelled it. Claim made 10 February 2026.",
        {
            "merchant": "Koala Tours",
            "transaction_date": "2026-02-02",
            "claim_date": "2026-02-10",
            "amount": 120.0,
            "currency": "AUD",
            "card_last4": "9090",
            "reason": "cancelled",
        },
    ),
    pytest.param(
        "Good afternoon, my name is Priya Shah. On 19 Feb 2026 Zephyr Audio charged "
        "£249.00 to my card ending 6115 for speakers I returned; they refuse to credit me. "
        "Sent 2 March 2026.",
        {
            "merchant": "Zephyr Audio",
            "transaction_date": "2026-02-19",
            "claim_date": "2026-03-02",
            "amount": 249.0,
            "currency": "GBP",
            "card_last4": "6115",
            "reason": "other",
        },
        marks=pytest.mark.xfail(
            reason="a reason in none of the known words: the model's choice", strict=True
        ),
    ),
    (
        "Merchant name: Harbour Fish Market | Txn date: 03/07/2026 | Amt: 64,80 EUR | Card "
        "****0770 | Reason: goods not received | Submitted: 21/07/2026",
        {
            "merchant": "Harbour Fish Market",
            "transaction_date": "2026-07-03",
            "claim_date": "2026-07-21",
            "amount": 64.8,
            "currency": "EUR",
            "card_last4": "0770",
            "reason": "not_received",
        },
    ),
    (
        "I noticed a payment of USD 1,020.00 to SKYLINE HOTELS dated June 1, 2026 that I "
        "did not make. My card number ends with 4499. I'm filing this dispute on June 3, "
        "2026.",
        {
            "merchant": "SKYLINE HOTELS",
            "transaction_date": "2026-06-01",
            "claim_date": "2026-06-03",
            "amount": 1020.0,
            "currency": "USD",
            "card_last4": "4499",
            "reason": "fraud",
        },
    ),
    (
        "Re: dispute\nDate of letter: 12 November 2026\n"
        "On 29 October 2026 Fernweh Reisen GmbH debited 1.480,00 EUR. The trip was "
        "cancelled by them. Card: **** **** **** 2300.",
        {
            "merchant": "Fernweh Reisen GmbH",
            "transaction_date": "2026-10-29",
            "claim_date": "2026-11-12",
            "amount": 1480.0,
            "currency": "EUR",
            "card_last4": "2300",
            "reason": "cancelled",
        },
    ),
    (
        "Charged twice! Bolt Coffee took £4.50 two times on 8 May 2026. card ending 3012. "
        "9 May 2026",
        {
            "merchant": "Bolt Coffee",
            "transaction_date": "2026-05-08",
            "claim_date": "2026-05-09",
            "amount": 4.5,
            "currency": "GBP",
            "card_last4": "3012",
            "reason": "duplicate",
        },
    ),
    (
        "Dispute submitted 2026-12-20 for a purchase at NorthPeak Sports on 2026-07-15, "
        "180.00 EUR, card 7321: the jacket is a cheap copy, not the brand advertised.",
        {
            "merchant": "NorthPeak Sports",
            "transaction_date": "2026-07-15",
            "claim_date": "2026-12-20",
            "amount": 180.0,
            "currency": "EUR",
            "card_last4": "7321",
            "reason": "not_as_described",
        },
    ),
    (
        "Cardholder contacted us 04/04/2026 about $75.25 charged by Vista Cinemas on "
        "03/28/2026 on card xxxx xxxx xxxx 5606 - cardholder says the card was stolen.",
        {
            "merchant": "Vista Cinemas",
            "transaction_date": "2026-03-28",
            "claim_date": "2026-04-04",
            "amount": 75.25,
            "currency": "USD",
            "card_last4": "5606",
            "reason": "fraud",
        },
    ),
    (
        "Hello, I cancelled my subscription with Pulse Fitness on 15 January 2026 but on 1 "
        "February 2026 they still took 29.99 GBP from my card ending 8844. Writing today, "
        "5 February 2026.",
        {
            "merchant": "Pulse Fitness",
            "transaction_date": "2026-02-01",
            "claim_date": "2026-02-05",
            "amount": 29.99,
            "currency": "GBP",
            "card_last4": "8844",
            "reason": "cancelled",
        },
    ),
    (
        "date of claim: 10.03.2026\nshop: Kaufhaus Lindner\n"
        "betrag: 349,00 EUR\ngekauft am: 02.03.2026\n"
        "karte: 1207\ngrund: Ware beschädigt angekommen",
        {
            "merchant": "Kaufhaus Lindner",
            "transaction_date": "2026-03-02",
            "claim_date": "2026-03-10",
            "amount": 349.0,
            "currency": "EUR",
            "card_last4": "1207",
            "reason": "not_as_described",
        },
    ),
    (
        "My order from Maple & Oak Interiors (paid €310 on 14 August 2026 with card ending "
        "0101) has not arrived. Today is 30 September 2026.",
        {
            "merchant": "Maple & Oak Interiors",
            "transaction_date": "2026-08-14",
            "claim_date": "2026-09-30",
            "amount": 310.0,
            "currency": "EUR",
            "card_last4": "0101",
            "reason": "not_received",
        },
    ),
    (
        "Subject: Unauthorised transaction\nSent: Tuesday, 14 April 2026\n"
        "\nDear Sir or Madam, a payment of £312.00 to TECHWORLD DIRECT appeared on my "
        "statement dated 10 April 2026. I have never shopped there. Card ending 5092.\n"
        "Regards, M. Hughes",
        {
            "merchant": "TECHWORLD DIRECT",
            "transaction_date": "2026-04-10",
            "claim_date": "2026-04-14",
            "amount": 312.0,
            "currency": "GBP",
            "card_last4": "5092",
            "reason": "fraud",
        },
    ),
    (
        "[form] cardholder=Ana Lima | merchant=Rio Tech Store | tx=2026-03-03 | value=BRL "
        "500,00 | last4=4410 | motive=not_received | created=2026-03-25",
        {
            "merchant": "Rio Tech Store",
            "transaction_date": "2026-03-03",
            "claim_date": "2026-03-25",
            "amount": 500.0,
            "currency": "BRL",
            "card_last4": "4410",
            "reason": "not_received",
        },
    ),
    (
        "The hotel booking at Seaview Lodge (€189.00, charged 2 July 2026) was cancelled "
        "by me within the free cancellation window on 20 June 2026 but I was charged "
        "anyway. Card ending 3300. Dated 6 July 2026.",
        {
            "merchant": "Seaview Lodge",
            "transaction_date": "2026-07-02",
            "claim_date": "2026-07-06",
            "amount": 189.0,
            "currency": "EUR",
            "card_last4": "3300",
            "reason": "cancelled",
        },
    ),
    pytest.param(
        "agent: cust reports dup charge - Urban Eats - 2x 18.75 GBP on 7/5/2026 - card "
        "xx9981 - opened 7/6/2026",
        {
            "merchant": "Urban Eats",
            "transaction_date": "2026-05-07",
            "claim_date": "2026-06-07",
            "amount": 18.75,
            "currency": "GBP",
            "card_last4": "9981",
            "reason": "duplicate",
        },
        marks=pytest.mark.xfail(
            reason="a shop named only between dashes of an agent's note", strict=True
        ),
    ),
    (
        "On March 2nd, 2026 I purchased a laptop from BYTEHAUS for USD 899.00 (Visa ending "
        "0405). It arrived with a cracked screen. Submitting this claim March 9th, 2026.",
        {
            "merchant": "BYTEHAUS",
            "transaction_date": "2026-03-02",
            "claim_date": "2026-03-09",
            "amount": 899.0,
            "currency": "USD",
            "card_last4": "0405",
            "reason": "not_as_described",
        },
    ),
    (
        "Date: 02.11.2026\nIch habe am 28.10.2026 bei Modehaus Klein 129,90 € bezahlt "
        "(Karte endet auf 3107). Die Ware ist nie angekommen.",
        {
            "merchant": "Modehaus Klein",
            "transaction_date": "2026-10-28",
            "claim_date": "2026-11-02",
            "amount": 129.9,
            "currency": "EUR",
            "card_last4": "3107",
            "reason": "not_received",
        },
    ),
]


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


def test_a_range_start_without_its_year_takes_the_end_s_year() -> None:
    found = find.find_dates("Billing period: 15 Dec - 14 Jan 2025, Service Jan 12 to Feb 11, 2025")
    assert [(c.value.isoformat(), c.role) for c in found] == [
        ("2024-12-15", "start"),
        ("2025-01-14", "end"),
        ("2025-01-12", "start"),
        ("2025-02-11", "end"),
    ]


def test_a_document_writing_dates_month_first_has_all_read_so() -> None:
    us = find.find_dates("Statement 06/14/2025, service 05/10/2025 - 06/09/2025")
    assert [c.value.isoformat() for c in us] == ["2025-06-14", "2025-05-10", "2025-06-09"]
    # Evidence both ways: each date as Europe writes it, unless it can only be US.
    mixed = find.find_dates("Sent 25/03/2025 about 03/14/2025 and 05/04/2025")
    assert [c.value.isoformat() for c in mixed] == ["2025-03-25", "2025-03-14", "2025-04-05"]


@pytest.mark.parametrize(
    ("text", "ending"),
    [
        ("card: XXXX-XXXX-XXXX-0917", "0917"),
        ("card=6021; reason=duplicate", "6021"),
        ("(card 1953); tour cancelled", "1953"),
        ("Karte: 1207", "1207"),
        ("card ends in 0088", "0088"),
        ("card 5500 **** **** 7781.", "7781"),
    ],
)
def test_card_endings_as_forms_and_people_write_them(text: str, ending: str) -> None:
    assert [c.value for c in find.find_card_endings(text)] == [ending]


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


PIPELINES = Path(__file__).parents[3] / "pipelines"
# A document read without the model, by shapes and labels alone, on two busy cores.
MAX_MS_PER_DOCUMENT = 1000


def _extractor_schema(pipeline: str) -> dict[str, Any]:
    """The schema a declared pipeline gives its extractor step: what is tested is what runs."""
    declared = yaml.safe_load((PIPELINES / f"{pipeline}.yaml").read_text())
    step = next(s for s in declared["steps"] if s["micromodel"] == "extractor")
    schema: dict[str, Any] = step["arguments"]["schema"]
    return schema


@pytest.mark.parametrize(("text", "wanted"), VARIED_BILLS)
def test_varied_bills_read_by_shapes_and_labels(text: str, wanted: dict[str, Any]) -> None:
    schema = _extractor_schema("bill-to-data")
    data = read_document(text, read_fields(schema), None)
    assert {name: _plain(data.get(name)) for name in wanted} == {
        name: _plain(value) for name, value in wanted.items()
    }


def _plain(value: Any) -> Any:
    """A text as a reader compares it: case, blanks and a closing full stop aside."""
    return " ".join(value.casefold().rstrip(" .,").split()) if isinstance(value, str) else value


@pytest.mark.parametrize(("text", "wanted"), VARIED_CLAIMS)
def test_varied_claims_read_as_the_rules_read_them(text: str, wanted: dict[str, Any]) -> None:
    """Each field as the claims pipeline's rules step normalises it (an amount "as
    written" to its number, a masked card to its last four)."""
    schema = _extractor_schema("claims-validation")
    data = read_document(text, read_fields(schema), None)
    record = {name: data.get(name) for name in wanted}
    request = RulesRequest.model_validate(
        {"record": record, "ruleset": "card-disputes", "version": "1"}
    )
    normalised = judge(library_of(None).resolve("card-disputes", "1"), request).normalised
    assert {name: _plain(normalised.get(name)) for name in wanted} == {
        name: _plain(value) for name, value in wanted.items()
    }


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Chargeback, reason code 13.1, amount 10.40 EUR", "not_received"),
        ("RC 4837 - card not present", "fraud"),
        ("I didn't authorise it.", "fraud"),
        ("It arrived with a cracked screen.", "not_as_described"),
        ("Die Ware ist nie angekommen.", "not_received"),
        ("agent: cust reports dup charge", "duplicate"),
        ("The TV I received is a different model.", "not_as_described"),
    ],
)
def test_a_reason_said_in_words_or_as_a_scheme_code(text: str, reason: str) -> None:
    specs = [s for s in read_fields(_extractor_schema("claims-validation")) if s.name == "reason"]
    assert read_document(text, specs, None)["reason"] == reason


def test_reading_a_document_takes_milliseconds() -> None:
    # A case is (text, wanted), or a pytest.param holding them as its values.
    documents = [str(getattr(case, "values", case)[0]) for case in VARIED_BILLS]
    specs = read_fields(_extractor_schema("bill-to-data"))
    started = time.perf_counter()
    for text in documents:
        read_document(text, specs, None)
    per_document = (time.perf_counter() - started) * 1000 / len(documents)
    assert per_document < MAX_MS_PER_DOCUMENT


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

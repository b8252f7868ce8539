"""Requests with the calls a right plan makes: the planner's measuring stick.

Each case: the request, and the expected calls as (micromodel, key arguments).
Only the arguments named here are compared; others (e.g. a default max_words)
may be anything valid. An empty list means: out of scope, no call.
"""

from __future__ import annotations

from typing import Any

BILL = (
    "Stadtwerke Nord. Electricity bill for Max Müller, Hauptstraße 12, Hamburg. "
    "Amount due: 84.20 EUR, to be paid by 15 April 2026."
)
NOTES = (
    "The city council met on Tuesday to discuss the new bicycle lanes on Main Street. "
    "Residents complained about blocked parking, and the council promised free parking "
    "in the municipal garage until the works end."
)
COMPLAINT = "I was charged twice for my last order and nobody answers my emails."
INVOICE = (
    "Invoice 2291 from Müller GmbH, Hauptstraße 5, 10115 Berlin, Germany. "
    "Amount: 1,200.00 EUR net, payable within 30 days."
)

Expected = list[tuple[str, dict[str, Any]]]

CASES: list[tuple[str, Expected]] = [
    # single VAT calls
    ("What is the VAT rate in Germany?", [("vat-rates", {"country": "DE"})]),
    ("VAT in Malta please", [("vat-rates", {"country": "MT"})]),
    ("Give me the reduced tax rates for Portugal.", [("vat-rates", {"country": "PT"})]),
    ("How much value added tax do Danish shops charge?", [("vat-rates", {"country": "DK"})]),
    # several countries
    (
        "What are the VAT rates in Germany, France and Italy?",
        [("vat-rates", {"country": c}) for c in ("DE", "FR", "IT")],
    ),
    (
        "Compare VAT between Spain and the Netherlands",
        [("vat-rates", {"country": c}) for c in ("ES", "NL")],
    ),
    (
        "VAT for AT, BE and LU",
        [("vat-rates", {"country": c}) for c in ("AT", "BE", "LU")],
    ),
    # all countries
    ("List the VAT rates of all EU member states.", [("vat-rates", {"country": "*"})] * 27),
    ("What is the VAT in every EU country?", [("vat-rates", {"country": "*"})] * 27),
    # summaries
    (f"Summarize this text: {NOTES}", [("summarizer", {"text": NOTES})]),
    (f"Give me a short summary of the following: {NOTES}", [("summarizer", {"text": NOTES})]),
    (f"TL;DR: {NOTES}", [("summarizer", {"text": NOTES})]),
    (
        f"Summarise in 10 words: {NOTES}",
        [("summarizer", {"text": NOTES, "max_words": 10})],
    ),
    (f"Can you condense these meeting notes? {NOTES}", [("summarizer", {"text": NOTES})]),
    # extractions
    (
        f"Extract the name, address, amount and due date from this bill: {BILL}",
        [("extractor", {"text": BILL, "fields": ["name", "address", "amount", "due_date"]})],
    ),
    (
        f"Pull the customer name and the total out of this invoice: {BILL}",
        [("extractor", {"text": BILL, "fields": ["customer_name", "total"]})],
    ),
    (
        f"From this document, get the amount and the due date: {BILL}",
        [("extractor", {"text": BILL, "fields": ["amount", "due_date"]})],
    ),
    # classifications
    (
        f"Classify this complaint as billing, delivery or technical: {COMPLAINT}",
        [("classifier", {"text": COMPLAINT, "labels": ["billing", "delivery", "technical"]})],
    ),
    (
        f"Route this message to sales, support or legal: {COMPLAINT}",
        [("classifier", {"text": COMPLAINT, "labels": ["sales", "support", "legal"]})],
    ),
    (
        f"Which category fits this ticket best - hardware, software or billing? {COMPLAINT}",
        [("classifier", {"text": COMPLAINT, "labels": ["hardware", "software", "billing"]})],
    ),
    (
        f"Is this review positive or negative? {COMPLAINT}",
        [("classifier", {"text": COMPLAINT, "labels": ["positive", "negative"]})],
    ),
    # mixed
    (
        f"What are the VAT rates in Germany and France, and summarize this: {NOTES}",
        [
            ("vat-rates", {"country": "DE"}),
            ("vat-rates", {"country": "FR"}),
            ("summarizer", {"text": NOTES}),
        ],
    ),
    (
        f"Tell me the VAT in Ireland. Also classify as urgent or routine: {COMPLAINT}",
        [
            ("vat-rates", {"country": "IE"}),
            ("classifier", {"text": COMPLAINT, "labels": ["urgent", "routine"]}),
        ],
    ),
    (
        f"Summarize and classify as billing or delivery: {COMPLAINT}",
        [
            ("summarizer", {"text": COMPLAINT}),
            ("classifier", {"text": COMPLAINT, "labels": ["billing", "delivery"]}),
        ],
    ),
    (
        f"Extract the amount from this bill and tell me the VAT rate in Germany: {BILL}",
        [
            ("extractor", {"text": BILL, "fields": ["amount"]}),
            ("vat-rates", {"country": "DE"}),
        ],
    ),
    # arguments the rules cannot read: the model routes, then writes them
    (f"Who sent this bill and how much do I owe? {BILL}", [("extractor", {"text": BILL})]),
    (
        f"What is the sentiment of this review: {COMPLAINT}",
        [("classifier", {"text": COMPLAINT, "labels": ["positive", "negative", "neutral"]})],
    ),
    # chained: the first round's calls; the VAT call waits for the extracted country
    (
        f"Extract the country from this invoice, then give me the VAT rates for it: {INVOICE}",
        [("extractor", {"text": INVOICE, "fields": ["country"]})],
    ),
    (
        f"Summarize this, then classify the summary as billing or delivery: {COMPLAINT}",
        [
            ("summarizer", {"text": COMPLAINT}),
            ("classifier", {"text": COMPLAINT, "labels": ["billing", "delivery"]}),
        ],
    ),
    # out of scope
    ("Write me a poem about the sea.", []),
    ("What's the weather in Paris tomorrow?", []),
    ("Book a table for two at 8 pm.", []),
    ("Translate 'good morning' into Italian.", []),
    ("Who won the football world cup in 2014?", []),
    ("hello", []),
    ("What is the capital of Sweden?", []),
]

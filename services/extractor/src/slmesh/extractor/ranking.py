"""How well a candidate fits a field before any model is asked: the words that label it.

Documents name their values ("Account number:", "Please pay by", "Rechnungsdatum:"),
so a candidate's prior is its shape's confidence plus how well the words on its line
before it match the field: the field's own words, and the cue phrases of the concept
the field stands for (a due date, an amount to pay, a customer's account), in the
languages European bills, claims and letters are written in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from slmesh.extractor.candidates import Candidate, label_after, label_before, line_of
from slmesh.extractor.fields import FieldSpec


@dataclass(frozen=True)
class Concept:
    """What a field stands for, known by words of its name or description, and the
    phrases a document labels such a value with (weights: negative ones rule it out)."""

    triggers: frozenset[str]
    cues: dict[str, float]


def _concept(triggers: str, cues: dict[str, float]) -> Concept:
    return Concept(frozenset(triggers.split()), cues)


_DUE: Final = _concept(
    "due deadline payable",
    {
        "due": 3, "pay by": 3, "please pay": 2.5, "deadline": 3, "payable": 2.5,
        "must be paid": 3, "paid by": 2, "debited": 2.5, "collected": 2.5, "taken on": 1.5,
        "lastschrift": 2, "direct debit": 2, "on or after": 2, "fällig": 3, "zahlbar": 3,
        "eingezogen": 2.5, "límite": 3, "vencimiento": 3, "échéance": 3, "scadenza": 3,
        "vervaldatum": 3, "prazo": 3, "eräpäivä": 3, "uiterlijk": 3, "te betalen": 2.5,
        "entro": 2.5, "spätestens": 3, "bis zum": 2, "avant le": 2.5, "antes de": 2.5,
        "até": 2, "à payer": 2.5, "a pagar": 2.5, "da pagare": 2.5, "to pay": 2,
        "received": -3, "reading": -2, "issued": -2, "invoice date": -3, "bill date": -3,
        "statement date": -3, "factuurdatum": -3, "rechnungsdatum": -3, "emisión": -3,
        "fattura": -1.5, "del": -0.5,
    },
)  # fmt: skip
_ISSUE: Final = _concept(
    "issue issued invoice bill statement dated document",
    {
        "bill date": 3, "invoice date": 3, "statement date": 3, "issue date": 3,
        "date of issue": 3, "issued": 3, "rechnungsdatum": 3, "emisión": 3, "émission": 3,
        "emissão": 3, "assessment date": 3, "factuurdatum": 3, "date d'émission": 3,
        "laskun päivä": 3, "datum": 1, "date": 1, "fecha": 1, "data": 1, "dated": 2,
        "fattura": 1.5, "factura": 1.5, "facture": 1.5, "factuur": 1.5, "rechnung": 1.5,
        "invoice": 1.5, "del": 0.5, "vom": 0.5, "du": 0.5,
        "due": -3, "pay": -2, "reading": -2, "received": -2, "debited": -2,
    },
)  # fmt: skip
_PERIOD: Final = _concept(
    "period billed billing start end begin first last from until service",
    {
        "period": 1.5, "zeitraum": 1.5, "periodo": 1.5, "période": 1.5, "periode": 1.5,
        "período": 1.5, "for the period": 2, "from": 0.5, "reading": -1,
    },
)  # fmt: skip
_TRANSACTION: Final = _concept(
    "transaction purchase purchased bought order ordered charged charge payment",
    {
        "transaction": 3, "purchase": 3, "purchased": 3, "bought": 3, "ordered": 2.5,
        "order": 2, "charged": 2.5, "paid": 2, "payment": 1.5, "booked": 2, "on": 0.5,
        "date:": -1, "today": -2, "received": -1.5, "took": 2, "billed": 2, "debited": 2,
        "charge": 2, "date of charge": 2, "txn": 3, "dated": 1,
        # Other events a claim tells of: a membership cancelled, a contract ended.
        "cancelled": -2, "canceled": -2, "cancel": -2, "ended": -2, "terminated": -2,
        "claim": -2, "submitted": -2, "filed": -2, "reported": -2, "logged": -2,
        "written": -2, "writing": -2, "raised": -2, "complaint": -2, "sent": -2,
    },
)  # fmt: skip
_CLAIM: Final = _concept(
    "claim complaint dispute report reported request submitted filed letter written sent",
    {
        "date": 2, "dated": 2, "today": 2.5, "sent": 2, "submitted": 2.5, "filed": 2.5,
        "written": 2, "writing": 2, "claim date": 3, "reported": 1.5, "purchase": -2, "bought": -2,
        "ordered": -2, "charged": -2, "transaction": -2, "paid": -1.5, "delivered": -1,
        "received": 2.5, "logged": 2.5, "raised": 2.5, "note": 1.5, "complaint": 1.5,
        "made": 1, "contacted": 2, "called": 2, "wrote": 2, "emailed": 2, "charge": -2,
        "cancelled": -2, "canceled": -2, "cancel": -2, "ended": -2, "took": -2, "billed": -2,
        "debited": -2, "txn": -3,
    },
)  # fmt: skip
_AMOUNT: Final = _concept(
    "amount total due pay owed balance sum price cost charge charged paid refund",
    {
        "to pay": 3, "amount due": 3, "total due": 3, "balance": 2.5, "due": 2,
        "nachzahlung": 3, "owed": 2.5, "owe": 2.5, "total": 2, "amount": 1.5, "betrag": 1.5,
        "importe": 1.5, "a pagar": 3, "à payer": 3, "charged": 2, "debited": 1.5,
        "refund": 1.5, "collected": 1.5, "price": 1, "cost": 1, "paid": 1,
        "subtotal": -3, "net": -2, "vat": -2, "tax": -1.5, "excl": -2, "before": -2,
        "previous": -3, "brought forward": -3, "received": -2, "@": -2, " x ": -1.5,
        "abschlag": -2, "credit": -2, "discount": -2, "standing": -2, "of which": -3,
        "per ": -1, "monthly": -1, "ust": -2, "steuer": -1.5, "iva": -1.5, "btw": -1.5,
        # Compounds and phrases of other languages: a bill's total to pay, not its parts.
        "rechnungsbetrag": 2, "gesamtbetrag": 2.5, "endbetrag": 3, "zahlbetrag": 3,
        "zu zahlen": 3, "nettobetrag": -3, "arbeitspreis": -2, "grundpreis": -2,
        "totale da pagare": 3, "da pagare": 3, "importo": 1.5, "totale": 2,
        "imponibile": -3, "total a pagar": 3, "importe total": 2.5, "montant": 1.5,
        "montant total": 2, "total ttc": 2.5, "ht": -2, "te betalen": 3, "totaal": 2,
        "yhteensä": 2, "solde précédent": -3, "vorig saldo": -3, "saldo anterior": -3,
        "opening balance": -3, "last bill": -2, "capital": -3, "instalments of": -2,
    },
)  # fmt: skip
_ACCOUNT: Final = _concept(
    "account customer client contract reference ref membership policy subscriber",
    {
        "account": 3, "acct": 3, "customer number": 3, "customer no": 3, "customer ref": 3,
        "customer id": 3, "kundennummer": 3, "kunden-nr": 3, "kd-nr": 3, "client no": 3,
        "client number": 3, "client ref": 3, "abonado": 3, "taxpayer": 2.5, "contract": 2,
        "vertragsnummer": 2.5, "reference": 1.5, "ref": 1.2, "referenz": 1.5,
        "asiakasnumero": 3, "klantnummer": 3, "número": 0.5, "number": 0.5, "nummer": 0.5,
        "client": 2.5, "cliente": 2.5, "codice cliente": 3, "n° client": 3, "acc": 2,
        "numéro client": 3, "référence client": 3, "kundennr": 3, "contrato": 2,
        "contrat": 2, "contratto": 2, "vertrag": 2, "abonnement": 1.5, "klant": 2.5,
        "invoice": -2, "rechnung": -2, "fattura": -2, "factura": -2, "facture": -2,
        "factuur": -2, "meter": -3, "zähler": -3, "metering": -3,
        "gprn": -2, "mprn": -2, "mandate": -2, "iban": -3, "bic": -3, "tel": -3,
        "phone": -3, "call": -3, "entity": -2, "vat": -2, "order": -1,
        "compte": 3, "n° de compte": 3, "abonné": 3, "n° abonné": 3, "abbonato": 3,
        "numéro de compte": 3, "utente": 3, "cod. utente": 3,
        "codice utente": 3, "vertragskonto": 3, "kontonummer": 3, "customer reference": 3,
        "account reference": 3, "referencia": 1.5, "telefon": -3, "téléphone": -3,
        "telefono": -3, "zählernummer": -3, "bill number": -2, "notanummer": -2,
        "factuurnummer": -2, "rechnungsnummer": -2, "invoice number": -2,
        "debiteurnummer": 3, "debtor number": 3,
    },
)  # fmt: skip
_PERSON: Final = _concept(
    "customer client holder recipient addressee person name tenant patient cardholder",
    {
        "customer": 2, "client": 2, "name": 2, "titular": 2, "holder": 2, "kunde": 2,
        "recipient": 1.5, "dear": 1.5, "mr": 1, "ms": 1, "mrs": 1, "herr": 1, "frau": 1,
        "signed": 1, "regards": 1, "from": 0.5,
    },
)  # fmt: skip
_SUPPLIER: Final = _concept(
    "supplier company sent sender vendor seller biller issuer creditor payee provider",
    {"transfer to": 1.5, "payable to": 1.5, "pay to": 1.5, "from": 0.5},
)
_MERCHANT: Final = _concept(
    "merchant shop store retailer seller vendor bought purchased",
    {
        "merchant": 3, "at": 1.5, "from": 1.5, "payment to": 2, "paid to": 2, "to": 0.5,
        "by": 0.5, "bought": 2, "purchased": 2, "ordered": 2,
        "shop": 2, "store": 2, "seller": 2, "with": 0.5, "an": 0.5,
        "charged": 1, "took": 1, "billed": 1, "debited": 1,
        # Those who are not the shop: the cardholder, the agent, the bank.
        "cardholder": -2, "customer": -1, "agent": -1, "from:": -2, "to:": -2,
    },
)  # fmt: skip

_HOME: Final = _concept(
    "customer customer's client holder home supply",
    {
        "your address": 2, "supply address": 2, "address": 1, "adresse": 1, "anschrift": 1,
        "ltd": -1.5, "limited": -1.5, "plc": -1.5, "gmbh": -1.5, "po box": -1.5,
        "postfach": -1.5, "registered office": -2, "service clients": -1.5,
    },
)  # fmt: skip

CONCEPTS: Final[dict[str, tuple[Concept, ...]]] = {
    "date": (_DUE, _ISSUE, _PERIOD, _TRANSACTION, _CLAIM),
    "amount": (_AMOUNT,),
    "number": (_AMOUNT,),
    "identifier": (_ACCOUNT,),
    "person": (_PERSON,),
    "organisation": (_SUPPLIER, _MERCHANT),
    "postcode": (_HOME,),
}

_STARTS: Final = frozenset({"start", "begin", "beginning", "first", "from", "since"})
_ENDS: Final = frozenset({"end", "until", "last", "to", "through", "ending"})
# Field words too common to say anything about a label.
_PLAIN: Final = frozenset(
    {
        "the", "a", "an", "of", "to", "in", "on", "for", "by", "is", "its", "it", "this",
        "that", "what", "which", "who", "date", "number", "name", "value", "code", "day",
        "first", "last"
    }
)  # fmt: skip


def concepts_of(spec: FieldSpec) -> list[Concept]:
    words = spec.words
    return [c for c in CONCEPTS.get(spec.kind, ()) if c.triggers & words]


def label_score(spec: FieldSpec, label: str) -> float:
    """How well the words before a value name this field."""
    score = 0.0
    for word in spec.words - _PLAIN:
        if len(word) >= 3 and re.search(rf"(?<![a-z]){re.escape(word[:6])}", label):
            score += 1.5
    for concept in concepts_of(spec):
        for cue, weight in concept.cues.items():
            if re.search(rf"(?<![a-zäöüé]){re.escape(cue)}(?![a-zäöüé])", label):
                score += weight
    return score


def prior(spec: FieldSpec, candidate: Candidate, text: str) -> float:
    """A candidate's fitness for the field from its shape, its label and its place."""
    label = label_before(text, candidate.start)
    score = candidate.shape + label_score(spec, label)
    # What follows on the line says less than what precedes ("... per Lastschrift").
    score += 0.5 * label_score(spec, label_after(text, candidate.end))
    if spec.kind == "date" and not spec.many:
        score += _role_fit(spec, candidate)
    if spec.kind == "organisation":
        score += _letterhead(candidate, text)
    if (
        spec.kind in ("postcode", "place")
        and line_of(text, candidate.start) <= 1
        and text.count("\n") >= 4
    ):
        # The first lines are the sender's letterhead, seldom the addressee's address.
        score -= 1.0
    if spec.kind in ("organisation", "person") and re.search(r"(?<![^\W\d_])\d", candidate.text):
        # A number of its own is an address or a date; "A2A Energia" is still a name.
        score -= 1.5
    return score


def _role_fit(spec: FieldSpec, candidate: Candidate) -> float:
    """A range's start fits a field that starts something, its end one that ends it; a
    date in a range is seldom the single date of an event."""
    wants_start = bool(spec.words & _STARTS)
    wants_end = bool(spec.words & _ENDS)
    if not (wants_start or wants_end):
        return -1.5 if candidate.role else 0.0
    if not candidate.role:
        return -1.0
    return 2.5 if (candidate.role == "start") == wants_start and wants_start != wants_end else -2.0


def _letterhead(candidate: Candidate, text: str) -> float:
    """The company that sent a document heads it."""
    first = len(text) - len(text.lstrip())
    if candidate.start == first:
        return 1.0
    return 0.5 if line_of(text, candidate.start) <= 1 else 0.0

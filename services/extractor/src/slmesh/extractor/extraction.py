"""Extraction by choosing: each field's value is one of the document's own spans.

Per field: the candidates its kind allows, ranked by their prior (shape, label,
place); where the best few are close, the model chooses among them (choosing);
the winner is typed as the schema wants it (a number, an ISO date) and checked
against the field's own schema, the next one tried when it fails. Enums and
booleans are chosen by the model among their values. What no candidate fills
is left to the caller (micromodel: null, or grammar-constrained decoding).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from typing import Any, Final

import jsonschema

from slmesh.extractor import candidates as find
from slmesh.extractor.candidates import Candidate, label_before
from slmesh.extractor.choosing import Question, choose, document_text
from slmesh.extractor.entities import Sort, sort_names
from slmesh.extractor.fields import FieldSpec
from slmesh.extractor.ranking import label_score, prior
from slmesh.runtime.llm import ModelSession

# The model is asked only where the best candidates are this close in prior...
CLOSE: Final = 1.0
# ... about at most this many of them ...
MAX_OPTIONS: Final = 4
# ... and its probability (0 to 1) weighs this much against a prior point.
MODEL_WEIGHT: Final = 2.0
# A list field takes candidates whose prior reaches this.
LIST_THRESHOLD: Final = 0.5
MAX_LIST: Final = 20
MAX_CANDIDATES: Final = 300
# A candidate below its kind's floor is no answer at all: a date that ends a range is
# not a due date, and a number with no label naming it is not an account number.
MIN_PRIOR_ANY: Final = -0.5
MIN_PRIOR: Final[dict[str, float]] = {"identifier": 1.5, "number": 1.0}
# Characters of the document the model reads: its context holds them and a question.
DOCUMENT_CHARS: Final = 4000
_NUMBER: Final = re.compile(r"(?<![\w.,])-?\d+(?:[.,]\d+)?(?![\w]|[.,]\d)")


class Found:
    """The document's candidates of each shape, each found once per request."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._names: dict[Sort, list[Candidate]] | None = None

    @cached_property
    def dates(self) -> list[Candidate]:
        return find.find_dates(self.text)

    @cached_property
    def ibans(self) -> list[Candidate]:
        return find.find_ibans(self.text)

    @cached_property
    def amounts(self) -> list[Candidate]:
        return find.find_amounts(self.text, self.dates + self.ibans)

    @cached_property
    def numbers(self) -> list[Candidate]:
        taken = self.dates + self.ibans
        return [
            Candidate("number", m.group(), m.start(), m.end(), value, shape=0.2)
            for m in _NUMBER.finditer(self.text)
            if not any(c.overlaps(m.start(), m.end()) for c in taken)
            and (value := find.parse_number(m.group().lstrip("-"))) is not None
        ]

    @cached_property
    def people(self) -> list[Candidate]:
        return find.find_people(self.text)

    @cached_property
    def organisations(self) -> list[Candidate]:
        return find.find_organisations(self.text)

    def names(self, session: ModelSession | None) -> dict[Sort, list[Candidate]]:
        if self._names is None:
            self._names = sort_names(self.text, self.people, self.dates, session)
        return self._names

    def of_kind(self, spec: FieldSpec) -> list[Candidate]:
        text = self.text
        finders: dict[str, Callable[[], list[Candidate]]] = {
            "date": lambda: (
                self.dates + (find.find_loose_dates(text, self.dates) if spec.many else [])
            ),
            "amount": lambda: (
                self.amounts + find.find_quantities(text, self.amounts + self.dates)
                if spec.many
                else [c for c in self.amounts if c.value >= 0]
            ),
            "number": lambda: self.numbers,
            "iban": lambda: self.ibans,
            "currency": lambda: find.find_currencies(text),
            "country": lambda: find.find_countries(text, self.ibans) or find.country_hints(text),
            "postcode": lambda: [
                c
                for c in find.find_postcodes(text)
                if not any(d.overlaps(c.start, c.end) for d in self.dates + self.ibans)
            ],
            "email": lambda: find.find_pii_kind(text, "email", "email"),
            "phone": lambda: find.find_pii_kind(text, "phone", "phone"),
            "card_last4": lambda: find.find_card_endings(text),
            # A postcode before its town is no account or reference number.
            "identifier": lambda: find.find_identifiers(
                text, self.dates + self.ibans + self.amounts + find.find_postcodes(text)
            ),
            "person": lambda: self.people,
            "organisation": lambda: self.organisations,
            "place": lambda: (
                find.find_addresses(text) if spec.words & _ADDRESS else find.find_places(text)
            ),
            "text": lambda: [
                c for c in find.find_labelled(text) if label_score(spec, c_label(text, c)) > 0
            ],
        }
        finder = finders.get(spec.kind)
        return finder() if finder is not None else []


def c_label(text: str, candidate: Candidate) -> str:
    return label_before(text, candidate.start)


@dataclass
class Ranked:
    """One value and its best-placed mention; mentions of the same value add a little."""

    candidate: Candidate
    score: float
    mentions: int = 1
    others: list[Candidate] = field(default_factory=list)


def _key(candidate: Candidate) -> str:
    value = candidate.value
    text = value.isoformat() if isinstance(value, date) else str(value)
    return " ".join(text.casefold().split())


def rank(spec: FieldSpec, found: list[Candidate], text: str) -> list[Ranked]:
    by_value: dict[str, Ranked] = {}
    # A document has a few dozen candidates of a kind; a text built of nothing else is
    # read only this far, so that ranking stays bounded.
    for candidate in found[:MAX_CANDIDATES]:
        score = prior(spec, candidate, text)
        key = _key(candidate)
        known = by_value.get(key)
        if known is None:
            by_value[key] = Ranked(candidate, score)
            continue
        known.mentions += 1
        if score > known.score:
            known.candidate, known.score = candidate, score
    for ranked in by_value.values():
        ranked.score += 0.25 * min(ranked.mentions - 1, 2)
    ordered = sorted(by_value.values(), key=lambda r: -r.score)
    if spec.kind == "person" and not spec.many:
        # "Dear Mrs Patel" names the same person as "Mrs Anjali Patel": the whole name
        # takes the evidence its part has.
        for r in ordered:
            for o in ordered:
                if o is not r and _part_of(r, o):
                    o.score = max(o.score, r.score)
        ordered.sort(key=lambda r: -r.score)
    if spec.kind in ("person", "organisation") and not spec.many:
        # "Duarte Mendes" is a part of "Duarte Mendes Carvalho": the whole name, unless
        # the part is clearly better placed.
        ordered = [
            r
            for r in ordered
            if not any(o is not r and o.score >= r.score - 0.3 and _part_of(r, o) for o in ordered)
        ]
    return ordered


def _part_of(part: Ranked, whole: Ranked) -> bool:
    return (
        re.search(rf"(?<!\w){re.escape(_key(part.candidate))}(?!\w)", _key(whole.candidate))
        is not None
    )


# --- typing a chosen value -------------------------------------------------------------------


def typed(spec: FieldSpec, candidate: Candidate) -> Any:
    """The candidate's value in the form the schema asks for."""
    value = candidate.value
    types = spec.types - {"null", "array"}
    if isinstance(value, date):
        # A field that is a date gets its one canonical form; a list of the dates a
        # text mentions keeps them as written, unless the schema asks for a date format.
        canonical = spec.date_format or not (spec.many or spec.as_written)
        return value.isoformat() if canonical else candidate.text
    if isinstance(value, float):
        if types & {"number", "integer"}:
            if "integer" in types and "number" not in types:
                return int(value) if value.is_integer() else None
            return int(value) if value.is_integer() and "integer" in types else value
        return candidate.text
    if spec.kind == "card_last4" and "integer" in types and "string" not in types:
        return int(value)
    if isinstance(value, str) and types and "string" not in types:
        number = find.parse_number(value)
        if number is None:
            return None
        return int(number) if "integer" in types and number.is_integer() else number
    return value


def fits(schema: dict[str, Any], value: Any) -> bool:
    # Each candidate of each field is checked: the schema is checked and compiled once,
    # not once a candidate (that was most of a document's reading time).
    return bool(_validator(json.dumps(schema, sort_keys=True)).is_valid(value))


@lru_cache(maxsize=256)
def _validator(schema: str) -> Any:
    loaded = json.loads(schema)
    validator = jsonschema.validators.validator_for(loaded)
    validator.check_schema(loaded)
    return validator(loaded)


def _item_schema(spec: FieldSpec) -> dict[str, Any]:
    items = spec.schema.get("items")
    return items if isinstance(items, dict) else {}


# --- the whole document ----------------------------------------------------------------------


@dataclass
class Pending:
    """A field whose value the model chooses among options."""

    spec: FieldSpec
    ranked: list[Ranked]
    question: Question
    # Prior points of each option (0 for an enum value without a cue in the text).
    priors: list[float]
    values: list[Any]


def _question_for(spec: FieldSpec) -> str:
    phrase = spec.phrase.rstrip(". ")
    if phrase.endswith("?"):
        return phrase
    return f"What is {phrase}?" if phrase.lower().startswith("the ") else f"What is the {phrase}?"


def _choice_options(spec: FieldSpec, text: str) -> tuple[list[str], list[float]]:
    """An enum's values as words ("not_received" is "not received"), and a prior for
    each from its words, or words that say the same, in the text."""
    lowered = " ".join(text.casefold().split())
    # A code is read as one only where the text speaks of codes or reasons.
    coded = re.search(r"(?<![a-z])(?:code|reason|rc)(?![a-z])", lowered) is not None
    options, priors = [], []
    for value in spec.choices:
        if value is None:
            continue  # null is the answer of no option, not an option the model weighs
        words = re.sub(r"[_\-]+", " ", str(value)).strip()
        options.append(words or str(value))
        stems = [w[:5] for w in words.casefold().split() if len(w) > 2 and w not in _COMMON]
        # "not received" is said by its negation: "the TV I received" says the opposite.
        negated = words.casefold().startswith("not ")
        before = r"(?:not|never|n't|no)\W+(?:\w+\W+){0,2}" if negated else ""
        hits = sum(1 for s in stems if re.search(rf"{before}(?<![a-z]){re.escape(s)}", lowered))
        score = hits / len(stems) if stems else 0.0
        if re.search(rf"(?<![a-z]){re.escape(str(value).casefold())}(?![a-z])", lowered):
            score = max(score, 1.0)  # the value itself, as a form writes it: "not_received"
        related = [r for w in words.casefold().split() for r in RELATED.get(w, ())]
        if any(re.search(rf"(?<![a-z]){re.escape(r)}", lowered) for r in related):
            score += 1.0
        if coded and any(
            re.search(rf"(?<![\w.,]){re.escape(code)}(?![\w]|[.,]\d)", lowered)
            for w in words.casefold().split()
            for code in REASON_CODES.get(w, ())
        ):
            score += 1.0
        priors.append(CUE_WEIGHT * score)
    return options, priors


# How much an enum value's words in the text weigh against the model's probability: a
# word that says the value outweighs the model (which, unprompted by any, leans to one
# value whatever the text says, as "cancelled" for claims that say "not authorised").
CUE_WEIGHT: Final = 2.5
# The card schemes' dispute reason codes (Visa, Mastercard, American Express), by the
# word of the value they stand for.
REASON_CODES: Final[dict[str, tuple[str, ...]]] = {
    "fraud": ("10.1", "10.2", "10.3", "10.4", "10.5", "4837", "4840", "4863", "4870", "4871",
              "f24", "f29", "fr2", "fr4"),
    "received": ("13.1", "4855", "c08"),
    "duplicate": ("12.6", "12.6.1", "4834", "p08"),
    "described": ("13.3", "13.4", "13.5", "4853", "c31", "c32"),
    "cancelled": ("13.2", "13.7", "4841", "c28"),
}  # fmt: skip
# Words that say what common enum values say, in the words documents use for them.
RELATED: Final[dict[str, tuple[str, ...]]] = {
    "fraud": ("unauthori", "not recogni", "don't recogni", "do not recogni", "didn't make",
              "did not make", "never made", "stolen", "not me", "someone else", "hacked",
              "didn't authori", "did not authori", "never authori", "never ate", "never stayed",
              "betrug", "nicht autorisiert", "never shopped", "never been", "never used",
              "never placed", "never ordered", "not authori", "nicht von mir", "pas moi",
              "pas autorisé", "no reconozco", "no autoricé", "non riconosco", "non autorizzat",
              "niet herken", "niet geautoriseerd"),
    "received": ("never arrived", "not arrived", "hasn't arrived", "has not arrived",
                 "never came", "not delivered", "never delivered", "didn't get",
                 "did not get", "still waiting", "nicht angekommen", "nicht geliefert",
                 "nie angekommen", "nie geliefert", "never received", "not received",
                 "jamais reçu", "pas reçu", "jamais arrivé", "no ha llegado", "nunca llegó",
                 "no recibido", "non ricevut", "mai arrivat", "niet ontvangen",
                 "nooit aangekomen", "niet geleverd"),
    "duplicate": ("twice", "two identical", "double", "charged again", "same charge",
                  "two charges", "duplicated", "doppelt", "zweimal", "again", "same day",
                  "same amount", "two payments", "repeated", "billed twice", "dup ", "dup.",
                  "2x", "two times", "en double", "deux fois", "duplicado", "dos veces",
                  "due volte", "twee keer", "dubbel"),
    "described": ("different", "broken", "damaged", "wrong", "fake", "counterfeit",
                  "defective", "not the", "beschädigt", "falsch", "as advertised",
                  "not as", "advertised", "misdescribed", "faulty", "poor quality", "cracked",
                  "scratched", "torn", "not working", "stopped working", "doesn't work",
                  "does not work", "copy", "defekt", "kaputt", "endommagé", "défectueux",
                  "dañado", "defectuoso", "danneggiat", "difettos", "beschadigd", "kapot"),
    "cancelled": ("cancel", "terminated", "unsubscribe", "ended my", "gekündigt", "storniert",
                  "annulé", "résilié", "cancelado", "annullat", "disdett", "opgezegd",
                  "geannuleerd"),
    "refund": ("refund", "money back", "reimburse", "erstattung"),
    "complaint": ("complain", "unhappy", "disappointed", "beschwerde"),
}  # fmt: skip
_COMMON: Final = frozenset({"the", "and", "not", "for", "other", "with", "was", "as"})


# Two fields of one kind seldom name the same value (an issue and a due date): a value
# another field took first counts this much less.
TAKEN: Final = 1.0


def read_document(
    text: str, specs: list[FieldSpec], session: ModelSession | None
) -> dict[str, Any]:
    """The fields found in `text`; a field absent from the result has no candidate."""
    found = Found(text)
    result: dict[str, Any] = {}
    pending: list[Pending] = []
    plans: dict[str, list[Ranked]] = {}
    for spec in specs:
        if spec.kind in ("choice", "boolean"):
            chosen = _pending_choice(spec, text)
            if chosen is not None:
                pending.append(chosen)
            continue
        ranked = rank(spec, found.of_kind(spec), text)
        if spec.kind in ("postcode", "country", "place") and not spec.words & _SENDER:
            ranked = _near_addressee(ranked, found)
        if spec.many:
            if spec.kind in ("person", "organisation", "place"):
                names = found.names(session)[spec.kind]
                result[spec.name] = _listed(spec, [Ranked(c, 1.0) for c in names], text)
            else:
                result[spec.name] = _listed(spec, ranked, text)
            continue
        floor = MIN_PRIOR.get(spec.kind, MIN_PRIOR_ANY) if spec.nullable else MIN_PRIOR_ANY
        usable = [
            r for r in ranked if r.score >= floor and fits(spec.schema, typed(spec, r.candidate))
        ]
        if usable:
            plans[spec.name] = usable
    _distinct(specs, plans)
    for spec in specs:
        usable = plans.get(spec.name, [])
        if not usable:
            continue
        close = [r for r in usable[:MAX_OPTIONS] if usable[0].score - r.score < CLOSE]
        if len(close) == 1 or session is None:
            result[spec.name] = typed(spec, usable[0].candidate)
            continue
        pending.append(
            Pending(
                spec,
                close,
                Question(_question_for(spec), tuple(r.candidate.text for r in close)),
                [r.score for r in close],
                [typed(spec, r.candidate) for r in close],
            )
        )
    if pending and session is not None:
        _settle(text, pending, session, result)
    elif pending:
        for item in pending:
            best = max(range(len(item.values)), key=lambda i: item.priors[i])
            result[item.spec.name] = item.values[best]
    _agree(specs, found, result)
    return result


def _pending_choice(spec: FieldSpec, text: str) -> Pending | None:
    if spec.kind == "boolean":
        question = Question(f"Is it true: {spec.phrase}? yes or no", ("yes", "no"), False)
        return Pending(spec, [], question, [0.0, 0.0], [True, False])
    options, priors = _choice_options(spec, text)
    if not options:
        return None
    phrase = spec.phrase.rstrip("?. ")
    asked = f"{phrase[:1].upper()}{phrase[1:]}? One of: {', '.join(options)}."
    question = Question(asked, tuple(options), per_token=False)
    return Pending(spec, [], question, priors, [v for v in spec.choices if v is not None])


def _distinct(specs: list[FieldSpec], plans: dict[str, list[Ranked]]) -> None:
    """Dates go to the fields surest of theirs first; a date already taken counts less
    for the others."""
    dated = [s.name for s in specs if s.kind == "date" and s.name in plans]
    taken: set[str] = set()
    for name in sorted(dated, key=lambda n: -plans[n][0].score):
        usable = plans[name]
        for r in usable:
            if _key(r.candidate) in taken:
                r.score -= TAKEN
        usable.sort(key=lambda r: -r.score)
        taken.add(_key(usable[0].candidate))


def _settle(
    text: str, pending: list[Pending], session: ModelSession, result: dict[str, Any]
) -> None:
    document = document_text(text, DOCUMENT_CHARS)
    # The context holds the document, a question and an option; a long document is cut.
    while session.model.count_tokens(document) > 1500 and len(document) > 500:
        document = document[: int(len(document) * 0.8)]
    probabilities = choose(session, document, [p.question for p in pending])
    for item, chances in zip(pending, probabilities, strict=True):
        scores = [
            prior + MODEL_WEIGHT * chance
            for prior, chance in zip(item.priors, chances, strict=True)
        ]
        best = max(range(len(scores)), key=lambda i: scores[i])
        result[item.spec.name] = item.values[best]


_ADDRESS: Final = frozenset({"address", "street", "adresse", "anschrift", "domicilio"})
_SENDER: Final = frozenset({"supplier", "sender", "company", "merchant", "vendor", "seller"})
# How many lines under the addressee's name their address runs.
ADDRESS_LINES: Final = 6


def _near_addressee(ranked: list[Ranked], found: Found) -> list[Ranked]:
    """An address under the addressee's name is theirs: a letter's other addresses (the
    sender's letterhead, a branch) are not."""
    named = [p for p in found.people if p.shape >= 0.7]
    if not named:
        return ranked
    first = min(named, key=lambda p: (-p.shape, p.start))
    below = find.line_of(found.text, first.start)
    for r in ranked:
        if 0 <= find.line_of(found.text, r.candidate.start) - below <= ADDRESS_LINES:
            r.score += 1.5
    return sorted(ranked, key=lambda r: -r.score)


def _listed(spec: FieldSpec, ranked: list[Ranked], text: str) -> list[Any]:
    item_schema = _item_schema(spec)
    picked = [r for r in ranked if r.score >= LIST_THRESHOLD or spec.kind in ("date", "amount")]
    picked.sort(key=lambda r: r.candidate.start)
    values: list[Any] = []
    for r in picked:
        value = typed(spec, r.candidate)
        if value is not None and value not in values and fits(item_schema, value):
            values.append(value)
    bound = spec.schema.get("maxItems")
    return values[: min(MAX_LIST, bound) if isinstance(bound, int) else MAX_LIST]


def _agree(specs: list[FieldSpec], found: Found, result: dict[str, Any]) -> None:
    """Fields that name one thing twice agree: a currency field takes the currency written
    beside the amount chosen (else the one the document writes most)."""
    amounts = [s for s in specs if s.kind == "amount" and not s.many and s.name in result]
    for spec in specs:
        if spec.kind != "currency" or spec.many:
            continue
        for amount_spec in amounts:
            chosen = result[amount_spec.name]
            beside = [
                c.currency
                for c in found.amounts
                if c.currency and isinstance(chosen, int | float) and abs(c.value - chosen) < 0.005
            ]
            if beside and fits(spec.schema, beside[0]):
                result[spec.name] = beside[0]
                break
        else:
            mentions = [c.value for c in find.find_currencies(found.text)]
            if mentions:
                most = max(set(mentions), key=mentions.count)
                if fits(spec.schema, most):
                    result[spec.name] = most

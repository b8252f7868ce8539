"""Names sorted into people, organisations and places, for list fields of each.

A capitalised run of words is a name of something; what it names is decided by its
own evidence where there is some (a company's legal form, a title before it, a
postcode before it, a known country, region or city, a site noun after it: "the
Hamburg warehouse") and otherwise by the model, which chooses among the three (and
"something else") for the run in its sentence, calibrated against a content-free
sentence as the classifier calibrates its labels.

A place is what a reader calls one: a country, a region, a city, and a site named by
where it is ("the Lisbon office", "Dublin Airport"), listed as the text writes it.
"""

from __future__ import annotations

import math
import re
from typing import Final, Literal

from slmesh.extractor import candidates as find
from slmesh.extractor.candidates import Candidate
from slmesh.extractor.places import known_place
from slmesh.runtime.llm import ModelSession, Prompt, template, untrusted
from slmesh.runtime.pii.names import given_names

Sort = Literal["person", "organisation", "place", "other"]
SORTS: Final[tuple[Sort, ...]] = ("person", "organisation", "place", "other")
# The model is asked about at most this many names a request (two short prompts each);
# the rest are sorted by their cues alone.
MAX_ASKED: Final = 6
# The model's probability for a sort weighs this much against a cue's points.
MODEL_WEIGHT: Final = 1.0
_OPTIONS: Final = [" person", " company or organisation", " place", " other thing"]
# Words a sentence starts with that name nothing.
_FUNCTION: Final = frozenset(
    {
        "the", "a", "an", "this", "that", "these", "those", "they", "he", "she", "it", "we",
        "you", "i", "our", "your", "their", "his", "her", "its", "on", "in", "at", "by", "for",
        "from", "to", "with", "after", "before", "when", "while", "if", "but", "and", "or",
        "as", "analysts", "there", "here", "what", "which", "who", "yesterday", "today",
        "tomorrow", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        # A greeting or a label before a name: "Hi Jo", "Contact: Femke Jansen".
        "hi", "hello", "hey", "dear", "thanks", "cheers", "regards", "contact", "attn", "re",
        "fw", "fwd", "subject", "team", "all"
    }
)  # fmt: skip
# Last words of a company's or a body's name, beyond those that make one sure
# ("Tarn Analytics", "Oakridge Library"): a cue for the model, not a rule.
_ORG_WORDS: Final = frozenset(
    {
        "analytics", "industrial", "industries", "library", "hub", "logistics", "consulting",
        "consultants", "associates", "advisors", "advisory", "studio", "studios", "works",
        "trust", "bakery", "brewery", "brewing", "press", "publishing", "pharmaceuticals",
        "biotech", "robotics", "dynamics", "digital", "design", "designs", "farms", "shipping",
        "freight", "transport", "construction", "engineering", "manufacturing", "supplies",
        "supply", "trading", "traders", "marketing", "security", "health", "healthcare",
        "academy", "college", "museum", "theatre", "theater", "gallery", "society", "union",
        "federation", "league", "alliance", "collective", "cooperative", "co-op", "clearance",
        "pharmacy", "electronics", "textiles", "chemicals", "materials", "metals", "steel",
        "mining", "petroleum", "solar", "communications", "data", "cloud", "games",
        "entertainment", "records", "films", "pictures", "productions", "news", "times",
        "journal", "magazine", "radio", "television", "bikes", "cycles", "kitchen", "kitchens",
        "restaurant", "resorts", "hotels", "airport", "lines", "express", "finance",
        "financial", "investments", "realty", "properties", "estates", "homes", "motors",
        "automotive", "aerospace", "defence", "defense", "medical", "care", "outfitters"
    }
)  # fmt: skip
# After a name: "the Velo Hub team", "Acme's customers" name a body of people.
_ORG_AFTER: Final = re.compile(
    r"[ \t]+(?:team|teams|staff|employees|customers|board|shareholders|members|volunteers)\b"
)
_PLACE_CUE: Final = re.compile(r"(?:\bin|\bat|\bnear|\bfrom|\bto|\bnach|\baus|\bbei)\s$")
_STRONG_PLACE_CUE: Final = re.compile(r"(?:\bin|\bnear|\bnach|\baus)\s$")
# Roles written before a name: "CEO Jana Weber" is Jana Weber.
_ROLE: Final = re.compile(
    r"(?:CEO|CFO|CTO|COO|Chairman|Chairwoman|Chair|President|Minister|Mayor|Senator|Judge|"
    r"Director|Professor|Inspector|Officer|Chancellor|Governor|Coach|Captain)\s+"
)
_SENTENCE: Final = re.compile(r"[^.!?\n]*(?:[.!?]+|\n|$)")

# Words that name a site by where it is: "the Hamburg warehouse", "Dublin Airport".
SITE_NOUNS: Final = frozenset(
    {
        "office", "offices", "warehouse", "warehouses", "port", "harbour", "harbor", "dock",
        "docks", "store", "stores", "shop", "shops", "plant", "plants", "factory",
        "factories", "depot", "depots", "site", "sites", "branch", "branches", "hub", "hubs",
        "airport", "terminal", "terminals", "station", "campus", "headquarters", "hq",
        "facility", "facilities", "yard", "mill", "mine", "refinery", "showroom", "studio",
        "lab", "laboratory", "clinic", "venue", "hotel", "base", "premises", "outlet",
        "centre", "center", "branch office", "distribution centre", "distribution center",
        "data centre", "data center", "fulfilment centre", "fulfillment center",
    }
)  # fmt: skip
_SITE_AFTER: Final = re.compile(
    r"[ \t]+("
    + "|".join(sorted((re.escape(n) for n in SITE_NOUNS), key=len, reverse=True))
    + r")(?![\w-])"
)
# A town before ", Illinois", ", OR 97463", ", Germany": its state, region or country.
_REGION_AFTER: Final = re.compile(r",[ \t]+([A-Z]{2}\b|[A-Z][^\W\d_]+(?:[ \t][A-Z][^\W\d_]+)?)")
_POSTCODE_BEFORE: Final = re.compile(r"(?:\b\d{4,5}|\b[A-Z]{1,2}-\d{4,5})[ \t]$")


def _sentence_of(text: str, start: int) -> str:
    begin = max(text.rfind(". ", 0, start), text.rfind("\n", 0, start)) + 1
    end = min(
        (i for i in (text.find(". ", start), text.find("\n", start)) if i >= 0), default=len(text)
    )
    return " ".join(text[begin : end + 1].split())[:300]


def _prompt(sentence: str, name: str) -> Prompt:
    return (
        template("Text: ")
        + untrusted(sentence)
        + template('\nIn this text, "')
        + untrusted(name)
        + template('" is the name of a')
    )


def _split(text: str, start: int, end: int, people: set[str]) -> list[tuple[int, int]]:
    """ "Anna Schmidt of Siemens AG" is two names; "Bank of England" is one."""
    pieces, cursor = [], start
    for match in find._NAME_END.finditer(text, start, end):
        pieces.append((cursor, match.start()))
        cursor = match.end()
    pieces.append((cursor, end))
    if len(pieces) == 1:
        return pieces
    parts = [text[a:b] for a, b in pieces]
    whole = text[start:end]
    if find.is_organisation(whole) and not any(
        find.is_organisation(p) or p in people or find._TITLE.match(p) for p in parts
    ):
        return [(start, end)]
    return pieces


# A sentence that ends on a legal form runs on in a run of capitals: "Broker: Delta
# Clearance NV. Contact: ..." names the company and then a label.
_LEGAL_FORM_END: Final = re.compile(r"(?<=\w)\.[ \t]+(?=[A-Z])")


def _sentence_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    pieces, cursor = [], start
    for match in _LEGAL_FORM_END.finditer(text, start, end):
        word = text[cursor : match.start()].split()[-1:]
        if word and find._dotless(word[0]) in find.LEGAL_FORMS:
            pieces.append((cursor, match.start()))
            cursor = match.end()
    pieces.append((cursor, end))
    return pieces


def name_runs(text: str, dates: list[Candidate], people: set[str]) -> list[Candidate]:
    runs = []
    spans = [
        piece
        for start, end in find._name_spans(text, 0, len(text))
        for sentence_start, sentence_end in _sentence_pieces(text, start, end)
        for piece in _split(text, sentence_start, sentence_end, people)
    ]
    for start, end in spans:
        title = find._TITLE.match(text, start, end) or _ROLE.match(text, start, end)
        if title:
            start = title.end()
        value = text[start:end]
        words = value.split()
        if any(d.overlaps(start, end) for d in dates) or not words:
            continue
        if len(words) == 1 and (words[0].lower() in _FUNCTION or len(value) < 3):
            continue
        if words[0].lower() in _FUNCTION and len(words) > 1:
            # "The European Commission" names the Commission.
            start += len(words[0]) + 1
            value = text[start:end]
        if find._dotless(value) in find.MONTHS or (value.isupper() and len(value) <= 3):
            continue
        runs.append(Candidate("text", value, start, end, value))
    return runs


def sort_names(
    text: str,
    people: list[Candidate],
    dates: list[Candidate],
    session: ModelSession | None,
) -> dict[Sort, list[Candidate]]:
    """Each name of the text under what it names, in the text's order."""
    known_people = {p.value for p in people if p.shape >= 0.6}
    countries = {c.text for c in find.find_countries(text, [])}
    sorted_names: dict[Sort, list[Candidate]] = {sort: [] for sort in SORTS}
    unsure: list[Candidate] = []
    for run in name_runs(text, dates, known_people) + [p for p in people if p.shape >= 0.6]:
        value = run.value
        if find.is_organisation(value):
            sorted_names["organisation"].append(run)
        elif value in known_people:
            sorted_names["person"].append(run)
        elif (site := _site(text, run)) is not None:
            sorted_names["place"].append(site)
        elif value in countries or known_place(value):
            sorted_names["place"].append(run)
        else:
            unsure.append(run)
    asked = [run for run in unsure if run.value not in {r.value for r in sorted_names["person"]}]
    for run, sort in zip(asked, _ask(text, asked, session), strict=True):
        sorted_names[sort].append(run)
    for names in sorted_names.values():
        names.sort(key=lambda c: c.start)
    # "John" is John Carter, and "Mistral" Mistral AI, once the whole name is listed.
    every = [c.value for names in sorted_names.values() for c in names]
    for sort, names in sorted_names.items():
        sorted_names[sort] = [
            c
            for c in names
            if not any(c.value != other and f" {c.value} " in f" {other} " for other in every)
        ]
    return sorted_names


def _site(text: str, run: Candidate) -> Candidate | None:
    """The site a name and the noun after it name ("Hamburg warehouse", "Dublin
    Airport"), if they do; "Marta's office" is a person's, no site."""
    words = run.value.split()
    if run.value.endswith(("'s", "\u2019s")):
        return None
    if len(words) >= 2 and words[-1].lower() in SITE_NOUNS:
        # "Dublin Airport" is a site; "Velo Hub" a company's name.
        return run if known_place(" ".join(words[:-1])) else None
    after = _SITE_AFTER.match(text, run.end)
    if after is None:
        return None
    value = text[run.start : after.end()]
    return Candidate("text", value, run.start, after.end(), " ".join(value.split()))


def _cues(text: str, run: Candidate) -> list[float]:
    """Prior points per sort from what stands before the name and its length."""
    points = [0.0, 0.0, 0.0, 0.0]
    before = text[max(0, run.start - 6) : run.start]
    if _PLACE_CUE.search(before):
        # "in Berlin" is a place; "at Goldman Sachs", "from Acme" often are not.
        points[2] += 1.5 if _STRONG_PLACE_CUE.search(before) else 0.5
    if re.match(r" \d{1,4}\b", text[run.end : run.end + 6]):
        points[2] += 1.0  # a house number after it: a street
    if _POSTCODE_BEFORE.search(text, max(0, run.start - 10), run.start):
        points[2] += 1.5  # "0155 Oslo": a town after its postcode
    region = _REGION_AFTER.match(text, run.end)
    if region and (region[1].isupper() or known_place(region[1])):
        points[2] += 1.5  # "Oakridge, OR", "Springfield, Illinois"
    words = run.value.split()
    if 2 <= len(words) <= 3:
        points[0] += 0.5
        if words[0] in given_names():
            points[0] += 1.5
    if len(words) == 1:
        points[3] += 0.3
    if len(words) >= 2 and words[-1].lower() in _ORG_WORDS:
        points[1] += 1.5
    if _ORG_AFTER.match(text, run.end):
        points[1] += 1.0
    return points


def _ask(text: str, runs: list[Candidate], session: ModelSession | None) -> list[Sort]:
    sorts: list[Sort] = []
    for number, run in enumerate(runs):
        points = _cues(text, run)
        if session is not None and number < MAX_ASKED:
            given = session.score_options(
                _prompt(_sentence_of(text, run.start), run.value), _OPTIONS
            )
            baseline = session.score_options(_prompt("N/A", run.value), _OPTIONS)
            calibrated = [a - b for a, b in zip(given, baseline, strict=True)]
            top = max(calibrated)
            weights = [math.exp(x - top) for x in calibrated]
            points = [
                p + MODEL_WEIGHT * w / sum(weights) for p, w in zip(points, weights, strict=True)
            ]
        sorts.append(SORTS[max(range(len(SORTS)), key=lambda i: points[i])])
    return sorts

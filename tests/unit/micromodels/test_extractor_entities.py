"""extractor: names sorted into people, organisations and places for entity lists.

A place is what a reader calls one: a country, a region, a city, or a site named by
where it is ("the Hamburg warehouse"). The texts are written for these tests (emails,
newsletters, notes); the held-apart evaluation sets are never read.
"""

# ruff: noqa: RUF001 (texts as they are written, curly quotes and all)

from __future__ import annotations

from typing import Any

import pytest

from slmesh.extractor.extraction import read_document
from slmesh.extractor.fields import read_fields
from slmesh.extractor.micromodel import ExtractionRequest, extract
from slmesh.extractor.places import known_place
from slmesh.runtime.llm import LocalModel, ModelSession, ModelSettings

ENTITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        name: {"type": "array", "items": {"type": "string"}, "maxItems": 12}
        for name in ("people", "organisations", "places", "dates", "amounts")
    },
    "required": ["people", "organisations", "places", "dates", "amounts"],
}

# (text, places a reader names in it, names that are no place)
PLACES: list[tuple[str, list[str], list[str]]] = [
    (
        "Hi Marta,\n\nThe Rotterdam port call moved to 12 May 2026; demurrage is €3,200.\n\n"
        "Best,\nPieter",
        ["Rotterdam"],
        ["Marta", "Pieter"],
    ),
    ("Quarterly note from Lyon\nSales in France rose 8% to €1.2m.", ["Lyon", "France"], []),
    ("Good morning,\nthe café in München opens Monday.", ["München"], []),
    (
        "Agenda:\n• Budget review\n• Hiring in Madrid\n• Office move to Valencia",
        ["Madrid", "Valencia"],
        ["Budget"],
    ),
    (
        "Hello team,\nThe Hamburg warehouse ships 400 pallets a day and needs two more forklifts.",
        ["Hamburg warehouse"],
        [],
    ),
    (
        "Dear all,\n\nThe board approved the Nairobi expansion.\n\nRegards,\nAmina Hassan",
        ["Nairobi"],
        ["Amina Hassan"],
    ),
    (
        "Flights from Toronto to Vancouver start 1 July 2026 at CA$199.",
        ["Toronto", "Vancouver"],
        [],
    ),
    ("The Lisbon office reports record sales.", ["Lisbon office"], []),
    ("Hi Sam,\nthe invoice from Gdańsk is PLN 12 400.", ["Gdańsk"], ["Sam"]),
    (
        "Our Oslo bakery won a national award. Visit us at Storgata 1, 0155 Oslo.",
        ["Oslo"],
        [],
    ),
    ("Thanks Jean,\n\nthe Marseille depot is closed until 4 May.", ["Marseille depot"], ["Jean"]),
    ("It’s confirmed: the São Paulo launch is on 20 June 2026.", ["São Paulo"], []),
    ("Hello,\n\nShipment to Dubai delayed by the storm.", ["Dubai"], []),
    ("Revenue in Germany: €4.1m\nRevenue in Austria: €0.9m", ["Germany", "Austria"], []),
    ("Hi Marta, the deposit for Vienna is paid. See you in Prague.", ["Vienna", "Prague"], []),
    (
        "Dear customer,\n\nYour order #4471 left our Leipzig warehouse on 5 March 2026.",
        ["Leipzig warehouse"],
        [],
    ),
    (
        "Morning all,\n\nThe Kraków plant passed its audit.\n\nBest regards\nPiotr Nowak",
        ["Kraków plant"],
        ["Piotr Nowak"],
    ),
    ("Team, the Seoul and Busan stores hit 1,200 orders.", ["Seoul", "Busan"], []),
    (
        "Hey Priya,\n\nCould we move the Bengaluru review to Friday?\n\nThanks!\nRahul",
        ["Bengaluru"],
        ["Priya", "Rahul"],
    ),
    ("The Felixstowe warehouse is at 95% capacity.", ["Felixstowe warehouse"], []),
    (
        "Weekly digest\n• Chicago: new hub opens\n• Denver: staff training",
        ["Chicago", "Denver"],
        [],
    ),
    ("Hi Ana,\n\nthe Bogotá contract (USD 75,000) is signed.", ["Bogotá"], ["Ana"]),
    (
        "Dear Mr Okafor,\n\nYour claim for the Lagos shipment was approved.\n\nAtlas Insurance plc",
        ["Lagos"],
        ["Okafor", "Atlas Insurance plc"],
    ),
    ("“We close the Brussels deal next week,” said Anne Leroy.", ["Brussels"], ["Anne Leroy"]),
    ("Price: €89\nStore: Utrecht", ["Utrecht"], []),
    ("Hi Jo,\n\nthe Cape Town event is sold out. All 300 seats are gone.", ["Cape Town"], ["Jo"]),
    (
        "The Glasgow workshop with Tarn Analytics is confirmed for 9 June 2026.",
        ["Glasgow"],
        ["Tarn Analytics"],
    ),
    ("Our Dublin store reopens on 2 May 2026 after the refit.", ["Dublin store"], []),
    (
        "The Antwerp shipment is held at customs. Broker: Delta Clearance NV.",
        ["Antwerp"],
        ["Delta Clearance NV"],
    ),
    (
        "Our mailing address is PO Box 90, Oakridge, OR 97463.",
        ["Oakridge"],
        [],
    ),
    ("Flights land at Dublin Airport at 6am.", ["Dublin Airport"], []),
    ("Staff from New York and Mexico City met in Texas.", ["New York", "Mexico City", "Texas"], []),
]


def _found(wanted: str, given: list[str]) -> bool:
    """As a reader checks: the place is in an entry, or an entry in it."""
    want = wanted.casefold()
    return any(want in got.casefold() or got.casefold() in want for got in given if got)


@pytest.mark.parametrize(("text", "places", "others"), PLACES)
def test_places_are_listed_by_gazetteer_and_cues(
    text: str, places: list[str], others: list[str]
) -> None:
    data = read_document(text, read_fields(ENTITY_SCHEMA), None)
    missing = [p for p in places if not _found(p, data["places"])]
    assert not missing, data["places"]
    assert not [o for o in others if o in data["places"]], data["places"]


# (text, organisations in it, people in it)
NAMES: list[tuple[str, list[str], list[str]]] = [
    (
        "Hi Jo,\n\nthe workshop with Tarn Analytics is confirmed.\n\nCheers,\nOwen Price",
        ["Tarn Analytics"],
        ["Owen Price"],
    ),
    ("Our store reopens on 2 May.\n\nThe Velo Hub team", ["Velo Hub"], []),
    (
        "Broker: Delta Clearance NV. Contact: Femke Jansen.\n\nKind regards,\nMarcus Lee\n"
        "Logistics | Pellham Industrial",
        ["Delta Clearance NV", "Pellham Industrial"],
        ["Femke Jansen", "Marcus Lee"],
    ),
    (
        "The book sale raised $2,340.\n— Susan Clark, Friends of Oakridge Library",
        ["Oakridge Library"],
        ["Susan Clark"],
    ),
    ("Kestrel Robotics hired Dana Whitfield as CTO.", ["Kestrel Robotics"], ["Dana Whitfield"]),
    ("Thanks to the Harbourview Brewery staff for hosting us.", ["Harbourview Brewery"], []),
]


@pytest.mark.parametrize(("text", "organisations", "people"), NAMES)
def test_companies_and_people_are_told_apart_by_their_cues(
    text: str, organisations: list[str], people: list[str]
) -> None:
    data = read_document(text, read_fields(ENTITY_SCHEMA), None)
    assert [o for o in organisations if not _found(o, data["organisations"])] == [], data
    assert [p for p in people if not _found(p, data["people"])] == [], data
    assert not set(organisations) & set(data["people"]), data


def test_a_greeting_is_no_part_of_a_name() -> None:
    data = read_document("Hi Jo Bell,\n\nthe order shipped.", read_fields(ENTITY_SCHEMA), None)
    assert not any(p.startswith("Hi") for p in data["people"])


@pytest.mark.parametrize(
    "name", ["Rotterdam", "kraków", "Krakow", "the Netherlands", "St. Louis", "São Paulo", "Texas"]
)
def test_the_gazetteer_knows_places_case_and_accents_aside(name: str) -> None:
    assert known_place(name)


@pytest.mark.parametrize("name", ["Marta", "Tarn Analytics", "Budget", "Charlotte", "Monday"])
def test_the_gazetteer_knows_no_people_or_words(name: str) -> None:
    assert not known_place(name)


def test_a_persons_office_is_no_site() -> None:
    data = read_document("Leave it in Marta's office, please.", read_fields(ENTITY_SCHEMA), None)
    assert not any("office" in p for p in data["places"])


def test_an_organisation_stays_one_before_a_site_noun() -> None:
    text = "Northwind Logistics GmbH opened a warehouse near Bremen."
    data = read_document(text, read_fields(ENTITY_SCHEMA), None)
    assert "Northwind Logistics GmbH" in data["organisations"]
    assert "Bremen" in data["places"]


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel.load(ModelSettings())


# The model sorts only what no cue sorts; a few texts show it keeps the cues' places.
@pytest.mark.model
@pytest.mark.parametrize(("text", "places", "others"), PLACES[::6])
def test_places_with_the_model_sorting_the_rest(
    model: LocalModel, text: str, places: list[str], others: list[str]
) -> None:
    request = ExtractionRequest.model_validate({"text": text, "schema": ENTITY_SCHEMA})
    listed = extract(request, ModelSession(model)).data["places"]
    assert isinstance(listed, list)
    given = [str(v) for v in listed]
    assert [p for p in places if not _found(p, given)] == [], given
    assert [o for o in others if o in given] == [], given

"""The rules planner: clear-cut VAT questions become one call per country, read by the
vat-rates micromodel's own card (the orchestrator knows no country)."""

from __future__ import annotations

import pytest

from slmesh.orchestrator.planning.plan import ToolView
from slmesh.orchestrator.planning.readings import each_value
from slmesh.orchestrator.planning.rules import RulesPlanner
from slmesh.summarizer.micromodel import build as summarizer
from slmesh.vat_rates.micromodel import build as vat_rates
from slmesh.vat_rates.routing import MEMBER_STATES, ROUTING

CATALOGUE = {"vat-rates": ToolView.of(vat_rates())}


async def countries_planned(text: str) -> list[str]:
    plan = await RulesPlanner().plan(text, CATALOGUE)
    assert all(c.micromodel == "vat-rates" for c in plan.calls)
    return [str(c.arguments["country"]) for c in plan.calls]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What are the VAT rates in Germany, France and Italy?", ["DE", "FR", "IT"]),
        ("VAT in DE?", ["DE"]),
        ("Mehrwertsteuer? MwSt in Deutschland und Österreich", ["DE", "AT"]),
        ("tax rates for the Czech Republic and Czechia", ["CZ"]),
        ("What's the VAT rate in Greece?", ["GR"]),
        ("whats the vat in germny and Itlay's", ["DE", "IT"]),
        ("VAT for the Benelux countries", ["BE", "NL", "LU"]),
        ("Standard VAT please for: Finland, Denmark, Romania", ["FI", "DK", "RO"]),
        ("For Bulgaria, Greece and Cyprus: what are the reduced VAT rates?", ["BG", "GR", "CY"]),
        ("value added tax in the Netherlands vs Dutch goods", ["NL"]),
        ("sales tax: Spanish, Portuguese", ["ES", "PT"]),
    ],
)
async def test_countries_in_a_vat_question(text: str, expected: list[str]) -> None:
    assert await countries_planned(text) == expected


async def test_all_eu_countries_fan_out_to_27_calls() -> None:
    codes = await countries_planned("What are the VAT rates in all EU countries?")
    assert codes == list(MEMBER_STATES)
    assert len(set(codes)) == 27


def test_lower_case_two_letter_words_are_not_country_codes() -> None:
    assert each_value(ROUTING.arguments["country"], "is it vat? de facto, at most") == []


async def test_a_country_outside_the_eu_is_named_as_not_served() -> None:
    plan = await RulesPlanner().plan("VAT rates for France and Switzerland please", CATALOGUE)
    assert [c.arguments["country"] for c in plan.calls] == ["FR"]
    assert plan.unplaced == ["Switzerland (vat-rates does not serve it)"]


async def test_vat_question_without_a_country_explains_what_is_missing() -> None:
    plan = await RulesPlanner().plan("what is VAT?", CATALOGUE)
    assert plan.calls == []
    assert "names no EU member state" in plan.reason


async def test_out_of_scope_request_gets_no_plan() -> None:
    plan = await RulesPlanner().plan("Write me a poem about Germany", CATALOGUE)
    assert plan.calls == []
    assert "no rule matches" in plan.reason
    assert plan.unplaced == ["Write me a poem about Germany"]


async def test_no_vat_plan_when_vat_rates_is_not_deployed() -> None:
    plan = await RulesPlanner().plan("VAT in Germany", {"summarizer": ToolView.of(summarizer())})
    assert plan.calls == []

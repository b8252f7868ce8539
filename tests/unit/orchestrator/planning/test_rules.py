"""The rules planner: clear-cut VAT questions become one call per country."""

from __future__ import annotations

import pytest

from slmesh.orchestrator.planning.countries import MEMBER_STATES, mentioned_countries
from slmesh.orchestrator.planning.plan import ToolView
from slmesh.orchestrator.planning.rules import RulesPlanner


def tools(*names: str) -> dict[str, ToolView]:
    """Live micromodels as the planner sees them; the rules read their names only."""
    return {name: ToolView(name, "", {}, runs_model=False) for name in names}


CATALOGUE = tools("vat-rates")


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
        ("What's the VAT rate in Greece (EL)?", ["GR"]),
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
    assert mentioned_countries("is it vat? de facto, at most") == []


async def test_vat_question_without_a_country_explains_what_is_missing() -> None:
    plan = await RulesPlanner().plan("what is VAT?", CATALOGUE)
    assert plan.calls == []
    assert "names no EU member state" in plan.reason


async def test_out_of_scope_request_gets_no_plan() -> None:
    plan = await RulesPlanner().plan("Write me a poem about Germany", CATALOGUE)
    assert plan.calls == []
    assert "no rule matches" in plan.reason


async def test_no_vat_plan_when_vat_rates_is_not_deployed() -> None:
    plan = await RulesPlanner().plan("VAT in Germany", tools("summarizer"))
    assert plan.calls == []

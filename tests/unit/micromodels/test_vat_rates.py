"""The vat-rates micromodel's domain: real values from the packaged ibericode/vat-rates copy."""

from __future__ import annotations

import json
from datetime import date
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from slmesh.vat_rates.rates import (
    EU_MEMBER_STATES,
    SOURCE_DATE,
    CountryVatRates,
    VatRates,
    VatRatesQuery,
    VatRateTable,
    describe,
)

if TYPE_CHECKING:
    from pathlib import Path

# After Romania's change of 2025-08-01, so every assertion below holds for it.
AS_OF = date(2025, 8, 12)


@pytest.fixture(scope="module")
def table() -> VatRateTable:
    return VatRateTable.load(as_of=AS_OF)


def one(table: VatRateTable, country: str, as_of: date | None = None) -> CountryVatRates:
    answer = table.lookup(VatRatesQuery.model_validate({"country": country}), as_of)
    assert len(answer.rates) == 1
    return answer.rates[0]


def test_member_states() -> None:
    assert len(EU_MEMBER_STATES) == 27
    assert EU_MEMBER_STATES["GR"] == "Greece"
    assert "EL" not in EU_MEMBER_STATES
    assert "GB" not in EU_MEMBER_STATES


def test_germany(table: VatRateTable) -> None:
    de = one(table, "DE")
    assert (de.country, de.name) == ("DE", "Germany")
    assert de.standard == 19
    assert de.reduced == [7]
    assert de.super_reduced is None
    assert de.parking is None
    assert de.effective_from == date(2021, 1, 1)
    assert de.exceptions == ["Büsingen am Hochrhein", "Heligoland"]


def test_france(table: VatRateTable) -> None:
    fr = one(table, "FR")
    assert fr.standard == 20
    assert fr.reduced == [10, 5.5]
    assert fr.super_reduced == 2.1
    assert fr.effective_from == date(2014, 1, 1)
    assert "Guadeloupe" in fr.exceptions


def test_italy_without_start_date(table: VatRateTable) -> None:
    it = one(table, "IT")
    assert it.standard == 22
    assert it.reduced == [10, 5]
    assert it.super_reduced == 4
    # The file's only Italian period starts "0000-01-01": no start date.
    assert it.effective_from is None
    assert it.exceptions == ["Campione d'Italia", "Livigno"]


def test_ireland_parking_and_fractional_rates(table: VatRateTable) -> None:
    ie = one(table, "IE")
    assert ie.standard == 23
    assert ie.reduced == [13.5, 9]
    assert ie.super_reduced == 4.8
    assert ie.parking == 13.5


def test_estonia_press_rate_is_a_reduced_rate(table: VatRateTable) -> None:
    ee = one(table, "EE")
    assert ee.standard == 24
    assert ee.reduced == [13, 9]


def test_romania_after_and_before_2025_08_01(table: VatRateTable) -> None:
    ro = one(table, "RO")
    assert ro.standard == 21
    assert ro.reduced == [11]
    assert ro.effective_from == date(2025, 8, 1)

    before = one(table, "RO", date(2025, 7, 31))
    assert before.standard == 19
    assert before.reduced == [9, 5]
    assert before.effective_from == date(2017, 1, 1)

    assert one(table, "RO", date(2025, 8, 1)).standard == 21
    assert one(table, "RO", date(2016, 6, 1)).standard == 20
    # Before the file's first dated period: the undated base period.
    assert one(table, "RO", date(2000, 1, 1)).standard == 24


def test_as_of_pinned_at_load() -> None:
    assert one(VatRateTable.load(as_of=date(2025, 7, 31)), "RO").standard == 19
    # Not pinned: each lookup answers with the rates in force today.
    assert one(VatRateTable.load(), "RO") == one(VatRateTable.load(), "RO", date.today())


def test_greece_is_gr_and_accepts_el(table: VatRateTable) -> None:
    assert one(table, "GR").standard == 24
    assert one(table, "EL") == one(table, "GR")
    assert one(table, "GR", date(2016, 5, 31)).reduced == [13.5, 6]


def test_all_lists_27_in_order(table: VatRateTable) -> None:
    answer = table.lookup(VatRatesQuery(country="all"))
    assert [rates.country for rates in answer.rates] == list(EU_MEMBER_STATES)
    assert len(answer.rates) == 27
    assert [rates.name for rates in answer.rates] == list(EU_MEMBER_STATES.values())
    assert answer.source_date == SOURCE_DATE == date(2025, 8, 12)
    assert "ibericode/vat-rates" in answer.source


def test_query_normalises_case() -> None:
    assert VatRatesQuery.model_validate({"country": " de "}).country == "DE"
    assert VatRatesQuery.model_validate({"country": "ALL"}).country == "all"


@pytest.mark.parametrize("country", ["GB", "XX", "CH", "", "Germany", 49, None])
def test_non_member_is_rejected(country: object) -> None:
    with pytest.raises(ValidationError):
        VatRatesQuery.model_validate({"country": country})


def test_extra_fields_are_rejected() -> None:
    with pytest.raises(ValidationError):
        VatRatesQuery.model_validate({"country": "DE", "year": 2025})


def test_models_are_frozen() -> None:
    query = VatRatesQuery(country="DE")
    with pytest.raises(ValidationError):
        query.country = "FR"  # type: ignore[misc]


def test_describe_germany(table: VatRateTable) -> None:
    text = describe(table.lookup(VatRatesQuery(country="DE")))
    assert text == "Germany (DE): standard 19%, reduced 7% (since 2021-01-01)"


def test_describe_formats(table: VatRateTable) -> None:
    lines = describe(table.lookup(VatRatesQuery(country="all"))).splitlines()
    assert len(lines) == 27
    by_code = {line.split("(")[1][:2]: line for line in lines}
    assert by_code["FR"] == (
        "France (FR): standard 20%, reduced 10% and 5.5%, super-reduced 2.1% (since 2014-01-01)"
    )
    assert by_code["IE"] == (
        "Ireland (IE): standard 23%, reduced 13.5% and 9%, super-reduced 4.8%, "
        "parking 13.5% (since 2021-03-01)"
    )
    assert by_code["DK"] == "Denmark (DK): standard 25%"
    assert by_code["FI"] == "Finland (FI): standard 25.5%, reduced 14% and 10% (since 2024-09-01)"
    assert by_code["RO"] == "Romania (RO): standard 21%, reduced 11% (since 2025-08-01)"
    assert ".0%" not in "\n".join(lines)


def test_query_schema_is_an_enum_of_27_codes_and_all() -> None:
    schema = VatRatesQuery.model_json_schema()
    country = schema["properties"]["country"]
    assert country["enum"] == [*EU_MEMBER_STATES, "all"]
    assert "ISO 3166-1 alpha-2" in country["description"]
    assert schema["additionalProperties"] is False


def test_response_schema_documents_every_field() -> None:
    for model in (VatRates, CountryVatRates):
        for name, prop in model.model_json_schema()["properties"].items():
            assert prop.get("description"), (model.__name__, name)
            assert prop.get("examples"), (model.__name__, name)


def test_response_round_trips_through_json(table: VatRateTable) -> None:
    answer = table.lookup(VatRatesQuery(country="all"))
    assert VatRates.model_validate_json(answer.model_dump_json()) == answer


def _packaged() -> dict[str, Any]:
    path = files("slmesh.vat_rates").joinpath("data/vat-rates.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_missing_member_state_is_a_clear_error(tmp_path: Path) -> None:
    data = _packaged()
    del data["items"]["MT"]
    path = tmp_path / "vat-rates.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=r"no VAT rates for EU member state MT \(Malta\)"):
        VatRateTable.load(path)


def test_greece_under_its_vat_code_is_read(tmp_path: Path) -> None:
    data = _packaged()
    data["items"]["EL"] = data["items"].pop("GR")
    path = tmp_path / "vat-rates.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert one(VatRateTable.load(path, as_of=AS_OF), "GR").standard == 24


def test_unknown_rate_category_fails_loudly(tmp_path: Path) -> None:
    data = _packaged()
    data["items"]["DE"][0]["rates"]["ultra_reduced"] = 1
    path = tmp_path / "vat-rates.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="ultra_reduced"):
        VatRateTable.load(path)

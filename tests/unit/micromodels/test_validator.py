"""The validator micromodel: its declaration, each check passing and failing with its
reason, the canonical forms, the rules it refuses, its summary and its output contract."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import JsonValue, ValidationError

from slmesh.orchestrator.planning.plan import ToolView
from slmesh.orchestrator.planning.rules import RulesPlanner
from slmesh.runtime.pii.checks import IBAN_LENGTHS
from slmesh.runtime.registry.admission import MAX_DESCRIPTION_CHARS, MAX_SCHEMA_BYTES
from slmesh.schemas import TaskCompletedData
from slmesh.validator.checks import (
    CURRENCIES,
    MAX_FIELDS,
    MAX_NAME_CHARS,
    MAX_RULES,
    POSTCODES,
    Validation,
    ValidationRequest,
    describe,
    validate,
)
from slmesh.validator.micromodel import build
from slmesh.validator.routing import ROUTING

# Real IBANs with valid checksums (the standard's and the banks' own examples).
VALID_IBANS = [
    "GB82 WEST 1234 5698 7654 32",
    "DE89 3704 0044 0532 0130 00",
    "FR14 2004 1010 0505 0001 3M02 606",
    "NL91 ABNA 0417 1643 00",
]

EU_EEA = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
]  # fmt: skip


def run(fields: dict[str, JsonValue], *rules: dict[str, Any]) -> Validation:
    return validate(ValidationRequest.model_validate({"fields": fields, "rules": list(rules)}))


def one(value: JsonValue, check: str, **more: Any) -> tuple[str | None, JsonValue]:
    """(the reason it failed or None, its canonical form or None) of one check of a value."""
    result = run({"x": value}, {"field": "x", "check": check, **more})
    if result.failed:
        assert not result.passed
        assert result.normalised == {}
        return result.failed[0].reason, None
    assert result.passed == [f"x:{check}"]
    return None, result.normalised.get("x")


def test_declaration() -> None:
    micromodel = build()
    assert micromodel.name == "validator"
    assert not micromodel.uses_model
    assert micromodel.description.startswith("ValidateFields: checks already-extracted fields")
    assert len(micromodel.description) <= MAX_DESCRIPTION_CHARS
    # Microseconds: on the event loop, as vat-rates.
    assert not micromodel.blocking
    assert micromodel.routing is ROUTING
    assert micromodel.summarize is describe


def test_the_schemas_are_admitted() -> None:
    micromodel = build()
    for schema in (micromodel.input_schema(), micromodel.output_schema()):
        jsonschema.Draft202012Validator.check_schema(schema)
        assert len(str(schema).encode()) < MAX_SCHEMA_BYTES


@pytest.mark.parametrize(
    "request_text",
    [
        "Validate this claim: policy 42, amount 300 EUR",
        "Find the IBAN in this letter: pay to DE89 3704 0044 0532 0130 00",
        "Check the validity of this contract: signed 1 March 2026",
    ],
)
async def test_no_request_is_routed_here_by_its_words(request_text: str) -> None:
    # Its fields and rules are a pipeline's to give; the nouns it checks are other
    # micromodels' requests ("Find the IBAN in this letter").
    tools = {"validator": ToolView.of(build())}
    plan = await RulesPlanner().plan(request_text, tools)
    assert plan.calls == []
    assert ROUTING.keywords == []
    assert ROUTING.examples == []


# --- required ---------------------------------------------------------------------------


def test_required() -> None:
    assert one("ACME Energy", "required") == (None, None)
    assert one(0, "required") == (None, None)
    assert one(False, "required") == (None, None)
    assert one(None, "required") == ("null", None)
    assert one("", "required") == ("empty", None)
    assert one("   ", "required") == ("empty", None)
    assert run({}, {"field": "x", "check": "required"}).failed[0].reason == "missing"


@pytest.mark.parametrize(
    "check", ["amount", "date", "iban", "one_of", "currency", "postcode", "before"]
)
@pytest.mark.parametrize("fields", [{}, {"x": None}, {"x": "  "}])
def test_a_missing_field_fails_every_other_check_as_missing(
    check: str, fields: dict[str, JsonValue]
) -> None:
    more: dict[str, dict[str, Any]] = {
        "one_of": {"values": ["a"]},
        "postcode": {"country": "DE"},
        "before": {"other": "y"},
    }
    result = run(
        {**fields, "y": "2026-03-01"}, {"field": "x", "check": check, **more.get(check, {})}
    )
    assert not result.valid
    assert [(f.field, f.check, f.reason) for f in result.failed] == [("x", check, "missing")]


# --- amount -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("£1,234.56", 1234.56),
        ("1.234,56 €", 1234.56),
        ("EUR 59.90", 59.9),
        ("59.90 EUR", 59.9),
        ("1 234,56", 1234.56),
        ("CHF 1'234.50", 1234.5),
        ("CHF 1\u2019234.50", 1234.5),
        ("1,5", 1.5),
        ("€12", 12),
        # One separator before three digits groups thousands, as money is written.
        ("1,234", 1234),
        ("1.234 €", 1234),
        (59.9, 59.9),
        (100, 100),
        (0, 0),
    ],
)
def test_amounts_parse_to_numbers(value: JsonValue, number: float) -> None:
    assert one(value, "amount") == (None, number)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-12.50 €", "negative"),
        ("£-5", "negative"),
        ("\u221212 €", "negative"),
        (-3, "negative"),
        ("12.345", None),  # thousands: 12345, passes
        ("0,125", "more than 2 decimals"),
        ("1.234,567", "more than 2 decimals"),
        (0.333, "more than 2 decimals"),
        ("about fifty", "not an amount"),
        (True, "not an amount"),
        ([1, 2], "not an amount"),
        ("XYZ 5", "not an amount: XYZ is no currency code known here"),
        ("€ 5 £", "not an amount: two currencies"),
        ("1,23,456", "not an amount: its separators follow no convention"),
        ("1.2.3", "not an amount: its separators follow no convention"),
    ],
)
def test_amounts_that_fail_say_why(value: JsonValue, reason: str | None) -> None:
    assert one(value, "amount")[0] == reason


# --- date and before --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-01",
        "01/03/2026",  # day first
        "1/3/2026",
        "01.03.2026",
        "01-03-2026",
        "1 March 2026",
        "1st March 2026",
        "1 Mar. 2026",
        "March 1, 2026",
        "Mar 1st 2026",
        "1. März 2026",
        "  1  March\u00a02026 ",
    ],
)
def test_dates_in_every_written_form_are_iso(value: str) -> None:
    assert one(value, "date") == (None, "2026-03-01")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("31 April 2026", "no such day: April 2026 has 30 days"),
        ("2026-02-29", "no such day: February 2026 has 28 days"),
        ("2026-13-01", "no month 13"),
        # Read day first, a US date has no month 13: said so.
        ("03/13/2026", "no month 13 (a date with / is read day first)"),
        ("next Tuesday", "not a date (e.g. 2026-03-01, 01/03/2026, 1 March 2026)"),
        ("1 Smarch 2026", "not a date (e.g. 2026-03-01, 01/03/2026, 1 March 2026)"),
        ("01/03/26", "not a date (e.g. 2026-03-01, 01/03/2026, 1 March 2026)"),
        (20260301, "not a date"),
    ],
)
def test_impossible_and_unknown_dates_fail(value: JsonValue, reason: str) -> None:
    assert one(value, "date") == (reason, None)


def test_a_leap_day_is_a_date() -> None:
    assert one("29/02/2028", "date") == (None, "2028-02-29")


def test_before() -> None:
    rule = {"field": "issue_date", "check": "before", "other": "due_date"}
    ok = run({"issue_date": "01/03/2026", "due_date": "15 March 2026"}, rule)
    assert (ok.valid, ok.passed, ok.normalised) == (
        True,
        ["issue_date:before"],
        {"issue_date": "2026-03-01"},
    )
    # The same day is not earlier.
    assert run({"issue_date": "2026-03-01", "due_date": "1 March 2026"}, rule).valid
    late = run({"issue_date": "2026-03-10", "due_date": "2026-03-01"}, rule)
    assert late.failed[0].reason == "later than due_date: 2026-03-10 > 2026-03-01"
    assert run({"issue_date": "2026-03-01"}, rule).failed[0].reason == "due_date missing"
    assert run({"issue_date": "2026-03-01", "due_date": "soon"}, rule).failed[0].reason == (
        "due_date is no date: not a date (e.g. 2026-03-01, 01/03/2026, 1 March 2026)"
    )
    assert run({"issue_date": "31/04/2026", "due_date": "2026-05-01"}, rule).failed[0].reason == (
        "no such day: April 2026 has 30 days"
    )


# --- iban -------------------------------------------------------------------------------


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_real_ibans_pass_compact_in_upper_case(iban: str) -> None:
    assert one(iban, "iban") == (None, iban.replace(" ", ""))
    assert one(iban.lower().replace(" ", ""), "iban") == (None, iban.replace(" ", ""))


@pytest.mark.parametrize(
    ("iban", "reason"),
    [
        # One digit changed.
        ("GB82 WEST 1234 5698 7654 33", "checksum fails"),
        ("DE89 3704 0044 0532 0131 00", "checksum fails"),
        ("DE88 3704 0044 0532 0130 00", "checksum fails"),
        # One digit dropped, one added.
        ("DE89 3704 0044 0532 0130 0", "length 21 for DE, expected 22"),
        ("NL91 ABNA 0417 1643 001", "length 19 for NL, expected 18"),
        ("XX82 WEST 1234 5698 7654 32", "no IBAN format known for XX"),
        ("DE00 3704 0044 0532 0130 00", "check digits out of range (02-98)"),
        ("1234 5678", "not an IBAN: no country code and two check digits at its start"),
        ("DE89-3704-0044", "not an IBAN: letters, digits and spaces only"),
        (123, "not an IBAN"),
    ],
)
def test_ibans_that_fail_name_the_part(iban: JsonValue, reason: str) -> None:
    assert one(iban, "iban") == (reason, None)


def test_iban_lengths_cover_the_eu_the_eea_gb_and_ch() -> None:
    assert {*EU_EEA, "GB", "CH"} <= set(IBAN_LENGTHS)
    assert (IBAN_LENGTHS["DE"], IBAN_LENGTHS["GB"], IBAN_LENGTHS["NO"], IBAN_LENGTHS["MT"]) == (
        22,
        22,
        15,
        31,
    )


def test_no_reason_quotes_the_iban() -> None:
    result = run({"iban": "GB82 WEST 1234 5698 7654 33"}, {"field": "iban", "check": "iban"})
    assert "WEST" not in describe(result)
    assert "WEST" not in result.model_dump_json()


# --- postcode ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "written", "canonical"),
    [
        ("GB", "sw1a1aa", "SW1A 1AA"),
        ("GB", "EC1A 1BB", "EC1A 1BB"),
        ("GB", "M1 1AE", "M1 1AE"),
        ("GB", "DN55 1PT", "DN55 1PT"),
        ("IE", "d02x285", "D02 X285"),
        ("IE", "D6W 1234", "D6W 1234"),
        ("DE", "10115", "10115"),
        ("FR", "75008", "75008"),
        ("NL", "1234ab", "1234 AB"),
        ("BE", "1000", "1000"),
        ("ES", "28013", "28013"),
        ("IT", "00184", "00184"),
        ("AT", "1010", "1010"),
        ("PT", "1000 001", "1000-001"),
        ("PL", "00950", "00-950"),
        ("SE", "11455", "114 55"),
        ("DK", "1050", "1050"),
        ("FI", "00100", "00100"),
        ("US", "94105", "94105"),
        ("US", "94105 1234", "94105-1234"),
        ("CA", "k1a0b1", "K1A 0B1"),
    ],
)
def test_postcodes_pass_in_canonical_form(country: str, written: str, canonical: str) -> None:
    assert one(written, "postcode", country=country) == (None, canonical)


@pytest.mark.parametrize(
    ("country", "written"),
    [
        ("GB", "12345"),
        ("GB", "SW1A 1CA"),  # no C in an inward code
        ("IE", "B02 X285"),  # no B in a routing key
        ("DE", "1011"),
        ("DE", "00115"),
        ("NL", "0123 AB"),
        ("NL", "1234 SA"),  # not issued
        ("ES", "53001"),  # no province 53
        ("PT", "1000"),
        ("US", "9410"),
        ("CA", "D1A 0B1"),  # no D first
        ("SE", "01455"),
    ],
)
def test_postcodes_of_the_wrong_shape_fail(country: str, written: str) -> None:
    assert one(written, "postcode", country=country) == (
        f"not a valid postcode for {country}",
        None,
    )


def test_every_country_asked_for_has_a_postcode_format() -> None:
    asked = ["GB", "IE", "DE", "FR", "NL", "BE", "ES", "IT", "AT", "PT", "PL", "SE", "DK", "FI"]
    assert {*asked, "US", "CA"} <= set(POSTCODES)


def test_an_unknown_country_fails_rather_than_passes() -> None:
    assert one("12345", "postcode", country="JP") == ("no postcode format known for JP", None)


def test_the_country_may_come_from_a_field() -> None:
    rule = {"field": "postcode", "check": "postcode", "country_field": "country"}
    passed = run({"postcode": "sw1a 1aa", "country": "uk"}, rule)
    assert passed.normalised == {"postcode": "SW1A 1AA"}
    assert run({"postcode": "SW1A 1AA"}, rule).failed[0].reason == "country missing (country)"
    assert run({"postcode": "SW1A 1AA", "country": "Britain"}, rule).failed[0].reason == (
        "country is no ISO 3166-1 alpha-2 country code"
    )
    assert run({"postcode": "SW1A 1AA", "country": "DE"}, rule).failed[0].reason == (
        "not a valid postcode for DE"
    )


def test_the_rules_country_is_upper_cased() -> None:
    assert one("10115", "postcode", country="de") == (None, "10115")


# --- one_of and currency ----------------------------------------------------------------


def test_one_of_ignores_case_and_gives_the_listed_spelling() -> None:
    values = ["Electricity", "Gas", "Water"]
    assert one("GAS", "one_of", values=values) == (None, "Gas")
    assert one(" electricity ", "one_of", values=values) == (None, "Electricity")
    assert one("oil", "one_of", values=values) == ("not one of Electricity, Gas, Water", None)


def test_one_of_lists_only_a_few_values_in_its_reason() -> None:
    values = [f"tariff {n}" for n in range(1, 10)]
    assert one("none", "one_of", values=values)[0] == (
        "not one of tariff 1, tariff 2, tariff 3, tariff 4, tariff 5 (and 4 more)"
    )


def test_currency() -> None:
    for code in CURRENCIES:
        assert one(code.lower(), "currency") == (None, code)
    assert one("€", "currency") == (None, "EUR")
    assert one("ZAR", "currency") == ("ZAR is not a currency code known here", None)
    assert one("Euro", "currency") == ("not an ISO 4217 currency code", None)
    assert one(978, "currency") == ("not a currency code", None)


# --- a whole bill -----------------------------------------------------------------------

BILL: dict[str, JsonValue] = {
    "supplier": "Nordlicht Energie GmbH",
    "account_number": "4711-0815",
    "iban": "DE89 3704 0044 0532 0130 00",
    "postcode": "10115",
    "country": "DE",
    "issue_date": "01.03.2026",
    "due_date": "15 March 2026",
    "amount_due": "1.234,56 €",
    "currency": "eur",
}
BILL_RULES: list[dict[str, Any]] = [
    {"field": "supplier", "check": "required"},
    {"field": "amount_due", "check": "amount"},
    {"field": "currency", "check": "currency"},
    {"field": "iban", "check": "iban"},
    {"field": "postcode", "check": "postcode", "country_field": "country"},
    {"field": "issue_date", "check": "date"},
    {"field": "issue_date", "check": "before", "other": "due_date"},
]


def test_a_valid_bill_is_normalised() -> None:
    result = run(BILL, *BILL_RULES)
    assert result.valid
    assert result.failed == []
    assert result.passed == [
        "supplier:required",
        "amount_due:amount",
        "currency:currency",
        "iban:iban",
        "postcode:postcode",
        "issue_date:date",
        "issue_date:before",
    ]
    assert result.normalised == {
        "amount_due": 1234.56,
        "currency": "EUR",
        "iban": "DE89370400440532013000",
        "postcode": "10115",
        "issue_date": "2026-03-01",
    }
    assert describe(result) == "valid: 7 checks passed"


def test_a_bill_with_two_faults_names_both_in_rule_order() -> None:
    bill = {**BILL, "iban": "DE89 3704 0044 0532 0131 00", "due_date": "2026-02-15"}
    result = run(bill, *BILL_RULES)
    assert not result.valid
    assert [(f.field, f.check, f.reason) for f in result.failed] == [
        ("iban", "iban", "checksum fails"),
        ("issue_date", "before", "later than due_date: 2026-03-01 > 2026-02-15"),
    ]
    assert len(result.passed) == 5
    assert "iban" not in result.normalised
    # The date check passed: its canonical form stays.
    assert result.normalised["issue_date"] == "2026-03-01"
    assert describe(result) == (
        "2 of 7 checks failed: iban (checksum fails), "
        "issue_date (later than due_date: 2026-03-01 > 2026-02-15)"
    )


def test_summary_counts_in_words() -> None:
    assert describe(run({"x": "a"}, {"field": "x", "check": "required"})) == (
        "valid: 1 check passed"
    )
    assert describe(run({}, {"field": "x", "check": "required"})) == (
        "1 of 1 check failed: x (missing)"
    )


def test_the_longest_summary_fits_a_reply() -> None:
    names = [f"{n:02d}".ljust(MAX_NAME_CHARS, "f") for n in range(MAX_RULES)]
    rules = [{"field": name, "check": "one_of", "values": ["v" * 100] * 64} for name in names]
    result = run({name: "no" for name in names}, *rules)
    summary = describe(result)
    assert len(result.failed) == MAX_RULES
    TaskCompletedData.model_validate(
        {"task_id": "r:1", "micromodel": "validator", "output": {}, "summary": summary,
         "model": "deterministic", "latency_ms": 1.0, "replica": "validator-1"}
    )  # fmt: skip


def test_the_output_is_valid_against_the_announced_schema() -> None:
    schema = build().output_schema()
    for result in (
        run(BILL, *BILL_RULES),
        run({**BILL, "iban": "DE00"}, *BILL_RULES),
        run({}, *BILL_RULES),
    ):
        jsonschema.validate(result.model_dump(mode="json"), schema)
        assert Validation.model_validate_json(result.model_dump_json()) == result


# --- refused requests -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"field": "a", "check": "before"}, "check 'before' needs 'other'"),
        ({"field": "a", "check": "before", "other": "a"}, "'other' must name another field"),
        ({"field": "a", "check": "one_of"}, "check 'one_of' needs 'values'"),
        ({"field": "a", "check": "one_of", "values": []}, "at least 1 item"),
        ({"field": "a", "check": "postcode"}, "check 'postcode' needs 'country'"),
        (
            {"field": "a", "check": "postcode", "country": "DE", "country_field": "c"},
            "give 'country' or 'country_field', not both",
        ),
        ({"field": "a", "check": "postcode", "country": "DEU"}, "should match pattern"),
        ({"field": "a", "check": "date", "other": "b"}, "'other' is only for check 'before'"),
        ({"field": "a", "check": "amount", "values": ["x"]}, "'values' is only for check"),
        ({"field": "a", "check": "iban", "country": "DE"}, "'country' is only for check"),
        ({"field": "a", "check": "checksum"}, "Input should be 'required'"),
        ({"field": "", "check": "required"}, "at least 1 character"),
        ({"field": "a", "check": "required", "severity": "high"}, "Extra inputs"),
    ],
)
def test_bad_rules_are_refused(rule: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        ValidationRequest.model_validate({"fields": {}, "rules": [rule]})


@pytest.mark.parametrize(
    "request_",
    [
        {"fields": {}, "rules": []},
        {"fields": {}},
        {"rules": [{"field": "a", "check": "required"}]},
        {
            "fields": {f"f{n}": n for n in range(MAX_FIELDS + 1)},
            "rules": [{"field": "f1", "check": "required"}],
        },
        {"fields": {}, "rules": [{"field": "a", "check": "required"}] * (MAX_RULES + 1)},
        {"fields": {"a": "x" * 70_000}, "rules": [{"field": "a", "check": "required"}]},
        {"fields": {}, "rules": [{"field": "a", "check": "required"}], "strict": True},
    ],
)
def test_bad_requests_are_refused(request_: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ValidationRequest.model_validate(request_)


def test_a_long_value_is_refused_by_the_check_not_read() -> None:
    assert one("1" * 500, "amount") == ("not an amount", None)
    assert one("1" * 500, "date") == ("not a date", None)
    assert one("DE" + "1" * 500, "iban") == ("not an IBAN", None)

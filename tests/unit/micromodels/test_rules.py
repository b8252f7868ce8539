"""The rules micromodel and the claims-validation pipeline: each card-disputes rule passing
and failing, values normalised before the rules read them, versions side by side, rules
added by a file alone, bad files and unknown rulesets refused clearly, the bounds of a
request, and the pipeline that feeds it an extractor's fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
import yaml
from pydantic import JsonValue, ValidationError

from slmesh.orchestrator.pipelines import load_pipeline
from slmesh.orchestrator.pipelines.document import NotFound, render
from slmesh.orchestrator.pipelines.tool import pipeline_view
from slmesh.orchestrator.planning.plan import ToolView
from slmesh.orchestrator.planning.rules import RulesPlanner
from slmesh.rules.checks import describe
from slmesh.rules.contract import MAX_FIELDS, MAX_RECORD_JSON_CHARS, RulesRequest, RulesVerdict
from slmesh.rules.micromodel import build
from slmesh.rules.normalise import read, read_date
from slmesh.rules.routing import ROUTING
from slmesh.rules.rulesets import RulesetError, file_schema, shipped
from slmesh.runtime.micromodel import Micromodel
from slmesh.runtime.registry.admission import MAX_DESCRIPTION_CHARS, MAX_SCHEMA_BYTES
from slmesh.schemas import TaskCompletedData, describe_errors
from slmesh.summarizer.micromodel import build as build_summarizer
from slmesh.validator.micromodel import build as build_validator

ROOT = Path(__file__).parents[3]
PIPELINE = ROOT / "pipelines" / "claims-validation.yaml"
EXAMPLE = ROOT / "examples" / "pipelines" / "claims-validation.json"
REASONS = ["fraud", "not_received", "duplicate", "not_as_described", "cancelled"]
RULE_IDS = ["R1", "R2", "R3", "R4", "R5", "R6", "R7"]
CLAIM_FIELDS = [
    "merchant", "transaction_date", "claim_date", "amount", "currency", "card_last4", "reason",
]  # fmt: skip

# A claim every rule of both versions passes: filed 17 days after the charge.
CLAIM: dict[str, JsonValue] = {
    "merchant": "Bella Pizza Ltd",
    "transaction_date": "2026-03-03",
    "claim_date": "2026-03-20",
    "amount": "89.90",
    "currency": "EUR",
    "card_last4": "4821",
    "reason": "fraud",
}


@pytest.fixture(scope="module")
def rules() -> Micromodel[RulesRequest, RulesVerdict]:
    return build()


def check(
    micromodel: Micromodel[RulesRequest, RulesVerdict],
    record: dict[str, JsonValue],
    version: str | None = "1",
    ruleset: str = "card-disputes",
) -> RulesVerdict:
    request = micromodel.input_model.model_validate(
        {"record": record, "ruleset": ruleset, "version": version}
    )
    assert micromodel.handler is not None
    return micromodel.handler(request)


def failed_rules(verdict: RulesVerdict) -> list[str]:
    return [f.rule for f in verdict.failed]


def claim(**changes: JsonValue) -> dict[str, JsonValue]:
    return {**CLAIM, **changes}


def write(directory: Path, relative: str, text: str) -> Path:
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def shipped_text(version: str) -> str:
    return shipped().joinpath("card-disputes", f"{version}.yaml").read_text(encoding="utf-8")


# --- declaration ------------------------------------------------------------------------


def test_declaration(rules: Micromodel[RulesRequest, RulesVerdict]) -> None:
    assert rules.name == "rules"
    assert not rules.uses_model
    assert len(rules.description) <= MAX_DESCRIPTION_CHARS
    assert not rules.blocking
    assert rules.routing is ROUTING
    assert ROUTING.keywords == []
    assert rules.summarize is describe


def test_the_schemas_are_admitted_and_name_the_rulesets(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    for schema in (rules.input_schema(), rules.output_schema()):
        jsonschema.Draft202012Validator.check_schema(schema)
        assert len(str(schema).encode()) < MAX_SCHEMA_BYTES
    described = rules.input_schema()["properties"]["ruleset"]["description"]
    assert "card-disputes (versions 1, 2; current 2)" in described


def test_every_shipped_file_fits_the_file_format() -> None:
    validator = jsonschema.Draft202012Validator(file_schema())
    for version in ("1", "2"):
        raw = yaml.safe_load(shipped_text(version))
        assert list(validator.iter_errors(raw)) == []
        assert [r["id"] for r in raw["rules"]] == RULE_IDS
        # The codes the pipeline's extractor chooses among are the ones R5 allows.
        assert raw["rules"][4]["parameters"]["values"] == REASONS


# --- card-disputes version 1, rule by rule ----------------------------------------------


def test_a_complete_claim_in_time_is_accepted(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    verdict = check(rules, CLAIM)
    assert verdict.verdict == "accept"
    assert (verdict.ruleset, verdict.version) == ("card-disputes", "1")
    assert verdict.failed == []
    assert verdict.passed == RULE_IDS
    assert verdict.normalised == {**CLAIM, "amount": 89.9}


@pytest.mark.parametrize(
    ("changes", "rule", "code"),
    [
        ({"amount": 0}, "R2", "amount_out_of_range"),
        ({"amount": "-12.00"}, "R2", "amount_out_of_range"),
        ({"amount": "10000.01"}, "R2", "amount_out_of_range"),
        ({"amount": "EUR 12.500"}, "R2", "amount_out_of_range"),
        ({"amount": "a lot"}, "R2", "amount_out_of_range"),
        ({"currency": "CHF"}, "R3", "unsupported_currency"),
        ({"currency": "euro money"}, "R3", "unsupported_currency"),
        ({"card_last4": "482"}, "R4", "bad_card_reference"),
        ({"card_last4": "48211"}, "R4", "bad_card_reference"),
        ({"card_last4": "48a1"}, "R4", "bad_card_reference"),
        ({"reason": "overcharged"}, "R5", "unknown_reason"),
        ({"reason": "refund"}, "R5", "unknown_reason"),
        ({"transaction_date": "2026-03-21"}, "R6", "date_order"),
        ({"transaction_date": "2025-11-19"}, "R7", "filed_late"),
    ],
)
def test_each_rule_fails_alone_with_its_code(
    rules: Micromodel[RulesRequest, RulesVerdict],
    changes: dict[str, JsonValue],
    rule: str,
    code: str,
) -> None:
    verdict = check(rules, claim(**changes))
    assert verdict.verdict == "reject"
    assert [(f.rule, f.derived_from) for f in verdict.failed] == [(rule, code)]
    assert verdict.passed == [r for r in RULE_IDS if r != rule]


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": "0.01"},
        {"amount": 10000},
        {"amount": "10,000.00 EUR"},
        {"currency": "gbp"},
        {"currency": " usd "},
        {"currency": "£"},
        {"card_last4": "0042"},
        {"card_last4": 4821},
        {"card_last4": "**** 4821"},
        {"card_last4": "xxxx-xxxx-xxxx-4821"},
        {"reason": "Not received"},
        {"reason": "NOT-AS-DESCRIBED"},
        {"reason": "cancelled"},
        {"reason": "duplicate"},
        {"transaction_date": "2026-03-20"},  # the same day: not after it
        {"transaction_date": "2025-11-20"},  # 120 days before the claim
    ],
)
def test_each_rule_passes_at_and_inside_its_bounds(
    rules: Micromodel[RulesRequest, RulesVerdict], changes: dict[str, JsonValue]
) -> None:
    verdict = check(rules, claim(**changes))
    assert (verdict.verdict, verdict.passed) == ("accept", RULE_IDS)


def test_reasons_name_the_field_the_bound_and_the_rule() -> None:
    micromodel = build()
    verdict = check(micromodel, claim(amount="€12.000,00", transaction_date="2025-10-01"))
    reasons = {f.rule: f.reason for f in verdict.failed}
    assert reasons["R2"] == (
        "amount is more than 10000: the amount disputed must be more than 0 and at most 10000"
    )
    assert reasons["R7"].startswith("claim_date is 170 days after transaction_date (at most 120)")
    late = check(micromodel, claim(transaction_date="2026-03-21"))
    assert late.failed[0].reason.startswith("transaction_date 2026-03-21 is after claim_date")
    # The amount written in the claim is never quoted.
    assert "12" not in reasons["R2"].split(":")[0].replace("10000", "")


@pytest.mark.parametrize("field", CLAIM_FIELDS)
def test_a_missing_field_fails_r1_only_and_its_other_rules_are_skipped(
    rules: Micromodel[RulesRequest, RulesVerdict], field: str
) -> None:
    record = {k: v for k, v in CLAIM.items() if k != field}
    verdict = check(rules, record)
    assert verdict.verdict == "reject"
    assert [(f.rule, f.field, f.derived_from) for f in verdict.failed] == [
        ("R1", field, "incomplete")
    ]
    # The rules that read only this field are in neither list; those that compare it
    # with another date are skipped too.
    reading = {
        "merchant": set(), "amount": {"R2"}, "currency": {"R3"}, "card_last4": {"R4"},
        "reason": {"R5"}, "transaction_date": {"R6", "R7"}, "claim_date": {"R6", "R7"},
    }[field]  # fmt: skip
    assert verdict.passed == [r for r in RULE_IDS if r != "R1" and r not in reading]


@pytest.mark.parametrize("empty", [None, "", "   ", "N/A", "unknown", "-"])
def test_null_blank_and_placeholders_are_missing(
    rules: Micromodel[RulesRequest, RulesVerdict], empty: JsonValue
) -> None:
    verdict = check(rules, claim(reason=empty, amount=empty))
    assert [(f.rule, f.field) for f in verdict.failed] == [("R1", "amount"), ("R1", "reason")]
    assert verdict.normalised["reason"] is None


def test_an_empty_record_names_every_field_once(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    verdict = check(rules, {})
    assert [(f.rule, f.field) for f in verdict.failed] == [("R1", f) for f in CLAIM_FIELDS]
    assert verdict.passed == []
    assert verdict.normalised == {}


def test_unreadable_dates_fail_the_rules_that_compare_them(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    verdict = check(rules, claim(transaction_date="last Tuesday"))
    assert [(f.rule, f.field) for f in verdict.failed] == [
        ("R6", "transaction_date"),
        ("R7", "transaction_date"),
    ]
    assert all("transaction_date is not a date" in f.reason for f in verdict.failed)


def test_several_failures_are_named_in_rule_order(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    verdict = check(
        rules,
        claim(merchant=None, amount="20000 USD", currency="JPY", transaction_date="2026-04-01"),
    )
    assert failed_rules(verdict) == ["R1", "R2", "R3", "R6"]
    assert verdict.passed == ["R4", "R5", "R7"]
    assert describe(verdict) == (
        "reject under card-disputes version 1: R1 incomplete (merchant), "
        "R2 amount_out_of_range (amount), R3 unsupported_currency (currency), "
        "R6 date_order (transaction_date)"
    )


# --- normalisation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "number"),
    [
        ("€1.234,50", 1234.5),
        ("1,234.50 EUR", 1234.5),
        ("EUR 1234.5", 1234.5),
        ("£89.99", 89.99),
        ("89,90 €", 89.9),
        ("1 234,50 EUR", 1234.5),
        ("USD 1,234", 1234),
        ("1.234 €", 1234),
        ("0,125", 0.125),
        ("12 euros", 12),
        ("US$ 45", 45),
        ("-50", -50),
        (45.5, 45.5),
        (120, 120),
    ],
)
def test_amounts_are_read_as_numbers(written: JsonValue, number: float) -> None:
    assert read(written, "amount").value == number


@pytest.mark.parametrize("written", ["a lot", "1.2.3,4,5", "12,34,56", "EUR 5 GBP", True])
def test_what_is_no_amount_is_kept(written: JsonValue) -> None:
    reading = read(written, "amount")
    assert reading.number is None
    assert reading.value == written


@pytest.mark.parametrize(
    "written",
    [
        "2026-03-03",
        "2026/03/03",
        "2026-03-03T14:05:00Z",
        "03/03/2026",
        "3.3.2026",
        "03-03-26",
        "3 March 2026",
        "3rd March 2026",
        "3rd of March, 2026",
        "March 3, 2026",
        "Mar. 3 2026",
        "Tuesday, 3 March 2026",
        "3-Mar-2026",
        "3. März 2026",
        "  3  march 2026 ",
    ],
)
def test_dates_in_common_forms_are_iso(written: str) -> None:
    assert read(written, "date").value == "2026-03-03"


def test_numeric_dates_are_day_first_unless_only_month_first_is_a_date() -> None:
    assert read("01/03/2026", "date").value == "2026-03-01"
    assert read("03/14/2026", "date").value == "2026-03-14"


@pytest.mark.parametrize("written", ["31/02/2026", "2026-13-01", "March 2026", "soon", "1" * 80])
def test_what_is_no_date_is_kept(written: str) -> None:
    assert read_date(written) is None
    assert read(written, "date").value == written.strip()


def test_text_is_trimmed_codes_upper_cased(rules: Micromodel[RulesRequest, RulesVerdict]) -> None:
    verdict = check(
        rules,
        claim(
            merchant="  Bella\u00a0 Pizza   Ltd ",
            currency=" gbp",
            reason="Not As Described",
            transaction_date="3 March 2026",
            claim_date="20/03/2026",
            amount="1.234,50 GBP",
            card_last4="**** **** **** 4821",
            note="  kept, trimmed ",
        ),
    )
    assert verdict.verdict == "accept"
    assert verdict.normalised == {
        "merchant": "Bella Pizza Ltd",
        "transaction_date": "2026-03-03",
        "claim_date": "2026-03-20",
        "amount": 1234.5,
        "currency": "GBP",
        "card_last4": "4821",
        "reason": "not_as_described",
        "note": "kept, trimmed",
    }


def test_a_currency_written_with_the_amount_stands_for_a_missing_currency(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    verdict = check(rules, claim(amount="€89.90", currency=None))
    assert verdict.verdict == "accept"
    assert verdict.normalised["currency"] == "EUR"
    # A currency given is never overwritten; one written with the amount is not checked
    # against it (no rule of version 1 asks so).
    assert check(rules, claim(amount="£10", currency="USD")).normalised["currency"] == "USD"
    # "$" names several currencies: it stands for none.
    assert failed_rules(check(rules, claim(amount="$10", currency=None))) == ["R1"]


def test_a_full_card_number_fails_and_is_never_given_back(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    verdict = check(rules, claim(card_last4="4111 1111 1111 1111"))
    assert failed_rules(verdict) == ["R4"]
    assert verdict.normalised["card_last4"] == "************1111"
    assert "4111" not in verdict.model_dump_json()


# --- versions ---------------------------------------------------------------------------


def test_versions_side_by_side_and_the_current_one_by_default(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    # Filed 100 days after the charge: in time under version 1, late under version 2.
    record = claim(transaction_date="2025-12-10")
    assert check(rules, record, version="1").verdict == "accept"
    late = check(rules, record, version="2")
    assert (late.version, failed_rules(late)) == ("2", ["R7"])
    assert "(at most 90)" in late.failed[0].reason
    default = check(rules, record, version=None)
    assert (default.version, default.verdict) == ("2", "reject")
    assert check(rules, claim(transaction_date="2025-12-20"), version="2").verdict == "accept"


def test_version_2_differs_from_version_1_in_r7_only() -> None:
    one, two = (yaml.safe_load(shipped_text(v)) for v in ("1", "2"))
    differing = [a["id"] for a, b in zip(one["rules"], two["rules"], strict=True) if a != b]
    assert differing == ["R7"]
    assert (one["rules"][6]["parameters"]["days"], two["rules"][6]["parameters"]["days"]) == (
        120,
        90,
    )
    assert one["fields"] == two["fields"]


@pytest.mark.parametrize(
    ("ruleset", "version", "problem"),
    [
        ("card-refunds", None, "no ruleset 'card-refunds'; the rulesets are: card-disputes"),
        (
            "card-disputes",
            "7",
            "ruleset 'card-disputes' has no version '7'; its versions are: 1, 2",
        ),
    ],
)
def test_an_unknown_ruleset_or_version_is_refused_naming_those_there_are(
    rules: Micromodel[RulesRequest, RulesVerdict],
    ruleset: str,
    version: str | None,
    problem: str,
) -> None:
    with pytest.raises(ValidationError) as raised:
        check(rules, CLAIM, version=version, ruleset=ruleset)
    # The runner answers a ValidationError of the input as invalid_arguments, in these words.
    assert problem in describe_errors(raised.value)


# --- rules kept in files: SLMESH_RULES_DIR ----------------------------------------------

EXPENSES = """\
ruleset: expenses
version: "1"
description: Expense claims before reimbursement.
rules:
  - id: E1
    fields: [employee, amount, spent_on]
    check: required
    reason: an expense needs who, how much and when
    derived_from: incomplete
  - id: E2
    field: amount
    check: max
    parameters: {less_than: 500}
    reason: larger expenses need a purchase order
    derived_from: over_limit
  - id: E3
    field: spent_on
    check: date
    reason: the day it was spent
    derived_from: bad_date
  - id: E4
    field: employee
    check: pattern
    parameters: {regex: "E[0-9]{5}"}
    reason: an employee is named by their number
    derived_from: unknown_employee
"""


def test_a_new_ruleset_is_a_file(tmp_path: Path) -> None:
    write(tmp_path, "expenses/1.yaml", EXPENSES)
    micromodel = build(tmp_path)
    record: dict[str, JsonValue] = {"employee": "e12345", "amount": "£499.99", "spent_on": "x"}
    verdict = check(micromodel, record, version=None, ruleset="expenses")
    assert (verdict.verdict, failed_rules(verdict), verdict.passed) == (
        "reject",
        ["E3", "E4"],
        ["E1", "E2"],
    )
    # The amount is an amount because a max check reads it: no kind had to be declared.
    assert verdict.normalised["amount"] == 499.99
    assert failed_rules(check(micromodel, {**record, "amount": 500}, None, "expenses"))[0] == "E2"
    # The shipped rulesets are still there.
    assert check(micromodel, CLAIM).verdict == "accept"


def test_a_new_version_with_a_new_rule_is_a_file_read_from_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra_rule = """\
  - id: R8
    field: merchant
    check: one_of
    parameters: {values: [Bella Pizza Ltd, Nordlicht GmbH]}
    reason: claims against merchants outside the scheme are not accepted
    derived_from: unknown_merchant
"""
    three = shipped_text("1").replace('version: "1"', 'version: "3"') + extra_rule
    write(tmp_path, "card-disputes/3.yaml", three)
    monkeypatch.setenv("SLMESH_RULES_DIR", str(tmp_path))
    micromodel = build()
    # Added, not made the default: the shipped pointer still says 2.
    assert check(micromodel, CLAIM, version=None).version == "2"
    assert check(micromodel, CLAIM, version="3").passed == [*RULE_IDS, "R8"]
    other = check(micromodel, claim(merchant="Acme"), version="3")
    assert [(f.rule, f.derived_from) for f in other.failed] == [("R8", "unknown_merchant")]
    # Made the default by the directory's own pointer.
    write(tmp_path, "card-disputes/current", "3\n")
    assert check(build(), CLAIM, version=None).version == "3"


def test_without_a_pointer_the_highest_version_is_current(tmp_path: Path) -> None:
    write(tmp_path, "expenses/1.yaml", EXPENSES)
    write(tmp_path, "expenses/10.yaml", EXPENSES.replace('version: "1"', "version: 10"))
    write(tmp_path, "expenses/9.yaml", EXPENSES.replace('version: "1"', 'version: "9"'))
    write(tmp_path, "expenses/README.md", "notes are not rules")
    assert check(build(tmp_path), CLAIM, None, "expenses").version == "10"


def test_the_same_version_twice_is_refused_unless_identical(tmp_path: Path) -> None:
    write(tmp_path, "card-disputes/1.yaml", shipped_text("1"))
    assert check(build(tmp_path), CLAIM).verdict == "accept"
    write(tmp_path, "card-disputes/1.yaml", shipped_text("1").replace("days: 120", "days: 30"))
    with pytest.raises(RulesetError, match=r"1\.yaml: version 1 of 'card-disputes' is declared"):
        build(tmp_path)


def _rule(**fields: Any) -> str:
    rule = {"id": "X1", "field": "a", "reason": "r", "derived_from": "code", **fields}
    return yaml.safe_dump({"ruleset": "bad", "version": "1", "description": "d", "rules": [rule]})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ruleset: bad\nversion: '1'\nrules: [", "does not parse"),
        ("- just a list", "not a ruleset: at the file: .* is not of type 'object'"),
        (_rule(check="checksum"), "at rules/0/check: 'checksum' is not one of"),
        (_rule(check="required", severity="high"), "Additional properties are not allowed"),
        (_rule(check="pattern"), "at rules/0: 'parameters' is a required property"),
        (
            _rule(check="range", parameters={"at_least": 0}),
            "at rules/0/parameters: expected range: an upper bound, at_most or less_than",
        ),
        (
            _rule(check="required", fields=["a", "b"]),
            "at rules/0: expected a rule names the field it checks in `field`, or its fields",
        ),
        (
            _rule(check="required").replace("version: '1'", "version: 1.5"),
            "at version: expected a version: numbers separated by dots",
        ),
        (_rule(check="min", parameters={"at_most": 3}), "rules/0/parameters"),
        (_rule(check="within_days", parameters={"other": "b"}), "'days' is a required"),
        (_rule(check="one_of", parameters={"values": []}), "should be non-empty"),
        (_rule(check="pattern", parameters={"regex": "[0-9"}), "X1: regex does not compile"),
        (_rule(check="not_after", parameters={"other": "a"}), "'other' must name another"),
        (
            _rule(check="range", parameters={"more_than": 5, "at_most": 5}),
            "no value is within its bounds",
        ),
        (
            _rule(check="required")
            .replace("rules:", "fields: {a: date}\nrules:")
            .replace("check: required", "check: max\n  parameters: {at_most: 1}"),
            "X1: check 'max' reads 'a' as amount, but it is date as fields declares it",
        ),
        (
            _rule(check="date").replace(
                "rules:", "rules:\n- {id: X1, field: b, check: date, reason: r, derived_from: c}"
            ),
            "rule id 'X1' is used twice",
        ),
        (_rule(check="required").replace("version: '1'", "version: '2'"), "version '2' in file"),
        (_rule(check="required").replace("ruleset: bad", "ruleset: good"), "'good' in directory"),
    ],
)
def test_a_bad_file_stops_the_start_naming_file_and_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, "bad/1.yaml", text)
    with pytest.raises(RulesetError, match=problem) as raised:
        build(tmp_path)
    assert str(raised.value).startswith(str(path))


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"loose.yaml": EXPENSES}, "loose.yaml: not a ruleset directory"),
        ({"expenses/current": "1"}, "ruleset 'expenses' has no version"),
        ({"expenses/1.yaml": EXPENSES, "expenses/current": "4"}, "names version '4'"),
        ({"expenses/1.yaml": EXPENSES, "expenses/current": "1\n2"}, "should name one version"),
        ({"expenses/1.yaml": "x" * 300_000}, "over the 262144 allowed"),
    ],
)
def test_a_bad_layout_stops_the_start(tmp_path: Path, files: dict[str, str], problem: str) -> None:
    for relative, text in files.items():
        write(tmp_path, relative, text)
    with pytest.raises(RulesetError, match=problem):
        build(tmp_path)


def test_a_missing_directory_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(RulesetError, match="no such directory of rulesets"):
        build(tmp_path / "nowhere")


# --- bounds of a request ----------------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        {},
        {"record": {f"f{n}": n for n in range(MAX_FIELDS + 1)}},
        {"record": {"merchant": "x" * MAX_RECORD_JSON_CHARS}},
        {"record": {"x" * 65: 1}},
        {"record": {}, "ruleset": "Card Disputes"},
        {"record": {}, "version": "v1"},
        {"record": {}, "version": 1},
        {"record": {}, "strict": True},
        {"record": "merchant: Bella Pizza"},
    ],
)
def test_requests_out_of_bounds_are_refused(
    rules: Micromodel[RulesRequest, RulesVerdict], request_: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        rules.input_model.model_validate(request_)


def test_long_values_are_refused_by_the_reading_not_read(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    long = "1" * 1000
    verdict = check(rules, claim(amount=long, transaction_date=long, card_last4=long, reason=long))
    assert failed_rules(verdict) == ["R2", "R4", "R5", "R6", "R7"]


def test_the_output_fits_its_schema_and_a_reply(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    schema = rules.output_schema()
    for record in (CLAIM, {}, claim(amount="-1", currency="XXX", reason="x")):
        verdict = check(rules, record)
        jsonschema.validate(verdict.model_dump(mode="json"), schema)
        TaskCompletedData.model_validate(
            {"task_id": "r:1", "micromodel": "rules", "output": verdict.model_dump(mode="json"),
             "summary": describe(verdict), "model": "deterministic", "latency_ms": 1.0,
             "replica": "rules-1"}
        )  # fmt: skip


def test_the_summary_counts_and_stays_short(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    assert describe(check(rules, CLAIM)) == "accept under card-disputes version 1: 7 rules passed"
    summary = describe(check(rules, {f"x{n}": n for n in range(MAX_FIELDS)}))
    assert summary.endswith("R1 incomplete (card_last4), R1 incomplete (reason)")


# --- the claims-validation pipeline -----------------------------------------------------


def test_the_pipeline_loads_and_chains_extractor_and_rules(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    pipeline = load_pipeline(PIPELINE)
    assert pipeline.name == "claims-validation"
    extract, judge = pipeline.steps
    assert (extract.id, extract.micromodel, extract.take) == (
        "extract",
        "extractor",
        {"text": "/input/text"},
    )
    schema: Any = extract.arguments["schema"]
    assert list(schema["properties"]) == CLAIM_FIELDS
    assert sorted(schema["required"]) == sorted(CLAIM_FIELDS)
    assert all(p["type"] == ["string", "null"] for p in schema["properties"].values())
    # "other": a reason none of the five, so that R5 (an unknown reason) can fail.
    assert schema["properties"]["reason"]["enum"] == [*REASONS, "other", None]
    assert (judge.micromodel, judge.take) == ("rules", {"record": "/steps/extract/data"})
    assert judge.arguments == {"ruleset": "card-disputes", "version": "1"}
    # What the extractor answers is what the rules micromodel takes.
    rules.input_model.model_validate({"record": dict.fromkeys(CLAIM_FIELDS), **judge.arguments})
    assert pipeline.output == {
        "claim": "/steps/extract/data",
        "normalised": "/steps/check/normalised",
        "verdict": "/steps/check/verdict",
        "failed": "/steps/check/failed",
    }


def test_the_answer_names_the_verdict_and_the_failed_rules(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    pipeline = load_pipeline(PIPELINE)
    answers = {}
    for record in (CLAIM, claim(currency="CHF", reason="overcharged")):
        verdict = check(rules, record)
        document = {"input": {"text": "t"}, "steps": {"extract": {"data": record},
                    "check": verdict.model_dump(mode="json")}}  # fmt: skip
        for template in pipeline.answer:
            try:
                answers[verdict.verdict] = render(template, document)
                break
            except NotFound:
                continue
        output = {name: render("{" + p + "}", document) for name, p in pipeline.output.items()}
        assert output["verdict"] == verdict.verdict
        assert pipeline.output_schema is not None
    assert answers["accept"].startswith("Claim accepted under card-disputes version 1")
    assert answers["reject"].startswith(
        "Claim rejected under card-disputes version 1: rule R3 (unsupported_currency) failed"
    )
    assert '"rule":"R5"' in answers["reject"]


@pytest.mark.parametrize(
    "request_text",
    [
        "Validate this claim: I was charged 89.90 EUR at Bella Pizza on 3 March 2026, not me",
        "check this dispute claim before submission: card ending 4821, 120 GBP, never arrived",
        "Please validate the following chargeback claim: card 4821 charged twice on 1 May 2026",
        "Validate the dispute: card 4821 charged twice by Acme on 1 May 2026, 40 EUR",
        "Can you verify this claim before we submit it? Card 4821 charged twice, 40 EUR",
    ],
)
async def test_the_planner_sends_claims_to_the_pipeline(request_text: str) -> None:
    pipeline = load_pipeline(PIPELINE)
    tools = {
        "claims-validation": pipeline_view(pipeline),
        "rules": ToolView.of(build()),
        "validator": ToolView.of(build_validator()),
        "summarizer": ToolView.of(build_summarizer()),
    }
    plan = await RulesPlanner().plan(request_text, tools)
    assert [call.micromodel for call in plan.calls] == ["claims-validation"]
    assert plan.calls[0].arguments["text"]


async def test_other_requests_about_a_claim_are_not_sent_to_it() -> None:
    tools = {
        "claims-validation": pipeline_view(load_pipeline(PIPELINE)),
        "summarizer": ToolView.of(build_summarizer()),
    }
    plan = await RulesPlanner().plan(
        "Summarize this claim: the parcel I ordered on 3 March never came, and the shop "
        "stopped answering my emails after two weeks of promises.",
        tools,
    )
    assert [call.micromodel for call in plan.calls] == ["summarizer"]


def test_the_example_runs_the_pipeline() -> None:
    example = orjson.loads(EXAMPLE.read_bytes())
    assert example["pipeline"] == "claims-validation"
    assert example["input"]


@pytest.mark.model
def test_the_extractors_reading_of_the_example_claim_is_checked(
    rules: Micromodel[RulesRequest, RulesVerdict],
) -> None:
    # The one step of the chain a model answers, on the real model: what it extracts with
    # the pipeline's schema is taken by the rules micromodel, and the amount and dates the
    # claim writes ("EUR 1.234,50", "3 March 2026") come out canonical.
    from slmesh.extractor.micromodel import ExtractionRequest, extract
    from slmesh.runtime.llm import LocalModel, ModelSession, ModelSettings

    schema = load_pipeline(PIPELINE).steps[0].arguments["schema"]
    text = orjson.loads(EXAMPLE.read_bytes())["input"]
    request = ExtractionRequest.model_validate({"text": text, "schema": schema})
    data = extract(request, ModelSession(LocalModel.load(ModelSettings()))).data
    verdict = check(rules, data)
    assert verdict.normalised["amount"] == 1234.5
    assert verdict.normalised["transaction_date"] == "2026-03-03"
    assert verdict.normalised["claim_date"] == "2026-03-20"
    assert verdict.normalised["card_last4"] == "4821"

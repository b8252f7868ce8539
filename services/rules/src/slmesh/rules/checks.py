"""A record judged under one ruleset version: every rule in order, each field it names.

Plain code on purpose: a rule derived from rejected claims has one right answer, and a
claim is submitted only when the same record gets the same verdict every time, with the
rule, the reason and the rejection code of every failure named.

A rule of any check but `required` skips a field that is missing (absent, null, blank or
a placeholder such as "n/a"), and a date comparison skips when the date it compares
with is missing: the rule that requires the field names it, once. A value present but
unreadable (an amount that is no amount) fails every rule that needs it read.

Reasons quote no amount or free text from the record: they name fields, the rule's own
bounds and values, and dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from pydantic import JsonValue

from slmesh.rules.contract import Failure, RulesRequest, RulesVerdict
from slmesh.rules.normalise import MISSING, Reading, read
from slmesh.rules.rulesets import Rule, Ruleset

# A pattern reads at most this much of a value: the regular expression is the
# operator's, the value anyone's.
MAX_PATTERN_CHARS: Final = 200
# How many failures the summary line names, and how many allowed values a reason lists.
SHOWN_FAILURES: Final = 8
SHOWN_VALUES: Final = 8


@dataclass(frozen=True)
class Outcome:
    """One field under one rule: why it failed (None: it did not), or skipped; and the
    value as the rule spells it, where the rule gives one (one_of)."""

    failed: str | None = None
    skipped: bool = False
    canonical: str | None = None
    # The field to blame when it is not the rule's own: a date compared with that is no date.
    blamed: str | None = None


PASSED: Final = Outcome()
SKIPPED: Final = Outcome(skipped=True)


def readings(ruleset: Ruleset, record: dict[str, JsonValue]) -> dict[str, Reading]:
    """Each field read as its kind. A currency the amount is written with ("€89.99")
    stands for a missing currency field the ruleset ties to it."""
    found = {name: read(value, ruleset.spec(name).kind) for name, value in record.items()}
    for name, spec in ruleset.fields.items():
        amount = found.get(name, MISSING)
        target = spec.currency_field
        if target and amount.currency and found.get(target, MISSING).missing:
            found[target] = read(amount.currency, ruleset.spec(target).kind)
    return found


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


def _fold(value: str) -> str:
    """Compared regardless of case and of how words are joined: "Not received",
    "not-received" and "NOT_RECEIVED" are one value."""
    return re.sub(r"[\s_-]+", "_", value.strip()).casefold()


def check_bounds(rule: Rule, name: str, reading: Reading) -> Outcome:
    number = reading.number
    if number is None:
        return Outcome(failed=f"{name} is not an amount")
    if rule.lower is not None:
        if rule.lower_excluded and number <= rule.lower:
            return Outcome(failed=f"{name} is not more than {_plain(rule.lower)}")
        if number < rule.lower:
            return Outcome(failed=f"{name} is less than {_plain(rule.lower)}")
    if rule.upper is not None:
        if rule.upper_excluded and number >= rule.upper:
            return Outcome(failed=f"{name} is not less than {_plain(rule.upper)}")
        if number > rule.upper:
            return Outcome(failed=f"{name} is more than {_plain(rule.upper)}")
    return PASSED


def check_pattern(rule: Rule, name: str, reading: Reading) -> Outcome:
    assert rule.regex is not None
    value = reading.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return Outcome(failed=f"{name} is not text")
    if len(value) > MAX_PATTERN_CHARS or not rule.regex.fullmatch(value):
        return Outcome(failed=f"{name} does not have the form the rule asks for")
    return PASSED


def check_one_of(rule: Rule, name: str, reading: Reading) -> Outcome:
    value = reading.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        wanted = _fold(value)
        for allowed in rule.values:
            if _fold(allowed) == wanted:
                return Outcome(canonical=allowed)
    shown = ", ".join(rule.values[:SHOWN_VALUES])
    extra = len(rule.values) - SHOWN_VALUES
    more = f" (and {extra} more)" if extra > 0 else ""
    return Outcome(failed=f"{name} is not one of {shown}{more}")


def check_dates(rule: Rule, name: str, reading: Reading, other: Reading) -> Outcome:
    """not_after and within_days: the field's date against the `other` field's."""
    other_name = rule.other or ""
    if other.missing:
        return SKIPPED
    if reading.day is None:
        return Outcome(failed=f"{name} is not a date")
    if other.day is None:
        return Outcome(failed=f"{other_name} is not a date", blamed=other_name)
    if rule.check == "not_after":
        if reading.day > other.day:
            return Outcome(
                failed=f"{name} {reading.day.isoformat()} is after {other_name} "
                f"{other.day.isoformat()}"
            )
        return PASSED
    days = (reading.day - other.day).days
    limit = rule.days or 0
    if days > limit:
        return Outcome(failed=f"{name} is {days} days after {other_name} (at most {limit})")
    return PASSED


def check(rule: Rule, name: str, found: dict[str, Reading]) -> Outcome:
    """One field under one rule."""
    reading = found.get(name, MISSING)
    if rule.check == "required":
        return Outcome(failed=f"{name} is missing") if reading.missing else PASSED
    if reading.missing:
        return SKIPPED
    match rule.check:
        case "min" | "max" | "range":
            return check_bounds(rule, name, reading)
        case "pattern":
            return check_pattern(rule, name, reading)
        case "one_of":
            return check_one_of(rule, name, reading)
        case "date":
            return PASSED if reading.day else Outcome(failed=f"{name} is not a date")
        case "not_after" | "within_days":
            return check_dates(rule, name, reading, found.get(rule.other or "", MISSING))
    raise AssertionError(f"unknown check {rule.check!r}")  # pragma: no cover


def judge(ruleset: Ruleset, request: RulesRequest) -> RulesVerdict:
    """Every rule in order over the record read once: each failure with its rule, field,
    reason and rejection code; each rule passed by all of its fields named."""
    found = readings(ruleset, request.record)
    normalised: dict[str, JsonValue] = {name: r.value for name, r in found.items()}
    failed: list[Failure] = []
    passed: list[str] = []
    for rule in ruleset.rules:
        outcomes = [(name, check(rule, name, found)) for name in rule.fields]
        for name, outcome in outcomes:
            if outcome.failed is not None:
                failed.append(
                    Failure(
                        rule=rule.id,
                        field=outcome.blamed or name,
                        reason=f"{outcome.failed}: {rule.reason}",
                        derived_from=rule.derived_from,
                    )
                )
            elif outcome.canonical is not None:
                normalised[name] = outcome.canonical
        if all(o.failed is None for _, o in outcomes) and not all(o.skipped for _, o in outcomes):
            passed.append(rule.id)
    return RulesVerdict(
        verdict="reject" if failed else "accept",
        ruleset=ruleset.name,
        version=ruleset.version,
        failed=failed,
        passed=passed,
        normalised=normalised,
    )


def describe(verdict: RulesVerdict) -> str:
    """One line: `accept under card-disputes version 1: 7 rules passed`, or `reject under
    card-disputes version 1: R2 amount_out_of_range (amount), R7 filed_late (claim_date)`.
    Deterministic (a composer quotes it verbatim), failures in rule order, bounded."""
    under = f"{verdict.verdict} under {verdict.ruleset} version {verdict.version}"
    if not verdict.failed:
        count = len(verdict.passed)
        return f"{under}: {count} rule{'' if count == 1 else 's'} passed"
    named = [f"{f.rule} {f.derived_from} ({f.field})" for f in verdict.failed[:SHOWN_FAILURES]]
    more = len(verdict.failed) - SHOWN_FAILURES
    return f"{under}: {', '.join(named)}" + (f" and {more} more" if more > 0 else "")

"""Numbers as people write them, read one way by every service that reads amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from slmesh.runtime.written import written_number


@pytest.mark.parametrize(
    ("written", "number"),
    [
        ("1234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1 234,5", "1234.5"),
        ("1'234.50", "1234.50"),
        ("1,234", "1234"),
        ("0,125", "0.125"),
        ("12,5", "12.5"),
        ("1.000.000", "1000000"),
        ("42", "42"),
    ],
)
def test_groups_and_either_decimal_mark_are_read(written: str, number: str) -> None:
    assert written_number(written) == Decimal(number)


@pytest.mark.parametrize("written", ["1,23,456", "12.34.5,6", "1.2,3.4", "12 34", ""])
def test_separators_that_follow_no_convention_read_as_nothing(written: str) -> None:
    assert written_number(written) is None

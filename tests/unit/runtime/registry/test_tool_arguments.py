"""A tool's arguments checked against its announced input schema, each answer remembered."""

from __future__ import annotations

from typing import Any

from slmesh.runtime.registry.catalogue import MEMO_KEY_BYTES, MEMO_SIZE, Tool

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"country": {"type": "string", "enum": ["DE", "FR"]}},
    "required": ["country"],
    "additionalProperties": False,
}


def tool() -> Tool:
    made = Tool(name="vat-rates")
    made.use_schema(SCHEMA)
    return made


def test_good_and_bad_arguments_get_the_same_answer_every_time() -> None:
    vat = tool()
    for _ in range(3):
        assert vat.argument_problem({"country": "DE"}) is None
        problem = vat.argument_problem({"country": "XX"})
        assert problem is not None
        assert problem.startswith("country: 'XX' is not one of")
        assert vat.argument_problem({"colour": "blue"}) == (
            "(arguments): 'country' is a required property; "
            "(arguments): Additional properties are not allowed ('colour' was unexpected)"
        )


def test_key_order_does_not_matter_and_non_json_arguments_are_still_checked() -> None:
    vat = tool()
    assert vat.argument_problem({"country": "FR"}) is None
    assert vat.argument_problem({"country": "FR", "x": 1}) == vat.argument_problem(
        {"x": 1, "country": "FR"}
    )
    assert vat.argument_problem({"country": {1, 2}}) is not None


def test_a_new_schema_forgets_what_the_old_one_allowed() -> None:
    vat = tool()
    assert vat.argument_problem({"country": "IT"}) is not None
    vat.use_schema({**SCHEMA, "properties": {"country": {"type": "string"}}})
    assert vat.argument_problem({"country": "IT"}) is None


def test_the_memo_stays_bounded() -> None:
    vat = tool()
    for n in range(MEMO_SIZE + 10):
        assert vat.argument_problem({"country": "DE", "n": n}) is not None
    assert len(vat._checked) <= MEMO_SIZE


def test_long_arguments_are_checked_each_time_and_never_kept() -> None:
    vat = tool()
    long = {"country": "DE", "text": "x" * MEMO_KEY_BYTES}
    for _ in range(2):
        assert vat.argument_problem(long) is not None
    assert vat._checked == {}

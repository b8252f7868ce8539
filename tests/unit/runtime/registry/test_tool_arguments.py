"""A tool's arguments checked against its announced input schema, each answer remembered."""

from __future__ import annotations

import tracemalloc
from typing import Any

from slmesh.runtime.registry.catalogue import Tool
from slmesh.runtime.registry.memo import MEMO_BYTES, MEMO_KEY_BYTES, CheckMemo

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


def test_the_memo_stays_within_its_bytes() -> None:
    vat = tool()
    for n in range(MEMO_BYTES // 100):
        assert vat.argument_problem({"country": "DE", "n": n}) is not None
    assert 0 < vat._checked.size <= MEMO_BYTES
    # The oldest were forgotten, the newest kept.
    assert vat._checked.get(b'{"country":"DE","n":0}') == (False, None)
    last = MEMO_BYTES // 100 - 1
    assert vat._checked.get(b'{"country":"DE","n":%d}' % last)[0]


def test_a_large_enum_keeps_the_memo_within_its_bytes_in_memory_too() -> None:
    """Each refusal names the whole enum: counted by entries alone, 4096 of them held
    hundreds of megabytes."""
    vat = Tool(name="big")
    vat.use_schema(
        {
            "type": "object",
            "properties": {"code": {"enum": [f"code-{n:05d}" for n in range(2_000)]}},
        }
    )
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for n in range(400):
            problem = vat.argument_problem({"code": f"nope-{n}"})
            assert problem is not None
            assert len(problem) > 20_000
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    # 400 refusals of 28 KB: 11 MB, were they all kept.
    assert 0 < len(vat._checked) < 400
    assert vat._checked.size <= MEMO_BYTES
    assert grown < 2 * MEMO_BYTES, grown


def test_an_answer_larger_than_a_slice_of_the_memo_is_not_kept() -> None:
    memo = CheckMemo(max_bytes=16_000)
    memo.put(b"k", "x" * 1_000)
    assert memo.get(b"k") == (False, None)


def test_entries_count_their_bytes_and_the_least_recently_used_go_first() -> None:
    memo = CheckMemo(max_bytes=4000, max_key_bytes=100)
    memo.put(b"a", None)
    memo.put(b"b", "x" * 40)
    assert memo.size == (200 + 1) + (200 + 1 + 40)
    assert memo.get(b"a") == (True, None)  # now used more recently than b
    for n in range(18):  # 3644 bytes more: over the budget by one entry
        memo.put(b"k%d" % n, None)
    assert memo.size <= 4000
    assert memo.get(b"b") == (False, None)
    assert memo.get(b"a") == (True, None)
    memo.put(b"y" * 101, None)  # too long a key: not kept
    assert memo.get(b"y" * 101) == (False, None)
    memo.clear()
    assert (len(memo), memo.size) == (0, 0)


def test_long_arguments_are_checked_each_time_and_never_kept() -> None:
    vat = tool()
    long = {"country": "DE", "text": "x" * MEMO_KEY_BYTES}
    for _ in range(2):
        assert vat.argument_problem(long) is not None
    assert len(vat._checked) == 0

"""A reply's output checked against the output schema its micromodel announced."""

from __future__ import annotations

from typing import Any

from slmesh.runtime.registry.catalogue import Catalogue, Tool
from slmesh.runtime.registry.memo import MEMO_BYTES
from slmesh.runtime.registry.outputs import MEMO_KEY_BYTES
from slmesh.runtime.settings import MeshSettings
from tests.support.proofs import party

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string", "maxLength": 50}},
    "required": ["summary"],
    "additionalProperties": False,
}


def test_an_output_that_fits_passes_and_one_that_does_not_is_said_why() -> None:
    tool = Tool(name="summarizer", output_schema=SCHEMA)
    for _ in range(2):  # the second time from the memo
        assert tool.output_problem({"summary": "Snow closes the pass"}) is None
        assert tool.output_problem({"summary": "x", "tool_call": "vat-rates(*)"}) == (
            "(output): Additional properties are not allowed ('tool_call' was unexpected)"
        )
        problem = tool.output_problem({"summary": 7})
        assert problem == "summary: 7 is not of type 'string'"


def test_no_announced_schema_checks_nothing() -> None:
    assert Tool(name="configured").output_problem({"anything": True}) is None


def test_an_announcement_with_the_same_schema_keeps_the_compiled_check() -> None:
    tool = Tool(name="summarizer", output_schema=SCHEMA)
    assert tool.output_problem({"summary": "ok"}) is None
    compiled = tool._outputs
    tool.output_schema = dict(SCHEMA)  # what each heartbeat's announcement does
    assert tool.output_problem({"summary": "ok"}) is None
    assert tool._outputs is compiled
    # A new schema is compiled anew, and what the old one allowed is not remembered.
    tool.output_schema = {**SCHEMA, "properties": {"summary": {"type": "integer"}}}
    assert tool.output_problem({"summary": "ok"}) is not None
    assert tool._outputs is not compiled


def test_the_memo_stays_bounded_and_long_outputs_are_checked_each_time() -> None:
    tool = Tool(name="summarizer", output_schema=SCHEMA)
    for n in range(MEMO_BYTES // 200 + 10):
        assert tool.output_problem({"summary": f"{n}"}) is None
    assert tool._outputs is not None
    assert 0 < tool._outputs._checked.size <= MEMO_BYTES
    tool._outputs._checked.clear()
    assert tool.output_problem({"summary": "x" * MEMO_KEY_BYTES}) is not None
    assert len(tool._outputs._checked) == 0


def test_the_catalogue_checks_against_the_last_card_live_or_gone() -> None:
    catalogue = Catalogue(MeshSettings(), party("orchestrator"), static=["configured"])
    catalogue._tools["summarizer"] = Tool(name="summarizer", output_schema=SCHEMA)  # no replica
    assert catalogue.get("summarizer") is None
    assert catalogue.output_problem("summarizer", {"summary": 1}) is not None
    assert catalogue.output_problem("configured", {"summary": 1}) is None
    assert catalogue.output_problem("never-heard-of", {"summary": 1}) is None

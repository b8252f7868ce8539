"""Pipeline files: the shipped ones load, and one that cannot is refused by name and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from slmesh.orchestrator.pipelines import (
    PipelineFileError,
    input_problem,
    load_pipeline,
    load_pipelines,
    output_problem,
)

SHIPPED = Path(__file__).parents[4] / "pipelines"
TEST_ONLY = Path(__file__).parents[3] / "support" / "pipelines"

STEP = "steps:\n  - id: a\n    micromodel: summarizer\n    take: {text: /input/text}\n"


def test_every_shipped_pipeline_loads() -> None:
    loaded = load_pipelines(SHIPPED)
    assert {"support-triage", "vat-compare"} <= set(loaded)
    assert "broken-chain" in load_pipelines(TEST_ONLY)


def test_json_and_yaml_declare_the_same_pipeline(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(f"name: a\ndescription: d\n{STEP}")
    (tmp_path / "b.json").write_text(
        '{"name": "b", "description": "d", "steps": [{"id": "a", "micromodel": "summarizer",'
        ' "take": {"text": "/input/text"}}]}'
    )
    (tmp_path / "notes.txt").write_text("not a pipeline")
    loaded = load_pipelines(tmp_path)
    assert sorted(loaded) == ["a", "b"]
    assert loaded["a"].steps == loaded["b"].steps


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("name: [unclosed", "does not parse"),
        (f"name: Bad Name\ndescription: d\n{STEP}", "not a pipeline: name"),
        (f"name: a\n{STEP}", "description: Field required"),
        (f"name: a\ndescription: d\ninput_schema: {{type: 7}}\n{STEP}", "not JSON Schema"),
        (f"name: a\ndescription: d\nrogue: 1\n{STEP}", "rogue: Extra inputs"),
    ],
)
def test_a_file_that_cannot_load_is_named_with_why(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(content)
    with pytest.raises(PipelineFileError, match=problem) as refused:
        load_pipeline(path)
    assert str(path) in str(refused.value)


def test_two_files_declaring_one_name_are_refused(tmp_path: Path) -> None:
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / name).write_text(f"name: same\ndescription: d\n{STEP}")
    with pytest.raises(PipelineFileError, match=r"'same' is declared in .*one\.yaml too"):
        load_pipelines(tmp_path)


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("#" * 300_000)
    with pytest.raises(PipelineFileError, match="over the 262144 a pipeline may be"):
        load_pipeline(path)


def test_arguments_and_outputs_are_checked_against_the_pipelines_schemas() -> None:
    compare = load_pipelines(SHIPPED)["vat-compare"]
    assert input_problem(compare, {"countries": ["DE"]}) is None
    assert input_problem(compare, {"countries": []}) == "countries: [] should be non-empty"
    assert input_problem(compare, {}) == "(top): 'countries' is a required property"
    assert output_problem(compare, {"rates": []}) is None
    assert output_problem(compare, {"rates": "x"}) == "rates: 'x' is not of type 'array'"

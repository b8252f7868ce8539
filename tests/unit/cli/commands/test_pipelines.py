"""`slmesh pipelines`: the shipped pipelines listed with their steps, and a directory
that holds a file that does not load named with why."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from slmesh.cli import main as cli

SHIPPED = Path(__file__).parents[4] / "pipelines"


def exit_code(argv: list[str]) -> int | str | None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    return exited.value.code


def test_the_shipped_pipelines_are_listed_with_their_steps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert exit_code(["pipelines", "--dir", str(SHIPPED)]) == 0
    out = capsys.readouterr().out
    assert "support-triage@1.0.0: Sorts a customer's message" in out
    assert (
        'gist: summarizer(text=/input/text, max_words=20) when /steps/intent/label = "complaint"'
        in out
    )
    assert "rates: vat-rates(country=/item) for each of /input/countries" in out
    assert "takes: countries" in out


def test_as_json_each_pipeline_is_its_declaration(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["pipelines", "--dir", str(SHIPPED), "--json"]) == 0
    listed = orjson.loads(capsys.readouterr().out)
    assert {p["name"] for p in listed} >= {"support-triage", "vat-compare"}


def test_a_file_that_does_not_load_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text("name: x\ndescription: d\nsteps: []\n")
    assert exit_code(["pipelines", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "bad.yaml: not a pipeline: steps" in out


def test_a_pipelines_answer_shows_each_step_with_what_it_gave() -> None:
    from slmesh.cli.commands.ask.answer import format_response
    from slmesh.schemas import RequestCompleted

    response = RequestCompleted.create(
        data={
            "status": "partial",
            "answer": "A complaint",
            "planner": "pipeline support-triage@1.0.0",
            "pipeline": "support-triage@1.0.0",
            "output": {"intent": "complaint"},
            "calls": [
                {
                    "task_id": "r:1",
                    "micromodel": "classifier",
                    "arguments": {"text": "I was charged twice"},
                    "status": "ok",
                    "output": {"label": "complaint", "confidence": 0.9},
                    "model": "gemma",
                    "latency_ms": 80.0,
                    "elapsed_ms": 95.0,
                    "step": "intent",
                },
                {
                    "task_id": "r:step-gist",
                    "micromodel": "summarizer",
                    "arguments": {},
                    "status": "failed",
                    "error": {"code": "step_not_run", "message": "step intent failed (x)"},
                    "step": "gist",
                },
            ],
            "elapsed_ms": 120.0,
        },
        source="/tests",
        request_id="r",
    )
    text = format_response(response)
    assert "pipeline: support-triage@1.0.0" in text
    assert "[intent] classifier(text=I was charged twice)" in text
    assert '-> {"label":"complaint","confidence":0.9}' in text
    [gist] = [line for line in text.splitlines() if "[gist] summarizer()" in line]
    assert gist.endswith("  not run: step intent failed (x)")
    assert "output:\n  intent: complaint" in text

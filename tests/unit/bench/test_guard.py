"""CI's guard (`make bench-guard`): it fails only on a gross, confirmed regression of the
single call's mesh/raw p50, and prints the figures either way."""

from __future__ import annotations

import pytest

from bench.overhead.guard import guard
from bench.overhead.plan import Results
from bench.stats import Latencies


def results(mesh_ms: float, raw_ms: float, again: tuple[float, float] | None = None) -> Results:
    found = Results(
        latency={("mesh", "single"): Latencies([mesh_ms]), ("raw", "single"): Latencies([raw_ms])}
    )
    if again is not None:
        found.confirm = {
            ("mesh", "single"): Latencies([again[0]]),
            ("raw", "single"): Latencies([again[1]]),
        }
    return found


def test_a_ratio_within_the_limit_passes_and_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert guard(results(20.0, 10.0), max_ratio=3)
    out = capsys.readouterr().out
    assert "single-call mesh/raw p50 20.0/10.0 ms = 2.00x, limit 3x: ok" in out


def test_a_ratio_over_the_limit_fails_when_measured_again_over_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert not guard(results(40.0, 10.0, again=(35.0, 10.0)), max_ratio=3)
    out = capsys.readouterr().out
    assert "4.00x, measured again 3.50x" in out
    assert "FAILED (exit 3)" in out


def test_one_ratio_over_the_limit_that_the_second_measurement_does_not_confirm_passes() -> None:
    # A moment of load on a shared CI machine, not a regression.
    assert guard(results(40.0, 10.0, again=(25.0, 10.0)), max_ratio=3)


def test_no_raw_figure_fails() -> None:
    assert not guard(results(20.0, float("nan")), max_ratio=3)

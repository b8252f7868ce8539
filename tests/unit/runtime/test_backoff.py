"""Retry delays: doubling to a bound, drawn with full jitter; and what an endpoint's answer says
about retrying it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from slmesh.runtime.backoff import backoff, full_jitter
from slmesh.runtime.llm.remote.retries import code_for_status, is_retried, retry_after_s


def test_backoff_doubles_to_its_bound() -> None:
    assert list(backoff(0.5, 3.0, 5)) == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_full_jitter_draws_each_delay_between_zero_and_its_doubling_bound() -> None:
    rng = random.Random(7)
    bounds = list(backoff(0.5, 4.0, 6))
    draws = [list(full_jitter(0.5, 4.0, 6, rng)) for _ in range(2000)]
    assert all(len(delays) == 6 for delays in draws)
    for n, bound in enumerate(bounds):
        nth = [delays[n] for delays in draws]
        assert all(0.0 <= d <= bound for d in nth)
        # Spread over the whole interval, not bunched at the bound: clients that failed
        # together do not come back together.
        assert min(nth) < bound * 0.05
        assert max(nth) > bound * 0.95
        assert abs(sum(nth) / len(nth) - bound / 2) < bound * 0.05


def test_no_attempts_no_delays() -> None:
    assert list(full_jitter(0.5, 4.0, 0)) == []


@pytest.mark.parametrize(
    ("status", "retried", "code"),
    [
        (429, True, "remote_rate_limited"),
        (500, True, "remote_unavailable"),
        (503, True, "remote_unavailable"),
        (400, False, "remote_error"),
        (401, False, "remote_error"),
        (404, False, "remote_error"),
        (408, False, "remote_error"),
        (422, False, "remote_error"),
    ],
)
def test_only_rate_limits_and_server_errors_are_retried(
    status: int, retried: bool, code: str
) -> None:
    assert (is_retried(status), code_for_status(status)) == (retried, code)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    assert retry_after_s("7", now) == 7.0
    assert retry_after_s(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    # A date gone by: no wait.
    assert retry_after_s(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0.0
    assert retry_after_s(None, now) is None
    assert retry_after_s("soon", now) is None
    assert retry_after_s("-3", now) is None

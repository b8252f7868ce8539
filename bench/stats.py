"""Statistics the benchmarks share: percentiles, p50/p99 of latencies, ratios, verdicts.

One definition of each, so that a p50, a ratio against a baseline or a PASS means
the same in every benchmark's output: numpy's default percentile (NaN of nothing),
and a ratio whose baseline has no figure is NaN, which never meets a target,
rather than a division error after the whole run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), as numpy's default."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(values: list[float]) -> float:
    """The 50th percentile: the mean of the middle two of an even count; NaN of nothing."""
    return percentile(values, 50)


def ratio(value: float, baseline: float) -> float:
    """`value` against its baseline, NaN when the baseline has no positive figure."""
    return value / baseline if baseline > 0 else math.nan


def verdict(ok: bool) -> str:
    """A target's verdict as every benchmark prints it."""
    return "PASS" if ok else "MISS"


@dataclass
class Latencies:
    """Round trips (ms) of the requests that were answered, and how many were not."""

    ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def p50(self) -> float:
        return percentile(self.ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.ms, 99)

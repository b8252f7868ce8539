"""Exponential backoff, one way for every retry in the mesh."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator


def backoff(first_s: float, cap_s: float, attempts: int | None = None) -> Iterator[float]:
    """Delays doubling from `first_s`, at most `cap_s`; `attempts` of them, or for ever."""
    delays = (min(first_s * 2**n, cap_s) for n in itertools.count())
    return delays if attempts is None else itertools.islice(delays, attempts)


def full_jitter(
    first_s: float, cap_s: float, attempts: int, rng: random.Random | None = None
) -> Iterator[float]:
    """`backoff`'s delays, each drawn uniformly from [0, delay] ("full jitter").

    For many clients of one endpoint that failed together (a provider's outage, its
    rate limit): with the plain doubling they would all come back at the same instants
    and fail together again; drawn at random, their retries spread over the interval.
    """
    draw = rng or random
    return (draw.uniform(0.0, delay) for delay in backoff(first_s, cap_s, attempts))

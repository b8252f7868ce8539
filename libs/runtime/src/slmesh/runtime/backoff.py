"""Exponential backoff, one way for every retry in the mesh."""

from __future__ import annotations

import itertools
from collections.abc import Iterator


def backoff(first_s: float, cap_s: float, attempts: int | None = None) -> Iterator[float]:
    """Delays doubling from `first_s`, at most `cap_s`; `attempts` of them, or for ever."""
    delays = (min(first_s * 2**n, cap_s) for n in itertools.count())
    return delays if attempts is None else itertools.islice(delays, attempts)

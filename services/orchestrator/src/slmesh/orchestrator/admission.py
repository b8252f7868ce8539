"""When a caller's open requests must be counted before its next request is planned.

The cap on a caller's open requests is kept by the gather store's OPEN
script, atomically and in the round trip that opens the request: nothing is
added to the hot path. But a request is planned before it is opened (a
model's work, maybe), and a plan made without a model has its tasks
published while its state is written: at its cap, a caller's requests would
still be planned, and deterministic ones dispatched, before the refusal.

So each replica remembers how many requests a caller had open when it last
opened one of its requests, plus those it is opening now. Below half the cap
nothing changes; from there on, the count is asked of Redis before planning
(one round trip, for such callers only: a request at the cap is refused
before any work) and the state is written before the tasks go out. The
memory is only a hint: the count that decides is the store's.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator


class OpenRequests:
    """Each caller's open requests as last seen here, and those being opened here now."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._opening: Counter[str] = Counter()

    def near_cap(self, caller: str, cap: int) -> bool:
        """Whether `caller` may be at `cap`: count before planning, write before dispatching."""
        return self._seen.get(caller, 0) + self._opening[caller] >= cap // 2

    def seen(self, caller: str, open_requests: int) -> None:
        """The store said `caller` has this many requests open."""
        self._seen[caller] = open_requests

    @contextlib.contextmanager
    def opening(self, caller: str) -> Iterator[None]:
        """A request of `caller` being opened here (its count not known yet)."""
        self._opening[caller] += 1
        try:
            yield
        finally:
            self._opening[caller] -= 1
            if not self._opening[caller]:
                del self._opening[caller]

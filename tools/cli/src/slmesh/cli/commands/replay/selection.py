"""Which records `slmesh replay` (and `slmesh shadow`) take: every criterion given must
hold. Pure: it looks at records already read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from slmesh.cli.records import Seen, same_request, type_matches

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 instant, or one relative to now: `90s`, `10m`, `2h`, `1d` ago."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = float(relative.group(1)), relative.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    when = datetime.fromisoformat(text.strip())
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Selection:
    """Which records to replay; every criterion given must hold."""

    partition: int | None = None
    from_offset: int | None = None
    to_offset: int | None = None  # inclusive
    since: datetime | None = None
    until: datetime | None = None
    request_ids: frozenset[str] = field(default_factory=frozenset)
    kind: str | None = None
    micromodel: str | None = None

    def matches(self, seen: Seen) -> bool:
        if self.partition is not None and seen.partition != self.partition:
            return False
        if self.from_offset is not None and seen.offset < self.from_offset:
            return False
        if self.to_offset is not None and seen.offset > self.to_offset:
            return False
        if self.since is not None and seen.time < self.since:
            return False
        if self.until is not None and seen.time > self.until:
            return False
        if self.request_ids and not any(same_request(seen, r) for r in self.request_ids):
            return False
        if self.kind is not None and not type_matches(seen, self.kind):
            return False
        return self.micromodel is None or seen.data.get("micromodel") == self.micromodel

"""Which failures of a remote call are worth another attempt, what each is called when the
attempts are spent, and how long the endpoint asks to be left alone.

Retried: 429 (rate limited), 5xx (the server failed), connection errors and timeouts —
each may pass. Never another 4xx: the endpoint refused this very call (a bad key, a
request it cannot take), and asking again would only be refused again, at a price.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slmesh.schemas import ErrorCode

RATE_LIMITED = 429


def is_retried(status: int) -> bool:
    """Whether an answer with HTTP `status` is worth another attempt."""
    return status == RATE_LIMITED or 500 <= status <= 599


def code_for_status(status: int) -> ErrorCode:
    """The task's error code for a call that ended with HTTP `status`."""
    if status == RATE_LIMITED:
        return "remote_rate_limited"
    if 500 <= status <= 599:
        return "remote_unavailable"
    return "remote_error"


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks to wait: delta-seconds or an HTTP date (RFC 9110
    §10.2.3); None when absent or unreadable (then the backoff decides)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())

"""What a handler is about (a request, a task), for every log line and span it makes meanwhile.

A record's handling runs in its own asyncio task, with its own copy of the
context: what `about` binds there stays with that record's lines, and is
gone when its task ends.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from slmesh.runtime.tracing import note

_fields: ContextVar[dict[str, Any] | None] = ContextVar("slmesh_log_fields", default=None)


def about(**fields: Any) -> None:
    """Bind fields (request_id, task_id, micromodel) to what follows in this task:
    its log lines (JSON logs) and its current span's attributes."""
    _fields.set({**(_fields.get() or {}), **fields})
    note(**fields)


def bound() -> dict[str, Any]:
    return _fields.get() or {}

"""The orchestrator's one clock: wall-clock milliseconds, as deadlines are kept."""

from __future__ import annotations

import time


def now_ms() -> float:
    return time.time() * 1000

"""The one way a failed call is told: a TaskFailed, whoever finds the failure."""

from __future__ import annotations

from slmesh.schemas import ErrorCode, ErrorInfo, TaskFailed


def task_failed(
    *,
    task_id: str,
    micromodel: str,
    code: ErrorCode,
    message: str,
    source: str,
    request_id: str,
    replica: str,
    latency_ms: float = 0.0,
    causation_id: str | None = None,
    retryable: bool = False,
) -> TaskFailed:
    """A TaskFailed for one call; the message is cut to what the contract allows.
    `retryable`: sending the same call again later may succeed."""
    return TaskFailed.create(
        data={
            "task_id": task_id,
            "micromodel": micromodel,
            "error": ErrorInfo.about(code, message, retryable=retryable),
            "latency_ms": latency_ms,
            "replica": replica,
        },
        source=source,
        request_id=request_id,
        causation_id=causation_id,
    )

"""What every service process does the same way: logging and the ready line, waiting for
and watching the broker and Redis, one start/stop order (the skeleton), running, and
loading its model or exiting."""

from slmesh.runtime.service.dependencies import DependencyWatch, ping_redis, wait_for_dependencies
from slmesh.runtime.service.logs import (
    MISCONFIGURED,
    MODEL_LOAD_FAILED,
    READY_MARKER,
    configure_logging,
    faststream_logger,
    lifecycle,
    load_model_or_exit,
    run,
)
from slmesh.runtime.service.skeleton import ServiceSkeleton

__all__ = [
    "MISCONFIGURED",
    "MODEL_LOAD_FAILED",
    "READY_MARKER",
    "DependencyWatch",
    "ServiceSkeleton",
    "configure_logging",
    "faststream_logger",
    "lifecycle",
    "load_model_or_exit",
    "ping_redis",
    "run",
    "wait_for_dependencies",
]

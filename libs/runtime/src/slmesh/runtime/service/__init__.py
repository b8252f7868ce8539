"""What every service process does the same way: loading its settings or exiting, logging
and the ready line, waiting for and watching the broker and Redis, one start/stop order
(the skeleton), running, and loading its model (or making its remote one) or exiting.

The dependency watch and the skeleton (Redis, FastStream, OpenTelemetry's SDK) are
imported on first use of their names: a client that only configures its logging
(`slmesh ask`) loads none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from slmesh.runtime.service.logs import (
    MISCONFIGURED,
    MODEL_LOAD_FAILED,
    READY_MARKER,
    configure_logging,
    faststream_logger,
    lifecycle,
    load_model_or_exit,
    load_settings_or_exit,
    party_or_exit,
    remote_model_or_exit,
    run,
)

if TYPE_CHECKING:
    from slmesh.runtime.service.dependencies import (
        DependencyWatch,
        ping_redis,
        wait_for_dependencies,
    )
    from slmesh.runtime.service.skeleton import ServiceSkeleton

# Name -> the module that holds it, imported when the name is first asked for.
_LAZY = {
    "DependencyWatch": "slmesh.runtime.service.dependencies",
    "ping_redis": "slmesh.runtime.service.dependencies",
    "wait_for_dependencies": "slmesh.runtime.service.dependencies",
    "ServiceSkeleton": "slmesh.runtime.service.skeleton",
}

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
    "load_settings_or_exit",
    "party_or_exit",
    "ping_redis",
    "remote_model_or_exit",
    "run",
    "wait_for_dependencies",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

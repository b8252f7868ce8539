"""How a command that reads the broker ends when the broker or a topic is not there: said,
with its exit code (`topics`, `tail`, `lag`, `registry`, `trace`, `replay`, `shadow`).

The commands import it as they build the parser: aiokafka and the runtime are
imported only when a command runs.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from slmesh.cli.conventions import (
    INVALID_SETTINGS,
    NO_BROKER,
    NOT_FOUND,
    START_HINT,
    TLS_REFUSED,
)

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from slmesh.runtime.settings import MeshSettings


def run_reader(work: Coroutine[Any, Any, int]) -> int:
    """Run a command that reads the broker; when the broker or a topic is not there, say
    so with its exit code."""
    import asyncio

    from aiokafka.errors import KafkaConnectionError

    from slmesh.runtime.kafka import UnknownTopicError
    from slmesh.runtime.settings import MeshSettings
    from slmesh.runtime.trust import TrustUnavailable

    try:
        return asyncio.run(work)
    except KafkaConnectionError as exc:
        refused = _tls_refusal(MeshSettings())
        print(refused or f"{exc}. {START_HINT}", file=sys.stderr)
        return TLS_REFUSED if refused else NO_BROKER
    except UnknownTopicError as exc:
        print(exc, file=sys.stderr)
        return NOT_FOUND
    except TrustUnavailable as exc:
        # A reader that checks proofs (`registry`) needs its identity's trust file.
        print(exc, file=sys.stderr)
        return INVALID_SETTINGS
    except KeyboardInterrupt:  # `slmesh tail` is stopped so
        return 0
    except BrokenPipeError:  # `slmesh tail | head`: the reader has gone
        # What is still buffered goes nowhere, without a second error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _tls_refusal(settings: MeshSettings) -> str | None:
    """Why TLS to the broker fails, when it does: aiokafka only says it could not bootstrap."""
    import asyncio

    from slmesh.runtime.kafka.security import KafkaSecurityError, check_tls

    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    try:
        asyncio.run(check_tls(settings))
    except KafkaSecurityError as exc:
        return str(exc)
    return None

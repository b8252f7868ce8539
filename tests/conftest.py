"""Fixtures shared by every test layer: a real Redis that the suite starts itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from slmesh.cli.devstack import RedisHandle, ensure_redis


@pytest.fixture(scope="session")
async def redis_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RedisHandle]:
    """A Redis of the suite's own (never the one on :6379), for the whole session."""
    handle = await ensure_redis(None, own=True, workdir=Path(tmp_path_factory.mktemp("redis")))
    yield handle
    await handle.stop()

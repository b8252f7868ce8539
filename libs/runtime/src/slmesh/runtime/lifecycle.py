"""One way to make a start/stop resource an async context manager."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Lifecycle:
    """Subclasses implement `start` and `stop`; `async with` runs them."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

"""`async with` for what starts and stops: the TCP server, the other transports' endpoints."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class StartStop(ABC):
    """Start on entering an `async with` block, stop on leaving it."""

    @abstractmethod
    async def start(self) -> None:
        """Bind, open or connect; raises OSError when that fails."""

    @abstractmethod
    async def stop(self) -> None:
        """Release everything `start()` took (ports, file descriptors, connections)."""

    async def __aenter__(self) -> Self:
        """Start on entering the context."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop on leaving the context."""
        await self.stop()

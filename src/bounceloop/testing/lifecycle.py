"""The ``async with`` shape shared by the loopback fakes (DNS, MX, scripted peer)."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Served:
    """A fake that ``start()``s on entry and ``close()``s on exit of ``async with``."""

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

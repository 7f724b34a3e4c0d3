"""The ``async with`` shape shared by the loopback fakes (DNS, MX, scripted peer)."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self


class Served(abc.ABC):
    """A fake that ``start()``s on entry and ``close()``s on exit of ``async with``."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Bind and begin serving."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop serving and close every socket."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

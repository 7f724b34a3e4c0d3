"""Group commit of received messages: many SMTP sessions, one database transaction.

Each session's DATA handler awaits :meth:`Inbox.store`; the first caller starts a flush that
writes everything waiting in one transaction (storage.received.store_many, in a thread so
the event loop keeps serving), and whatever arrives meanwhile goes in the next one. A
session's 250 waits for the commit that holds its message, so nothing is acknowledged
before it is on disk, yet a burst of N messages costs far fewer than N commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import Engine

from bounceloop.storage import received as store

#: Most messages in one transaction (a bound on its size and on the wait of the first).
MAX_BATCH = 500


class Inbox:
    def __init__(self, db: Engine, on_stored: Callable[[], None] | None = None,
                 writes: asyncio.Lock | None = None) -> None:
        self.db = db
        self.on_stored = on_stored
        # Writers of this process take turns here, in the event loop, rather than in
        # SQLite's busy handler, which sleeps in growing steps (up to 100 ms) while another
        # connection holds the write lock: a wait a 250 reply should not pay.
        self.writes = writes or asyncio.Lock()
        self._waiting: list[tuple[store.Incoming, asyncio.Future[int]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def store(self, item: store.Incoming) -> int:
        """Store one message durably; its id. Raises what the database raised."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        # Retrieved here too, so a failure whose session left is not logged as unretrieved.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiting.append((item, future))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        # shield: a session that goes away mid-commit must not cancel the others' flush.
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                async with self.writes:
                    ids = await asyncio.to_thread(store.store_many, self.db,
                                                  [item for item, _ in batch])
            except Exception as exc:  # every waiter hears it (and answers 451)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), rid in zip(batch, ids, strict=True):
                if not future.done():
                    future.set_result(rid)
            if self.on_stored is not None:
                self.on_stored()

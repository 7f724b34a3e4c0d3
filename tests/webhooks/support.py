"""Webhook test helpers: events written the real way, webhooks, a receiver on a thread."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from bounceloop.storage import events
from bounceloop.storage import webhooks as store
from bounceloop.testing import Receiver

_keys = itertools.count(1)


def failure(message: str = "m1", *, tags: Sequence[str] = ("news",), mailing: int = 1,
            recipient: str = "ann@example.org") -> dict[str, Any]:
    """An events row as the sender writes it for a final synchronous failure."""
    return events.row(
        time=datetime(2026, 11, 22, 10, 30, 5, tzinfo=UTC), type="failure",
        key=f"failure:{message}:{next(_keys)}", message_id=message, mailing_id=mailing,
        recipient=recipient, data={
            "id": message, "recipient": recipient, "mailing": mailing, "tags": list(tags),
            "action": "failed", "state": "rcpt", "code": "550", "extended": "5.1.1",
            "description": "user unknown", "reason": "userunknown", "severity": "hard",
            "step": 4, "errortype": "error"})


def write(db: Engine, rows: Sequence[dict[str, Any]]) -> int:
    with db.begin() as conn:
        return events.add(conn, rows)


def hook(db: Engine, url: str, **kw: Any) -> store.Webhook:
    kw.setdefault("triggers", ["failure"])
    kw.setdefault("concurrency", 4)
    kw.setdefault("timeout", 2)
    with db.begin() as conn:
        return store.create(conn, url=url, **kw)


class ThreadedReceiver:
    """A :class:`Receiver` on a loop of its own thread, for code that runs its own loop
    (click commands call asyncio.run)."""

    def __init__(self, **kw: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.rx = Receiver(**kw)
        asyncio.run_coroutine_threadsafe(self.rx.up(), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.rx.down(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

"""storage.doorbell: an idle worker learns of new jobs at once, on both databases."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from bounceloop.storage import events
from bounceloop.storage import webhooks as store
from bounceloop.storage.doorbell import Doorbell
from tests.webhooks.support import failure, hook, write


def _rings(bell: Doorbell, within: float = 1.0) -> bool:
    """Whether the bell rings within ``within`` seconds (a NOTIFY crosses a socket)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if bell.rang():
            return True
        time.sleep(0.01)
    return False


def test_rings_when_jobs_are_queued_and_only_then(engine: Engine) -> None:
    hook(engine, "http://127.0.0.1:9/hook")
    bell = Doorbell(engine)
    try:
        assert not _rings(bell, 0.2)
        write(engine, [failure("m1")])
        assert _rings(bell)
        assert not _rings(bell, 0.2)  # once per change
        with engine.connect() as conn:  # jobs queued, then rolled back: no ring
            conn.begin()
            events.add(conn, [failure("m2")])
            conn.rollback()
        assert not _rings(bell, 0.2)
    finally:
        bell.close()


def test_a_paused_webhooks_held_jobs_do_not_ring_on_postgresql(engine: Engine) -> None:
    h = hook(engine, "http://127.0.0.1:9/hook")
    with engine.begin() as conn:
        store.pause(conn, h.id, "by hand")
    bell = Doorbell(engine)
    try:
        write(engine, [failure("m1")])  # queued as held
        rang = _rings(bell, 0.2)
        # SQLite cannot tell one commit from another: any commit rings (a look that
        # finds nothing due); PostgreSQL rings only for jobs due.
        assert rang if engine.dialect.name == "sqlite" else not rang
        with engine.begin() as conn:
            store.resume(conn, h.id)
        assert _rings(bell)
    finally:
        bell.close()

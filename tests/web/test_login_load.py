"""Logins at once against ``bounceloop serve --role web``, a real process on 127.0.0.1, on
both backends: what a burst of logins costs the server in memory.

Each scrypt verification holds 16 MiB (N=2**14, r=8: 128 * r * N bytes) while it runs, and
the allocator keeps much of what a thread used. Forty logins at once, unbounded, grow the
process by hundreds of MB; web.ui.session lets ``BOUNCELOOP_LOGIN_CONCURRENCY`` run at once
per process and the others wait for a slot. The growth is measured as the process's peak
resident set (``VmHWM`` of /proc/PID/status) over its resident set before the burst.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bounceloop.storage import migrate, users
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import sessions
from tests.web.served import Web, log_in, serve_web

log = logging.getLogger(__name__)
PASSWORD = "correct horse battery"
LOGINS = 40


def at_once(web: Web, logins: list[tuple[str, str]]) -> list[int]:
    """Every (name, password) logged in from its own connection, the POSTs sent together;
    a 503 must say when to come back."""
    ready = threading.Barrier(len(logins))
    statuses: list[int] = [0] * len(logins)

    def one(i: int, name: str, password: str) -> None:
        status, headers = log_in(web, name, password, ready)
        assert status != 503 or headers["retry-after"] == "1", headers
        statuses[i] = status

    threads = [threading.Thread(target=one, args=(i, *pair)) for i, pair in enumerate(logins)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return statuses


@pytest.fixture
def team(database_url: str) -> Iterator[str]:
    """A migrated database with LOGINS users (names u0...), each with the password at the
    real scrypt cost."""
    db: Engine = create_engine(database_url)
    try:
        migrate.upgrade(db)
        with db.begin() as conn:
            for n in range(LOGINS):
                users.add(conn, f"u{n}", PASSWORD)
    finally:
        db.dispose()
    yield database_url


def test_forty_logins_at_once_grow_the_process_by_little(team: str, tmp_path: Path) -> None:
    for web in serve_web(team, tmp_path):
        # One login first: what any login loads (templates, the dummy hash) is loaded.
        assert log_in(web, "u0", PASSWORD)[0] == 303
        before = web.memory()
        statuses = at_once(web, [(f"u{n}", PASSWORD) for n in range(LOGINS)])
        after = web.memory()
        grown = (after["VmHWM"] - before["VmRSS"]) / 1024
        # The figures: pytest -o log_cli=true --log-cli-level=INFO
        log.info(f"{team.split(':')[0]}: RSS {before['VmRSS'] / 1024:.0f} MiB before, peak "
              f"{after['VmHWM'] / 1024:.0f} MiB during {LOGINS} logins at once (+{grown:.0f}"
              f" MiB), {after['VmRSS'] / 1024:.0f} MiB after")
        assert statuses == [303] * LOGINS
        # Two scrypts at once (the default) are 32 MiB; the rest is the requests' own.
        assert grown < 100, f"+{grown:.0f} MiB, {before} -> {after} KiB"


def test_logins_beyond_the_wait_get_503_and_do_not_run(team: str, tmp_path: Path) -> None:
    """One check at a time, 0.2 s of waiting: of 20 logins at once (some 60 ms of scrypt
    each) the first few pass and the others get 503 with Retry-After, and start nothing."""
    for web in serve_web(team, tmp_path, BOUNCELOOP_LOGIN_CONCURRENCY="1",
                         BOUNCELOOP_LOGIN_WAIT="0.2"):
        statuses = at_once(web, [(f"u{n}", PASSWORD) for n in range(20)])
        assert set(statuses) == {303, 503}, statuses
        retry = log_in(web, "u0", PASSWORD)
        assert retry[0] == 303
        db = create_engine(team)
        try:
            with db.connect() as conn:
                started = conn.execute(select(func.count()).select_from(sessions)).scalar_one()
        finally:
            db.dispose()
        assert started == statuses.count(303) + 1

"""The login limits over loopback, on both backends: two ``bounceloop serve --role web``
processes on one database, and clients that are really different to them (connections from
127.0.0.2, 127.0.0.3: other socket peers).

One client hammering a name cannot lock its owner out, and a client that has failed
CLIENT_MAX_FAILURES times, at any names and through either process, is answered 429 with
Retry-After, even for the right password, and cannot talk its way out with a header.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.requests import Request

from bounceloop.storage import migrate, users
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import login_failures
from bounceloop.web.ui.session import client_of
from tests.web.served import Web, log_in, serve_web

PASSWORD = "correct horse battery"
ATTACKER = "127.0.0.2"
OWNER = "127.0.0.3"


@pytest.fixture
def two_webs(database_url: str, tmp_path: Path) -> Iterator[tuple[Web, Web]]:
    db = create_engine(database_url)
    try:
        migrate.upgrade(db)
        with db.begin() as conn:
            users.add(conn, "ann", PASSWORD)
    finally:
        db.dispose()
    first, second = serve_web(database_url, tmp_path), serve_web(database_url, tmp_path)
    try:
        yield next(first), next(second)
    finally:
        first.close()
        second.close()


def _failed_from(database_url: str, client: str) -> int:
    db = create_engine(database_url)
    try:
        with db.connect() as conn:
            return int(conn.execute(select(func.count()).where(
                login_failures.c.client == client)).scalar_one())
    finally:
        db.dispose()


def test_one_client_can_neither_lock_the_owner_out_nor_try_many_names(
        two_webs: tuple[Web, Web], database_url: str) -> None:
    webs = two_webs
    # Hammering ann from one client, through both processes: five count, then that client
    # is locked out of ann (the rest are refused uncounted), and the owner still gets in.
    hammer = [log_in(webs[n % 2], "ann", f"guess {n}", source=ATTACKER)[0] for n in range(12)]
    assert hammer == [401] * 12
    assert _failed_from(database_url, ATTACKER) == users.MAX_FAILURES
    for web in webs:
        assert log_in(web, "ann", PASSWORD, source=OWNER)[0] == 303
    # Many names from the same client: throttled once it has failed CLIENT_MAX_FAILURES
    # times in all, whichever process counted them.
    left = users.CLIENT_MAX_FAILURES - users.MAX_FAILURES
    names = [log_in(webs[n % 2], f"user{n}", "password", source=ATTACKER)[0]
             for n in range(left)]
    assert names == [401] * left
    for web in webs:
        status, headers = log_in(web, "ann", PASSWORD, source=ATTACKER)
        assert status == 429
        assert 0 < int(headers["retry-after"]) <= users.WINDOW.total_seconds()
        # 127.0.0.2 is no proxy uvicorn trusts (FORWARDED_ALLOW_IPS: 127.0.0.1,::1): its
        # X-Forwarded-For is not believed.
        forged = {"X-Forwarded-For": "198.51.100.7"}
        assert log_in(web, "ann", PASSWORD, source=ATTACKER, headers=forged)[0] == 429
        assert log_in(web, "ann", PASSWORD, source=OWNER)[0] == 303
    assert _failed_from(database_url, ATTACKER) == users.CLIENT_MAX_FAILURES


@pytest.mark.parametrize(("peer", "client"), [
    (("192.0.2.7", 50000), "192.0.2.7"),
    # One host, many IPv6 addresses: its /64 is one client.
    (("2001:db8:1:2:a:b:c:d", 50000), "2001:db8:1:2::/64"),
    (("2001:db8:1:2::ffff", 50001), "2001:db8:1:2::/64"),
    (("::ffff:192.0.2.7", 50000), "192.0.2.7"),
    (("testclient", 50000), "testclient"),
    (None, ""),  # a Unix socket
])
def test_the_client_is_the_peer_an_ipv6_one_by_its_64(peer: tuple[str, int] | None,
                                                     client: str) -> None:
    request = Request({"type": "http", "method": "POST", "path": "/login", "headers": [],
                       "client": peer})
    assert client_of(request) == client

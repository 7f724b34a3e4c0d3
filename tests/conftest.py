"""Shared pytest fixtures, one section per concern: append yours in a section of its own."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine
from bounceloop.testing import FakeDNS, Receiver, postgres
from tests import reaper

# ---------------------------------------------------------------------------------------------
# Databases (storage): a throwaway PostgreSQL server per test session, and per-test databases
# on SQLite and PostgreSQL.
#
#   postgres_server  session: the running server (bounceloop.testing.postgres.Server)
#   postgres_url     session: URL of one empty database on it, for tests that share it
#   database_url     per test, parametrized sqlite|postgres: URL of a fresh, EMPTY database
#   engine           per test, parametrized sqlite|postgres: an engine on a fresh database
#                    already migrated to head
#
# PostgreSQL tests carry the "postgres" mark (deselect with -m "not postgres") and skip with
# the reason when the binaries are missing (Debian package: postgresql, packages/).
# ---------------------------------------------------------------------------------------------

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.Server]:
    if not postgres.available():
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl on PATH or under "
                    "/usr/lib/postgresql/*/bin; install the Debian package postgresql)")
    with postgres.server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: postgres.Server) -> str:
    return postgres_server.create_database("bounceloop_session")


def _fresh_postgres(request: pytest.FixtureRequest) -> str:
    # An empty database and a real migration per test: about 0.1 s, and cheaper than
    # copying a migrated template (CREATE DATABASE ... TEMPLATE, about 0.3 s on PG 15).
    server: postgres.Server = request.getfixturevalue("postgres_server")
    name = f"test_{next(_names)}"
    url = server.create_database(name)
    request.addfinalizer(lambda: server.drop_database(name))
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return _fresh_postgres(request)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = create_engine(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        eng = create_engine(_fresh_postgres(request))
    migrate.upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()


# ---------------------------------------------------------------------------------------------
# Settings: a clean slate for tests that build Settings from the environment.
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ./bounceloop.toml (the working directory is tmp_path) and no BOUNCELOOP_* from
    the caller's shell."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("BOUNCELOOP_"):
            monkeypatch.delenv(name)


# ---------------------------------------------------------------------------------------------
# DNS: three recipient domains d0.test, d1.test, d2.test, each with its MX on 127.0.0.1, on a
# FakeDNS server (for tests that run ``bounceloop`` processes against a local MX).
# ---------------------------------------------------------------------------------------------

@pytest.fixture
async def three_domains() -> AsyncIterator[FakeDNS]:
    zone: dict[tuple[str, str], Any] = {}
    for n in range(3):
        zone[(f"d{n}.test", "MX")] = [f"10 mx.d{n}.test."]
        zone[(f"mx.d{n}.test", "A")] = ["127.0.0.1"]
    async with FakeDNS(zone) as server:
        yield server


# ---------------------------------------------------------------------------------------------
# Webhooks: an HTTP receiver on loopback, on a thread of its own (so code that runs its own
# event loop, like a click command, can call it).
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    from tests.webhooks.support import ThreadedReceiver

    threaded = ThreadedReceiver()
    try:
        yield threaded.rx
    finally:
        threaded.close()


# ---------------------------------------------------------------------------------------------
# Services: a `bounceloop serve` a test started (tests/test_service.start_service) and left
# running, because it failed before stopping it, is killed when the test ends (tests/reaper.py).
# ---------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_service_outlives_its_test() -> Iterator[None]:
    yield
    reaper.reap()

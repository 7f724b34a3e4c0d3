"""bounceloop.testing.postgres: a real throwaway server that starts, serves and goes away."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from bounceloop.storage.engine import create_engine
from bounceloop.testing import postgres

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if not postgres.available():
        pytest.skip("PostgreSQL is not installed (Debian package: postgresql)")


def test_server_starts_serves_and_is_removed() -> None:
    bindir = postgres.bindir()
    assert bindir is not None and (bindir / "initdb").is_file()
    with postgres.server() as pg:
        url = pg.create_database("probe")
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/probe"
        assert list(pg.socket_dir.glob(".s.PGSQL.*")) != []  # the Unix socket is ours too
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar() == "probe"
            assert conn.execute(text("SHOW fsync")).scalar() == "off"
            assert conn.execute(text("SHOW listen_addresses")).scalar() == "127.0.0.1"
        engine.dispose()
        data_owner = pg.data_dir.stat().st_uid
        pg.drop_database("probe")
        base, port = pg.socket_dir, pg.port
    if os.geteuid() == 0:  # PostgreSQL refuses root: it ran as the postgres OS user
        assert data_owner != 0
    assert not base.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"host=127.0.0.1 port={port} user=postgres connect_timeout=2")


def test_database_names_are_checked() -> None:
    server = postgres.Server("127.0.0.1", 1, Path("."), Path("."))
    with pytest.raises(ValueError, match="plain database name"):
        server.create_database('x"; DROP DATABASE postgres; --')

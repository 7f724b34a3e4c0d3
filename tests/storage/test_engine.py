"""storage.engine: SQLite pragmas and BEGIN IMMEDIATE, URL handling, helpers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import IntegrityError

from bounceloop.storage.engine import create_engine, insert_ids, is_sqlite, utcnow
from bounceloop.storage.tables import errors, jobs, received
from bounceloop.testing import postgres


def _sqlite(tmp_path: Path) -> Engine:
    return create_engine(f"sqlite:///{tmp_path / 'e.db'}")


def test_sqlite_pragmas_are_in_effect(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path)
    with engine.connect() as conn:
        pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                  for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")}
    engine.dispose()
    # synchronous: 2 is FULL, the WAL synced at every commit: a commit survives a power
    # loss (https://www.sqlite.org/pragma.html#pragma_synchronous; tests/test_durability.py
    # watches the syncs themselves)
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 2,
                      "busy_timeout": 5000}


def test_sqlite_foreign_keys_are_enforced(engine: Engine) -> None:
    """On both backends a message must point at an existing mailing."""
    now = utcnow()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO messages (id, mailing_id, sender, recipient, domain, envelope, tags,"
            " fields, status, attempts, created_at, updated_at, expires_at) VALUES ('m1', 999,"
            " 's@x', 'r@y', 'y', 's@x', '[]', '{}', 'queued', 0, :n, :n, :n)"),
            {"n": now.replace(tzinfo=None)})


def test_sqlite_transactions_begin_immediate(tmp_path: Path) -> None:
    """A transaction holds the write lock from BEGIN, even before it writes: a second
    writer waits (busy_timeout) rather than failing with a lock upgrade deadlock."""
    engine = _sqlite(tmp_path)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    other = sqlite3.connect(tmp_path / "e.db", timeout=0, isolation_level=None)
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM t").scalar()  # a read only, so far
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # free again after commit
    other.execute("ROLLBACK")
    other.close()
    engine.dispose()


def test_sqlite_read_then_write_from_two_threads_does_not_deadlock(tmp_path: Path) -> None:
    """The failure BEGIN IMMEDIATE prevents: two read-then-write transactions at once."""
    engine = _sqlite(tmp_path)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(50):
                with engine.begin() as conn:
                    n = conn.exec_driver_sql("SELECT n FROM counter").scalar_one()
                    time.sleep(0.001)  # widen the window between the read and the write
                    conn.exec_driver_sql(f"UPDATE counter SET n = {n + 1}")
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        total = conn.exec_driver_sql("SELECT n FROM counter").scalar_one()
    engine.dispose()
    assert errors == []
    assert total == 200  # and no lost update


def test_sqlite_deferred_begin_on_request(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    other = sqlite3.connect(tmp_path / "e.db", timeout=0, isolation_level=None)
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn, conn.begin():
        conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
        other.execute("BEGIN IMMEDIATE")  # a reader does not hold the write lock
        other.execute("ROLLBACK")
    other.close()
    engine.dispose()


def test_relative_sqlite_path_is_the_working_directory(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    engine = create_engine("sqlite:///bounceloop.db")
    monkeypatch.chdir("/")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    assert engine.url.database == str(tmp_path / "bounceloop.db")
    assert (tmp_path / "bounceloop.db").is_file()


def test_memory_sqlite_works_without_wal() -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_bare_postgresql_url_means_psycopg3() -> None:
    engine = create_engine("postgresql://u@127.0.0.1:1/db")
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.dialect.driver == "psycopg"
    assert not is_sqlite(engine)
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(("configured", "in_force"), [
    ("off", "on"), ("local", "local"), ("remote_write", "remote_write"),
    ("remote_apply", "remote_apply"), ("on", "on")])
def test_postgresql_commits_wait_for_the_wal_whatever_the_server_says(
        postgres_server: postgres.Server, configured: str, in_force: str) -> None:
    """A database (or server, or role) set to synchronous_commit = off gets on; the values
    that flush the local WAL are kept as they are, the stronger ones included. Pinned for
    the session: a reload of the server's configuration cannot lower it later."""
    name = f"sync_{configured}"
    url = postgres_server.create_database(name)
    try:
        postgres_server.execute(f"ALTER DATABASE {name} SET synchronous_commit = {configured}")
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                value = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
                source = conn.exec_driver_sql(
                    "SELECT source FROM pg_settings WHERE name = 'synchronous_commit'"
                ).scalar()
        finally:
            engine.dispose()
    finally:
        postgres_server.drop_database(name)
    # Set for the session, so above the server's files, the database's and the role's
    # settings (and a reload of them).
    assert (value, source) == (in_force, "session")


def test_is_sqlite_and_utcnow(engine: Engine) -> None:
    assert is_sqlite(engine) == (engine.dialect.name == "sqlite")
    with engine.connect() as conn:
        assert is_sqlite(conn) == is_sqlite(engine)
    now = utcnow()
    assert now.tzinfo is UTC


def test_the_storage_modules_leave_postgresqls_dialect_unloaded_on_sqlite() -> None:
    """A SQLite process never loads PostgreSQL's dialect (about 30 ms of each command's
    start-up): conflict_insert imports a dialect's insert when a statement needs it."""
    code = (
        "import sys\n"
        "from bounceloop.storage import events, messages, stats, suppressions, users\n"
        "from bounceloop.storage.engine import conflict_insert, create_engine\n"
        "from bounceloop.storage.tables import stats as table\n"
        "db = create_engine('sqlite://')\n"
        "with db.connect() as conn:\n"
        "    conflict_insert(conn, table)\n"
        "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy.dialects.')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    loaded = done.stdout.strip()
    assert "sqlalchemy.dialects.sqlite" in loaded
    assert "postgresql" not in loaded, loaded


async def test_begin_soon_waits_for_the_sqlite_lock_without_stopping_the_loop(
        tmp_path: Path) -> None:
    """Another connection holds the write lock for 0.3 s: begin_soon gets it afterwards,
    and the event loop runs other tasks meanwhile (SQLite's busy handler would block it)."""
    import asyncio

    from bounceloop.storage.engine import begin_soon

    db = _sqlite(tmp_path)
    with db.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    held = threading.Event()

    def holder() -> None:
        with db.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            held.set()
            time.sleep(0.3)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    start = time.monotonic()
    async with begin_soon(db) as conn:
        waited = time.monotonic() - start
        conn.execute(text("INSERT INTO t VALUES (2)"))
    task.cancel()
    thread.join(5)
    assert waited >= 0.2  # it did wait for the lock
    assert ticks >= 10  # and the loop went on meanwhile
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 2
        # The busy timeout is back for everyone else.
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5000
    db.dispose()


async def test_begin_soon_rolls_back_on_an_error(engine: Engine) -> None:
    from bounceloop.storage.engine import begin_soon
    from bounceloop.storage.tables import mailings

    with pytest.raises(RuntimeError):
        async with begin_soon(engine) as conn:
            conn.execute(mailings.insert().values(sender="a@example.org", mime=b"x",
                                                  created_at=utcnow()))
            raise RuntimeError("no")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM mailings")).scalar_one() == 0


_T0 = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)


def _rows(table: str, n: int) -> list[dict[str, object]]:
    if table == "errors":
        return [{"timestamp": _T0, "recipient": f"r{i}@example.org", "code": "550",
                 "extended": "5.1.1", "description": f"row {i}", "errortype": "mailerror",
                 "step": 5, "state": "bounce", "severity": "hard", "reason": "userunknown"}
                for i in range(n)]
    if table == "received":
        return [{"received_at": _T0, "source": "smtp", "peer": f"r{i}", "helo": "h",
                 "mail_from": "", "rcpts": "[]", "size": 1, "digest": f"{i:064x}",
                 "status": "pending", "times_processed": 0, "tied_by": "", "detector": "",
                 "kind": "", "raw": b"x"} for i in range(n)]
    return [{"kind": "bounce", "ref": f"r{i}", "payload": "{}", "run_at": _T0,
             "status": "pending", "attempts": 0, "created_at": _T0, "updated_at": _T0}
            for i in range(n)]


_KEY = {"errors": errors.c.recipient, "received": received.c.peer, "jobs": jobs.c.ref}


@pytest.mark.parametrize("table", ["errors", "received", "jobs"])
def test_insert_ids_are_those_of_the_rows_in_order(engine: Engine, table: str) -> None:
    key = _KEY[table]
    with engine.begin() as conn:
        insert_ids(conn, key.table, _rows(table, 7))  # ids not from 1, with a gap
        conn.execute(key.table.delete().where(key.table.c.id == 6))
    rows = _rows(table, 150)[7:]
    with engine.begin() as conn:
        ids = insert_ids(conn, key.table, rows)
        assert insert_ids(conn, key.table, []) == []
    with engine.connect() as conn:
        named = {r.id: r[1] for r in conn.execute(select(key.table.c.id, key))}
    assert len(ids) == len(set(ids)) == 143
    assert [named[i] for i in ids] == [r[key.name] for r in rows]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_insert_ids_on_sqlite_are_multi_row_statements_not_one_per_row(engine: Engine) -> None:
    # With sort_by_parameter_order, SQLAlchemy runs one statement per row on SQLite.
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with engine.begin() as conn:
            insert_ids(conn, errors, _rows("errors", 150))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert 1 <= len([s for s in seen if s.lstrip().upper().startswith("INSERT")]) < 5

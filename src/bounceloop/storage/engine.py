"""One way to open the database, so SQLite and PostgreSQL behave the same under load.

The service and its workers use a *synchronous* SQLAlchemy engine, called straight from the
asyncio loop: every statement is a short indexed read or write, so a thread hop would cost
more than it saves.

SQLite (the embedded default) gets, on each new DBAPI connection:

- ``journal_mode=WAL``: readers never block the writer and the writer never blocks readers
  (https://www.sqlite.org/wal.html); it is a property of the file, set once and kept.
- ``synchronous=FULL``: in WAL mode the WAL is synced at every commit, so a committed
  transaction survives a power loss or a kernel crash, not only a kill of the process
  (https://www.sqlite.org/pragma.html#pragma_synchronous: with NORMAL "a transaction
  committed in WAL mode ... might roll back following a power loss or system crash"). We
  act on our commits: a 250 to a returned message, a 202 to the API, a webhook call about
  an event. The commits that happen often are already grouped (inbound.inbox, the
  delivery engine's outcomes, the webhook results), so this is one sync per group. SQLite
  syncs the directory too the first time it syncs a WAL file it created (os_unix.c,
  UNIXFILE_DIRSYNC), so the file itself survives.
- ``busy_timeout=5000``: wait up to 5 s for the write lock instead of failing at once.
- ``foreign_keys=ON``: SQLite enforces FOREIGN KEY only when asked, per connection.

and every transaction starts with ``BEGIN IMMEDIATE``. Python's ``sqlite3`` (before 3.12's
``autocommit``) issues its own deferred ``BEGIN`` only before DML, so a transaction that reads
and then writes starts as a reader and must *upgrade* to the write lock: when two do that at
once, SQLite cannot wait (each holds what the other needs) and one fails with ``database is
locked`` at once, busy_timeout or not (https://www.sqlite.org/lang_transaction.html, "If some
other database connection has already modified the database..."). Taking the write lock up
front turns that deadlock into an orderly queue. This is SQLAlchemy's documented pysqlite
recipe: ``isolation_level = None`` on the DBAPI connection so ``sqlite3`` emits no BEGIN of its
own, and our BEGIN from the ``begin`` event (SQLAlchemy docs, SQLite dialect, "Enabling
Non-Legacy SQLite Transactional Modes with the sqlite3 or aiosqlite driver").

A transaction that only reads (the web UI's lists) may ask for a plain deferred BEGIN with
the execution option ``sqlite_begin="DEFERRED"``, so it does not queue behind writers::

    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn: ...

A writer that must not block (the webhook worker, on its event loop) asks with
``sqlite_wait=False`` for a ``BEGIN`` that fails at once with ``database is locked`` when
another connection holds the write lock, and waits its own way; :func:`begin_soon` waits
with ``asyncio.sleep``::

    async with begin_soon(engine) as conn: ...

PostgreSQL is reached through psycopg 3 (``postgresql+psycopg://``; a bare ``postgresql://``
means the same here, since psycopg2 is not a dependency). Each new connection pins
``synchronous_commit`` for its session: ``on`` when the server, database or role has it
``off`` (a commit then returns before its WAL is flushed, and "the most recent
transactions may be lost if the database should crash", PostgreSQL docs, "Asynchronous
Commit", https://www.postgresql.org/docs/current/wal-async-commit.html), and the value in
force otherwise (``local``, ``remote_write``, ``on`` and ``remote_apply`` all flush the
local WAL before the commit returns, table "synchronous_commit Modes" of
https://www.postgresql.org/docs/current/runtime-config-wal.html; the ones that wait for
standbys are stronger, and kept). Pinned at the session level, a later reload of the
server's configuration cannot lower it either. One statement per connection, not per
transaction: through a pooler in transaction mode (PgBouncer), where a session setting does
not follow the client, set ``synchronous_commit`` on the server instead (docs/deployment.md,
PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy
from sqlalchemy import Connection, Engine, event, exc
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

#: RETURNING arrived in SQLite 3.35.0.
SQLITE_MIN = (3, 35, 0)
#: Milliseconds a SQLite connection waits for the write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000

_BEGIN_MODES = ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")
T = TypeVar("T")


#: Most values in one ``IN (...)`` list: well under SQLite's bound-parameter limit.
IN_LIMIT = 500


def chunks(items: Sequence[T], size: int = IN_LIMIT) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size`` (an ``IN`` list each, or a batch)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def insert_ids(conn: Connection, table: sqlalchemy.Table,
               rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``table`` (whose key is an autoincrement integer ``id``) in the
    caller's transaction; their ids, in the order of ``rows``."""
    if not rows:
        return []
    if conn.dialect.name == "sqlite":
        # SQLAlchemy orders what RETURNING gives back (sort_by_parameter_order) by a
        # sentinel column, which it has none of on SQLite: there it runs one statement
        # per row (cProfile: 3,287 executes for 3,000 returned messages). Unordered, it
        # sends the rows as multi-row INSERTs ("insertmanyvalues"). RETURNING's order is
        # not promised (sqlite.org/lang_returning.html), but each row of an INSERT gets
        # one more than the largest rowid in the table (sqlite.org/autoinc.html), in the
        # order of its VALUES: sorted, the ids are the rows'.
        return sorted(int(i) for i in conn.execute(
            sqlalchemy.insert(table).returning(table.c.id), list(rows)).scalars())
    # PostgreSQL: SQLAlchemy orders them (a sentinel column, INSERT ... SELECT ORDER BY).
    return [int(i) for i in conn.execute(
        sqlalchemy.insert(table).returning(table.c.id, sort_by_parameter_order=True),
        list(rows)).scalars()]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (what every UTCDateTime column takes)."""
    return datetime.now(UTC)


def is_sqlite(bind: Engine | Connection) -> bool:
    """Whether ``bind`` talks to SQLite (as opposed to PostgreSQL)."""
    return bind.dialect.name == "sqlite"


def conflict_insert(bind: Connection | Dialect, table: Any) -> Any:
    """An INSERT into ``table`` that takes ON CONFLICT clauses, in the backend's dialect
    (of a connection, or the dialect itself).

    The dialect's module is imported here, not with this one: a process on SQLite never
    loads PostgreSQL's (about 30 ms of every command's start-up)."""
    name = bind.name if isinstance(bind, Dialect) else bind.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        return pg_insert(table)
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert
        return sqlite_insert(table)
    raise NotImplementedError(name)  # the two backends we support are above


def create_engine(url: str | URL) -> Engine:
    """A synchronous engine for ``url`` with our per-backend settings (see the module doc).

    A relative SQLite path (``sqlite:///bounceloop.db``) is resolved against the working
    directory *now*, so a later ``chdir`` does not move the database. Other backends than
    SQLite and PostgreSQL raise ValueError: the SQL here is written for those two.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = sqlalchemy.create_engine(
            parsed,
            # A handful of connections serve the loop and the workers; pre_ping replaces a
            # connection the server closed (restart, idle timeout) instead of failing the
            # next statement with it; recycle keeps none alive for longer than an hour.
            pool_size=5,
            max_overflow=10,
            pool_timeout=30,
            pool_pre_ping=True,
            pool_recycle=3600,
        )
        event.listen(engine, "connect", _durable_commits)
        return engine
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r}: bounceloop runs on "
                     "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/NAME")


#: synchronous_commit for the session: ``on`` in place of ``off``, else what is in force,
#: pinned (see the module doc). set_config(..., false) is SET at the session level.
_PIN_SYNCHRONOUS_COMMIT = (
    "SELECT set_config('synchronous_commit', CASE current_setting('synchronous_commit') "
    "WHEN 'off' THEN 'on' ELSE current_setting('synchronous_commit') END, false)")


def _durable_commits(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(_PIN_SYNCHRONOUS_COMMIT)
    finally:
        cursor.close()
    # The SELECT opened a transaction (psycopg is not in autocommit): a SET in a
    # transaction that rolls back is undone, so commit it.
    dbapi_connection.commit()


@contextlib.asynccontextmanager
async def begin_soon(engine: Engine) -> AsyncIterator[Connection]:
    """``engine.begin()`` for code on an event loop: on SQLite the write lock is waited
    for with ``asyncio.sleep`` (for up to the busy timeout), not in SQLite's busy handler,
    which would stop the loop meanwhile; committed on leaving, rolled back on an error."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn.execution_options(sqlite_wait=False)
            deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
            pause = 0.001
            while True:
                try:
                    conn.begin()
                    break
                except exc.OperationalError as e:
                    busy = str(getattr(e.orig, "sqlite_errorname", "")).startswith(
                        "SQLITE_BUSY")
                    if not busy or time.monotonic() > deadline:
                        raise
                await asyncio.sleep(pause)
                pause = min(2 * pause, 0.004)
        else:
            conn.begin()
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _uri(url: URL) -> bool:
    # "?uri=true" hands the name to SQLite as a URI (file:...?mode=memory&cache=shared).
    return str(url.query.get("uri", "")).lower() in ("true", "1")


def in_memory(url: URL) -> bool:
    """Whether ``url`` names an in-memory SQLite database (which only its own process can
    open)."""
    if url.get_backend_name() != "sqlite":
        return False
    database = url.database or ""
    return database in ("", ":memory:") or (
        _uri(url) and (":memory:" in database or url.query.get("mode") == "memory"))


def _sqlite_engine(url: URL) -> Engine:
    if sqlite3.sqlite_version_info < SQLITE_MIN:
        # The outbox claims with UPDATE ... RETURNING (https://www.sqlite.org/lang_returning.html).
        raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old: bounceloop needs "
                           f"{'.'.join(map(str, SQLITE_MIN))} or newer")
    database = url.database or ""
    memory = in_memory(url)
    kwargs: dict[str, Any] = {}
    if not memory:
        if not _uri(url):
            url = url.set(database=str(Path(database).expanduser().absolute()))
        # A file database: a small QueuePool (SQLAlchemy's default for files, sized here).
        # Connections are cheap, but each holds its own page cache.
        kwargs.update(pool_size=5, max_overflow=10, pool_timeout=30)
    engine = sqlalchemy.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        # No BEGIN from sqlite3 itself: ours comes from the "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first, so switching the file to WAL waits for other connections.
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = str(conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")).upper()
        if mode not in _BEGIN_MODES:
            raise ValueError(f"sqlite_begin is one of {', '.join(_BEGIN_MODES)}, not {mode!r}")
        if conn.get_execution_options().get("sqlite_wait", True) or mode == "DEFERRED":
            conn.exec_driver_sql(f"BEGIN {mode}")
            return
        # Fail at once with "database is locked" rather than wait in busy_timeout's
        # sleeps: the caller (an event loop) waits its own way.
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute("PRAGMA busy_timeout = 0")
        try:
            conn.exec_driver_sql(f"BEGIN {mode}")
        finally:
            driver.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")

    return engine

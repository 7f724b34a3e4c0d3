"""Bring a database to the schema this code expects, from code (no alembic.ini at run time).

The migrations ship inside the package (``bounceloop/storage/migrations``), so an installed
bounceloop can upgrade its own database: the service and ``bounceloop db upgrade`` call
:func:`upgrade`, which runs every pending migration in one transaction on the caller's
engine. It is idempotent and safe to run from several processes at once (SQLite serialises
them with BEGIN IMMEDIATE, PostgreSQL with an advisory lock taken in ``env.py``).

Alembic is imported only when there is work for it: importing it costs about 90 ms (its
PostgreSQL and MSSQL operation modules pull in SQLAlchemy's dialects, asyncpg's among them)
and every command that opens the database would pay it, though almost every database it
opens is at :data:`HEAD` already. :func:`current` reads the version table itself, and
:func:`upgrade` returns when that read says :data:`HEAD`: the version row is written in
the transaction that makes the schema changes, so a database that says :data:`HEAD` has
its whole schema, and a database that says anything else goes to Alembic, which reads the
version again under the lock before it migrates.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy
from sqlalchemy import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().with_name("migrations")

#: The newest revision shipped in ``migrations/versions``. A new migration moves it:
#: tests/storage/test_migrate.py fails while it differs from Alembic's own answer
#: (``ScriptDirectory.get_current_head()``), so the two cannot drift apart in a release.
HEAD = "0011"

#: Alembic's version table (its default name; env.py does not change it).
VERSION_TABLE = "alembic_version"


def config() -> Config:
    """An Alembic Config pointing at the packaged migrations, built without an ini file."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Alembic 1.16+ asks for an explicit separator for path lists; "os" is its default.
    cfg.set_main_option("path_separator", "os")
    return cfg


def head() -> str:
    """The newest revision this code knows."""
    return HEAD


def revisions() -> set[str]:
    """Every revision this code knows, head included."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(config()).walk_revisions()}


def upgrade(engine: Engine) -> None:
    """Run every pending migration, in one transaction; a no-op when already at head."""
    if current(engine) == HEAD:
        return
    if engine.dialect.name == "sqlite" and _create_sqlite(engine):
        return
    _alembic_upgrade(engine)


def _alembic_upgrade(engine: Engine) -> None:
    from alembic import command

    cfg = config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _create_sqlite(engine: Engine) -> bool:
    """Give an empty SQLite database the schema at HEAD from :mod:`sqlite_schema`, the
    schema the migrations leave, statement for statement; False (Alembic's case) for a
    database with anything in it, or when that module was made at another revision.

    The migrations on an empty database take about 80 ms and Alembic's import about 90 ms
    more, on every first start (and every run of bench/send.py, and most tests); these
    statements take a few milliseconds.
    """
    from bounceloop.storage import sqlite_schema

    if sqlite_schema.REVISION != HEAD:
        return False  # a stale module costs the time saved, never a wrong schema
    # BEGIN IMMEDIATE: one process at a time, like the migrations; the ones that wait find
    # the tables made and leave the database to Alembic, which finds it at head.
    with engine.begin() as conn:
        if conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar():
            return False
        for statement in sqlite_schema.STATEMENTS:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (?)", (HEAD,))
    return True


def sqlite_statements(conn: Connection) -> list[str]:
    """A SQLite database's schema as the statements that make it: sqlite_master's own text
    (tables, then indexes, views and triggers; each kind by name), without what SQLite
    makes by itself (sqlite_sequence, the indexes of UNIQUE and PRIMARY KEY constraints)."""
    kinds = {"table": 0, "index": 1, "view": 2, "trigger": 3}
    rows = conn.exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master "
        "WHERE sql IS NOT NULL AND substr(name, 1, 7) != 'sqlite_'").all()
    return [sql for kind, name, sql in sorted(rows, key=lambda r: (kinds[r[0]], r[1]))]


def render_sqlite_schema() -> str:
    """The text of ``sqlite_schema.py``: the migrations run on an empty SQLite database,
    then read back (:func:`sqlite_statements`)."""
    import tempfile

    from bounceloop.storage.engine import create_engine

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/schema.db")
        try:
            _alembic_upgrade(engine)
            with engine.connect() as conn:
                statements = sqlite_statements(conn)
        finally:
            engine.dispose()
    body = []
    for statement in statements:
        # Pieces of at most 72 characters, so the lines stay short; joined, they are the
        # statement as SQLite keeps it, tabs and all.
        pieces = [line[i:i + 72] for line in statement.splitlines(keepends=True)
                  for i in range(0, len(line), 72)]
        body.append("    (\n" + "".join(f"        {p!r}\n" for p in pieces) + "    ),\n")
    return (
        '"""The schema of a SQLite database at revision REVISION, as the migrations leave it:\n'
        "generated by ``python -m bounceloop.storage.migrate``, do not edit (see\n"
        "storage/migrate.py). An empty SQLite database gets these statements instead of the\n"
        'migrations; tests/storage/test_migrate.py fails until a new migration regenerates it."""\n'
        "\n"
        "from __future__ import annotations\n"
        "\n"
        f'REVISION = "{HEAD}"\n'
        "\n"
        "STATEMENTS: tuple[str, ...] = (\n" + "".join(body) + ")\n"
    )


if __name__ == "__main__":
    # python -m bounceloop.storage.migrate > src/bounceloop/storage/sqlite_schema.py
    import sys

    sys.stdout.write(render_sqlite_schema())


def _alembic_current(conn: Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def current(engine: Engine) -> str | None:
    """The database's revision, or None for a database never migrated (empty)."""
    # A read: on SQLite no write lock (/ready asks this on every probe).
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        # What MigrationContext.get_current_revision reads: the table may be missing (never
        # migrated) or empty (downgraded to base).
        if not sqlalchemy.inspect(conn).has_table(VERSION_TABLE):
            return None
        versions = conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalars()
        found = list(versions)
        if len(found) > 1:
            # Several heads (branches we never ship): Alembic's own error says so.
            return _alembic_current(conn)
        return found[0] if found else None


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision this code knows."""
    return current(engine) == HEAD

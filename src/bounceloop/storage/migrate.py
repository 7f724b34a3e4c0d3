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
HEAD = "0009"

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
    from alembic import command

    cfg = config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


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

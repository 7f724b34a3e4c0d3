"""Bring a database to the schema this code expects, from code (no alembic.ini at run time).

The migrations ship inside the package (``bounceloop/storage/migrations``), so an installed
bounceloop can upgrade its own database: the service and ``bounceloop db upgrade`` call
:func:`upgrade`, which runs every pending migration in one transaction on the caller's
engine. It is idempotent and safe to run from several processes at once (SQLite serialises
them with BEGIN IMMEDIATE, PostgreSQL with an advisory lock taken in ``env.py``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().with_name("migrations")


def config() -> Config:
    """An Alembic Config pointing at the packaged migrations, built without an ini file."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Alembic 1.16+ asks for an explicit separator for path lists; "os" is its default.
    cfg.set_main_option("path_separator", "os")
    return cfg


def head() -> str:
    """The newest revision this code knows."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None, "no migrations shipped"
    return revision


def revisions() -> set[str]:
    """Every revision this code knows, head included."""
    return {script.revision for script in ScriptDirectory.from_config(config()).walk_revisions()}


def upgrade(engine: Engine) -> None:
    """Run every pending migration, in one transaction; a no-op when already at head."""
    cfg = config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def current(engine: Engine) -> str | None:
    """The database's revision, or None for a database never migrated (empty)."""
    # A read: on SQLite no write lock (/ready asks this on every probe).
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision this code knows."""
    return current(engine) == head()

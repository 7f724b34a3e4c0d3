"""``bounceloop db``: bring the database (``BOUNCELOOP_DATABASE_URL``) to this code's schema.

    bounceloop db upgrade    run pending migrations (idempotent); prints the revision
    bounceloop db current    print the database's revision, "(head)" when up to date

Exit status: 0 on success, 1 when the database cannot be reached or migrated (one line on
stderr saying why, the password masked: an operator's typo is not a traceback), 2 for bad
usage.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from bounceloop.config import Settings
from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine

T = TypeVar("T")


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def _die(message: str) -> NoReturn:
    click.echo(f"bounceloop: {message}", err=True)
    sys.exit(1)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        # The driver's own words ("connection refused", "unable to open database file"),
        # without SQLAlchemy's statement echo and background link.
        text = str(exc.orig).strip()
    else:
        text = str(exc).strip()
    return " ".join(text.split()) or type(exc).__name__


def _with_engine(action: Callable[[Engine], T]) -> T:
    try:
        url = Settings().database_url
    except ValidationError as exc:
        _die(f"bad settings: {exc}")
    try:
        engine = create_engine(url)
    except ImportError as exc:
        _die(f"the database {_shown(url)} needs a driver that is not installed ({exc}); for "
             "PostgreSQL: pip install 'bounceloop[postgres]'")
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        _die(f"bad database URL {_shown(url)}: {_reason(exc)}")
    except RuntimeError as exc:  # e.g. a SQLite library too old for us
        _die(f"cannot use the database {_shown(url)}: {exc}")
    try:
        return action(engine)
    except SQLAlchemyError as exc:
        _die(f"cannot use the database {_shown(url)}: {_reason(exc)}")
    except Exception as exc:
        # Alembic's CommandError, e.g. a revision newer than this code knows. Alembic is
        # loaded only when a migration is due (storage.migrate), and only then can one of
        # its errors come: not importing it here keeps it out of a run at head.
        alembic_util = sys.modules.get("alembic.util")
        if alembic_util is None or not isinstance(exc, alembic_util.CommandError):
            raise
        _die(f"cannot migrate the database {_shown(url)}: {exc}")
    finally:
        engine.dispose()


@click.group("db")
def db_command() -> None:
    """The database: schema migrations (BOUNCELOOP_DATABASE_URL)."""


@db_command.command("upgrade")
def upgrade_command() -> None:
    """Migrate the database to this version's schema (safe to repeat)."""

    def run(engine: Engine) -> tuple[str | None, str | None]:
        before = migrate.current(engine)
        migrate.upgrade(engine)
        return before, migrate.current(engine)

    before, after = _with_engine(run)
    if before == after:
        click.echo(f"database is up to date at revision {after}")
    else:
        click.echo(f"database upgraded from revision {before or 'none'} to {after}")


@db_command.command("current")
def current_command() -> None:
    """Print the database's schema revision ("none": never migrated)."""
    revision = _with_engine(migrate.current)
    head = migrate.head()
    if revision == head:
        click.echo(f"{revision} (head)")
    elif revision is not None and revision not in migrate.revisions():
        click.echo(f"{revision} (unknown to this bounceloop, whose head is {head}: the "
                   "database was migrated by a newer version)")
    else:
        click.echo(f"{revision or 'none'} (head is {head}: run 'bounceloop db upgrade')")

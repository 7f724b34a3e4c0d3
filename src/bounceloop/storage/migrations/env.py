"""Alembic's environment for bounceloop's schema (``bounceloop.storage.tables.metadata``).

Run two ways, and both end in one transaction that holds every migration:

- by :func:`bounceloop.storage.migrate.upgrade`, which hands over a Connection already in a
  transaction through ``config.attributes["connection"]`` (Alembic cookbook, "Sharing a
  Connection across one or more programmatic migration commands"); Alembic then leaves the
  transaction to its owner;
- by the ``alembic`` command with the developers' ``alembic.ini``: the URL is
  ``sqlalchemy.url`` if set, else ``Settings().database_url``, opened with our own
  :func:`~bounceloop.storage.engine.create_engine` so SQLite gets its pragmas and BEGIN
  IMMEDIATE.

SQLite cannot ALTER most of a table, so its migrations are rendered in batch mode (copy and
move; Alembic docs, "Running 'Batch' Migrations for SQLite and Other Databases").
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import metadata

config = context.config

#: Any constant shared by every bounceloop process: the key of the advisory lock that makes
#: concurrent upgrades of one PostgreSQL database wait for each other.
PG_LOCK_KEY = 0x626F756E63656C70  # "bouncelp"

if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from bounceloop.config import Settings  # the edge: only the alembic command gets here

    return Settings().database_url


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Two services starting at once must not both create the tables; the lock is
        # released at the end of the transaction (PostgreSQL docs, "Advisory Locks").
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """``alembic upgrade --sql``: print the DDL instead of running it."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url())
    try:
        # engine.begin(): with sqlite3's own BEGIN switched off, only an explicit transaction
        # commits anything (see bounceloop.storage.engine).
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

"""storage.migrate and the packaged migrations: schema equals tables.metadata, idempotent."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, Integer, MetaData, Table, inspect

from bounceloop.storage import migrate, sqlite_schema
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import metadata


def _diff(engine: Engine, target: MetaData) -> list[object]:
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLAlchemy does not reflect SQLite's expression indexes (ix_errors_recipient_lower):
        # it warns and skips them; test_expression_index_exists checks that one by name.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified "
                                "expression-based index 'ix_errors_recipient_lower'")
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, target))


def test_expression_index_exists(engine: Engine) -> None:
    """The case-insensitive recipient index, which SQLite's reflection cannot see."""
    sql = ("SELECT name FROM sqlite_master WHERE type = 'index'" if engine.dialect.name ==
           "sqlite" else "SELECT indexname FROM pg_indexes")
    with engine.connect() as conn:
        names = set(conn.exec_driver_sql(sql).scalars())
    assert "ix_errors_recipient_lower" in names


def test_empty_database_has_no_revision(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert migrate.current(engine) is None
        assert not migrate.is_current(engine)
    finally:
        engine.dispose()


def test_upgrade_creates_exactly_the_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        migrate.upgrade(engine)
        # Later revisions come after 0005 (users, sessions): the head is whatever ships.
        assert migrate.current(engine) == migrate.head()
        assert {"0004", "0005"} <= migrate.revisions()
        assert migrate.is_current(engine)
        names = set(inspect(engine).get_table_names())
        assert names == set(metadata.tables) | {"alembic_version"}
        assert _diff(engine, metadata) == []
    finally:
        engine.dispose()


def test_compare_would_see_a_difference(engine: Engine) -> None:
    """The check above can fail: a table the migrations lack is reported."""
    extra = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(extra)
    Table("not_migrated", extra, Column("id", Integer, primary_key=True))
    diff: list[tuple[str, Table]] = _diff(engine, extra)  # type: ignore[assignment]
    assert [(op, table.name) for op, table in diff] == [("add_table", "not_migrated")]


def test_upgrade_is_idempotent(engine: Engine) -> None:
    """engine is migrated already; upgrading again changes nothing."""
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    assert _diff(engine, metadata) == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1


def test_indexes_and_constraints_are_named_alike(engine: Engine) -> None:
    insp = inspect(engine)
    assert {i["name"] for i in insp.get_indexes("jobs")} == {"ix_jobs_due", "ix_jobs_ref",
                                                                  "ix_jobs_kind_due"}
    assert {fk["name"] for fk in insp.get_foreign_keys("errors")} == {
        "fk_errors_message_id_messages", "fk_errors_mailing_id_mailings"}
    assert [u["name"] for u in insp.get_unique_constraints("suppressions")] == [
        "uq_suppressions_type_value_sender"]
    # PostgreSQL lists a unique constraint's own index too (duplicates_constraint).
    assert {i["name"] for i in insp.get_indexes("sessions")
            if "duplicates_constraint" not in i} == {"ix_sessions_user_id",
                                                     "ix_sessions_expires_at"}
    assert [u["name"] for u in insp.get_unique_constraints("users")] == ["uq_users_name"]
    assert [fk["name"] for fk in insp.get_foreign_keys("sessions")] == [
        "fk_sessions_user_id_users"]


def test_migrations_ship_inside_the_package() -> None:
    """No alembic.ini at run time: the Config points into the installed package."""
    assert migrate.MIGRATIONS.is_dir()
    assert (migrate.MIGRATIONS / "env.py").is_file()
    assert (migrate.MIGRATIONS / "script.py.mako").is_file()
    assert Path(migrate.config().get_main_option("script_location") or "") == migrate.MIGRATIONS


def test_downgrade_to_base_and_up_again(engine: Engine) -> None:
    cfg = migrate.config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    assert migrate.current(engine) is None
    migrate.upgrade(engine)
    assert _diff(engine, metadata) == []


def _upgrade(url: str) -> None:
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def _migrate_to(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        cfg = migrate.config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        assert migrate.current(engine) == revision
    finally:
        engine.dispose()


@pytest.mark.parametrize("start", [None, "0008"])
def test_concurrent_upgrades_wait_for_each_other(database_url: str, start: str | None) -> None:
    """Several processes starting on one empty (or older) database: one migrates, the others
    find it done (SQLite: BEGIN IMMEDIATE; PostgreSQL: the advisory lock in env.py)."""
    if start is not None:
        _migrate_to(database_url, start)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        pool.map(_upgrade, [database_url] * 3)
    engine = create_engine(database_url)
    try:
        assert migrate.is_current(engine)
        assert _diff(engine, metadata) == []
    finally:
        engine.dispose()


def test_revisions_lists_every_shipped_migration() -> None:
    shipped = {p.name.split("_", 1)[0] for p in (migrate.MIGRATIONS / "versions").glob("*.py")
               if not p.name.startswith("__")}
    assert migrate.revisions() == shipped
    assert migrate.head() in shipped


def test_head_is_alembics_head() -> None:
    """HEAD, which spares a database at head the import of Alembic, is Alembic's answer."""
    assert ScriptDirectory.from_config(migrate.config()).get_current_head() == migrate.HEAD
    assert migrate.head() == migrate.HEAD


def _alembic_current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_current_reads_what_alembic_reads(database_url: str) -> None:
    """migrate.current reads the version table itself: the same answer as Alembic's in
    every state (no table, an older revision, head, downgraded to base: an empty table)."""
    engine = create_engine(database_url)
    try:
        seen = [(migrate.current(engine), _alembic_current(engine))]
        _migrate_to(database_url, "0004")
        seen.append((migrate.current(engine), _alembic_current(engine)))
        migrate.upgrade(engine)
        seen.append((migrate.current(engine), _alembic_current(engine)))
        cfg = migrate.config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        seen.append((migrate.current(engine), _alembic_current(engine)))
    finally:
        engine.dispose()
    assert seen == [(None, None), ("0004", "0004"), (migrate.HEAD, migrate.HEAD),
                    (None, None)]


def test_upgrade_migrates_an_older_database(database_url: str) -> None:
    """The shortcut at head never skips a migration that is due."""
    _migrate_to(database_url, "0008")
    engine = create_engine(database_url)
    try:
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.HEAD
        assert _diff(engine, metadata) == []
    finally:
        engine.dispose()


_UPGRADE_AND_LIST = """
import sys
from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine
engine = create_engine(sys.argv[1])
migrate.upgrade(engine)
assert migrate.current(engine) == migrate.HEAD
print(" ".join(sorted(sys.modules)))
"""


@pytest.mark.parametrize("start", ["head", "empty", "0008"])
def test_alembic_is_imported_only_for_work_it_does(database_url: str, start: str) -> None:
    """A process opening a database at head does not import Alembic (about 90 ms), nor one
    creating the schema in an empty SQLite database (sqlite_schema); one migrating an older
    database, or an empty PostgreSQL database, does (the check can fail)."""
    if start == "head":
        _upgrade(database_url)
    elif start != "empty":
        _migrate_to(database_url, start)
    done = subprocess.run([sys.executable, "-c", _UPGRADE_AND_LIST, database_url],
                          capture_output=True, text=True, check=True)
    alembic = {m for m in done.stdout.split() if m.split(".")[0] == "alembic"}
    without = start == "head" or (start == "empty" and database_url.startswith("sqlite"))
    assert bool(alembic) is not without


def _sqlite_state(engine: Engine) -> tuple[list[Any], list[Any], dict[str, list[Any]]]:
    """All SQLite knows of a database's schema (sqlite_master, as it parses it on open),
    the header fields a migration could set, and every row."""
    with engine.connect() as conn:
        master = sorted(conn.exec_driver_sql(
            "SELECT type, name, tbl_name, sql FROM sqlite_master").all())
        pragmas = [conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in (
            "user_version", "application_id", "journal_mode", "auto_vacuum", "encoding")]
        rows = {name: sorted(conn.exec_driver_sql(f'SELECT * FROM "{name}"').all())
                for kind, name, _, _ in master if kind == "table"}
    return master, pragmas, rows


def test_sqlite_schema_is_what_the_migrations_make(tmp_path: Path) -> None:
    """An empty SQLite database given sqlite_schema's statements is the database the
    migrations make, to the text of every CREATE and the content of every table."""
    _migrate_to(f"sqlite:///{tmp_path / 'migrated.db'}", migrate.HEAD)
    migrated = create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    created = create_engine(f"sqlite:///{tmp_path / 'created.db'}")
    try:
        migrate.upgrade(created)
        state = _sqlite_state(created)
        assert state == _sqlite_state(migrated)
        assert state[2] == {**{t: [] for t in state[2]}, "alembic_version": [(migrate.HEAD,)]}
        with created.connect() as conn:
            assert migrate.sqlite_statements(conn) == list(sqlite_schema.STATEMENTS)
    finally:
        migrated.dispose()
        created.dispose()


def test_sqlite_schema_module_is_current() -> None:
    # Regenerate: python -m bounceloop.storage.migrate > src/bounceloop/storage/sqlite_schema.py
    assert sqlite_schema.REVISION == migrate.HEAD
    assert Path(sqlite_schema.__file__).read_text() == migrate.render_sqlite_schema()

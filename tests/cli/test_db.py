"""``bounceloop db upgrade`` / ``bounceloop db current`` on both backends, and their errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text

from bounceloop.cli import cli
from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import metadata


@pytest.fixture(autouse=True)
def _no_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings read ./bounceloop.toml when present: run where there is none.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BOUNCELOOP_CONFIG", raising=False)


def _db(*args: str, url: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["db", *args], env={"BOUNCELOOP_DATABASE_URL": url})
    return result.exit_code, result.stdout, result.stderr


def test_upgrade_then_current(database_url: str) -> None:
    head = migrate.head()
    assert _db("current", url=database_url) == (
        0, f"none (head is {head}: run 'bounceloop db upgrade')\n", "")
    assert _db("upgrade", url=database_url) == (
        0, f"database upgraded from revision none to {head}\n", "")
    assert _db("upgrade", url=database_url) == (
        0, f"database is up to date at revision {head}\n", "")
    assert _db("current", url=database_url) == (0, f"{head} (head)\n", "")
    engine = create_engine(database_url)
    try:
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_default_url_is_bounceloop_db_in_the_working_directory(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    monkeypatch.delenv("BOUNCELOOP_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "bounceloop.db").is_file()


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql+psycopg://bl:secret@127.0.0.1:1/x", "Connection refused"),
    ("sqlite:////nonexistent/dir/bounceloop.db", "unable to open database file"),
    ("mysql://db.example/x", "unsupported database 'mysql'"),
    ("not a url", "bad database URL"),
])
@pytest.mark.parametrize("command", ["upgrade", "current"])
def test_unreachable_database_is_one_clear_line(command: str, url: str, expected: str) -> None:
    code, out, err = _db(command, url=url)
    assert code == 1 and out == ""
    assert err.startswith("bounceloop: ") and err.count("\n") == 1, err
    assert expected in err
    assert "secret" not in err  # the password is masked
    assert "Traceback" not in err


def test_installed_command_exits_1_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("bounceloop")
    env = {**os.environ, "BOUNCELOOP_DATABASE_URL": "postgresql+psycopg://bl@127.0.0.1:1/x"}
    env.pop("BOUNCELOOP_CONFIG", None)
    done = subprocess.run([str(exe), "db", "upgrade"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.startswith("bounceloop: cannot use the database postgresql+psycopg://")


def test_a_revision_from_a_newer_version_is_reported(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert _db("upgrade", url=url)[0] == 0
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    code, out, _ = _db("current", url=url)
    assert code == 0 and out.startswith("9999 (unknown to this bounceloop, whose head is")
    code, out, err = _db("upgrade", url=url)
    assert code == 1 and out == ""
    assert err == (f"bounceloop: cannot migrate the database {url}: "
                   "Can't locate revision identified by '9999'\n")


def test_bad_settings_are_reported_not_raised() -> None:
    result = CliRunner().invoke(cli, ["db", "current"], env={"BOUNCELOOP_MX_PORT": "x"})
    assert result.exit_code == 1
    assert result.stderr.startswith("bounceloop: bad settings:")
    assert "mx_port" in result.stderr


def test_upgrade_at_head_loads_no_alembic(tmp_path: Path) -> None:
    # Alembic (about 90 ms of imports) only when a migration is due; its errors are still
    # reported (the test above), since they can only come once it is loaded.
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert _db("upgrade", url=url)[0] == 0
    exe = Path(sys.executable).with_name("bounceloop")
    env = {**os.environ, "BOUNCELOOP_DATABASE_URL": url, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run([str(exe), "db", "upgrade"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    modules = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    assert "bounceloop.storage.migrate" in modules and "up to date" in done.stdout
    assert not {m for m in modules if m.split(".")[0] == "alembic"}

"""``/ready`` of a real ``bounceloop serve --role smtp`` answers 503 when the database can be
read but not written - the state in which the smtp role answers every message 451 - and 200
when it can be written, on both backends.

A genuinely read-only database, not a connection opened read-only:

- SQLite: the service runs as ``nobody`` (setpriv; the tests run as root, whom file modes do
  not stop) and the database file belongs to root, mode 0644, in a directory of nobody's
  (so SQLite can make its -wal and -shm files there). SQLite opens the file read-only, as
  it does for any file the process may not write: reads work, every write fails with
  "attempt to write a readonly database". The control: the same file given to nobody.
- PostgreSQL: ``ALTER DATABASE ... SET default_transaction_read_only = on``, how a database
  is made read-only (every INSERT fails with "cannot execute INSERT in a read-only
  transaction", as on a standby). The control: the same database without it.
"""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine
from bounceloop.testing import free_port, postgres
from tests.web.served import serve_web

NOBODY = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
MESSAGE = (b"From: postmaster@example.net\r\nTo: abuse@bounce.test\r\n"
           b"Subject: a report\r\n\r\nHello.\r\n")


def _send(port: int) -> int:
    """The reply code to a message for the complaint address (which the smtp role stores)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        try:
            client.sendmail("postmaster@example.net", ["abuse@bounce.test"], MESSAGE)
        except smtplib.SMTPDataError as exc:
            return exc.smtp_code
        return 250


def _ready_and_reply(database_url: str, folder: Path, prefix: tuple[str, ...] = ()
                     ) -> tuple[int, dict[str, str], int]:
    """(/ready's status, its body, the smtp role's reply to a message)."""
    smtp = free_port()
    for web in serve_web(database_url, folder, role="smtp", prefix=prefix,
                         BOUNCELOOP_SMTP_LISTEN=f"127.0.0.1:{smtp}",
                         BOUNCELOOP_BOUNCE_DOMAIN="bounce.test",
                         BOUNCELOOP_VERP_SECRET="ready-test"):
        status, body = web.get("/ready")
        return status, json.loads(body), _send(smtp)
    raise AssertionError("not served")


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder nobody can reach (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="bounceloop-ready-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def test_a_sqlite_file_the_service_cannot_write_is_not_ready(shared_folder: Path) -> None:
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv (util-linux) to run the service as nobody")
    data = shared_folder / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'ro.db'}"
    db = create_engine(url)
    migrate.upgrade(db)
    db.dispose()  # the last connection: SQLite removes its -wal and -shm files
    os.chown(data, 65534, 65534)
    (data / "ro.db").chmod(0o644)
    status, body, reply = _ready_and_reply(url, shared_folder, NOBODY)
    assert (status, reply) == (503, 451), body
    assert body["status"] == "not ready"
    assert "readonly database" in body["database"], body
    os.chown(data / "ro.db", 65534, 65534)
    status, body, reply = _ready_and_reply(url, shared_folder, NOBODY)
    assert (status, body["status"], reply) == (200, "ready", 250)


@pytest.mark.postgres
def test_a_read_only_postgresql_database_is_not_ready(postgres_server: postgres.Server,
                                                      postgres_url: str, tmp_path: Path
                                                      ) -> None:
    name = "ready_read_only"
    database_url = postgres_server.create_database(name)
    admin = create_engine(postgres_url)
    try:
        db = create_engine(database_url)
        migrate.upgrade(db)
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        status, body, reply = _ready_and_reply(database_url, tmp_path)
        assert (status, reply) == (503, 451), body
        assert "read-only transaction" in body["database"], body
        with admin.begin() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
        status, body, reply = _ready_and_reply(database_url, tmp_path)
        assert (status, body["status"], reply) == (200, "ready", 250)
    finally:
        admin.dispose()
        postgres_server.drop_database(name)

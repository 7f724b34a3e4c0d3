"""A throwaway PostgreSQL server for tests: the real server, started from Debian's binaries.

DEVELOPERS.md asks for real parts tested for real: PostgreSQL is started with ``initdb`` and
``pg_ctl`` into a temporary directory, listens on 127.0.0.1 and a Unix socket in that
directory only, and is stopped and deleted on exit. Nothing touches a system cluster.

    from bounceloop.testing import postgres

    if postgres.available():
        with postgres.server() as pg:
            url = pg.create_database("t1")   # postgresql+psycopg://postgres@127.0.0.1:PORT/t1

The binaries are looked up on PATH, then under ``/usr/lib/postgresql/<version>/bin`` (where
Debian's ``postgresql`` package puts them, off PATH), newest version first. PostgreSQL refuses
to run as root, so when we are root the data directory is given to the ``postgres`` OS user
(created by the Debian package) and the server commands run as that user through ``runuser``
(or ``su``). Authentication is ``trust`` (``initdb -A trust``): the server is reachable only
from this machine and lives for one test session. ``fsync=off`` and friends trade durability,
which a throwaway database does not need, for speed (PostgreSQL docs, "Non-Durable
Settings").
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bounceloop.testing.ports import free_port

#: The superuser initdb creates; trust authentication lets it in without a password.
SUPERUSER = "postgres"
#: The OS user that runs the server when we are root.
OS_USER = "postgres"

_SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
    "-c full_page_writes=off -c max_connections=200"
)
#: For crash tests (bench/soak.py): a commit is in the WAL file before it is acknowledged,
#: so an immediate stop (the server's processes killed) loses no acknowledged commit. The
#: machine does not crash in a test, so the OS cache may still hold the WAL (fsync=off).
_DURABLE_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=on "
    "-c max_connections=200"
)


class PostgresError(RuntimeError):
    """The server could not be set up, started or used; the message says why."""


def bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is absent."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
    for path in candidates:
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


def _version(path: Path) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in path.parent.name.split("."))
    except ValueError:
        return (0,)


def available() -> bool:
    """Whether a server can be started here: the binaries exist, and when we are root, so
    does the ``postgres`` OS user to run them as."""
    if bindir() is None:
        return False
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return False
    return True


@dataclass(frozen=True)
class Server:
    """A running throwaway server."""

    host: str
    port: int
    socket_dir: Path
    data_dir: Path

    def restart(self, mode: str = "immediate", timeout: float = 60.0) -> None:
        """Stop the server (``immediate``: its processes exit at once, a crash to recovery)
        and start it again on the same port; every client connection breaks."""
        bin_path = bindir()
        assert bin_path is not None
        _run([str(bin_path / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w",
              "restart", "-l", str(self.socket_dir / "server.log")], "pg_ctl restart",
             timeout)
        _wait_ready(self.host, self.port, time.monotonic() + timeout)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of one of its databases."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg

        conninfo = f"host={self.host} port={self.port} user={SUPERUSER} dbname={database}"
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.encode())

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        _check_name(name)
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still in it (PostgreSQL 13+)."""
        _check_name(name)
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _check_name(name: str) -> None:
    if not name or not all(c.isalnum() or c == "_" for c in name) or len(name) > 63:
        raise ValueError(f"not a plain database name: {name!r}")


def _as_server_user(argv: Sequence[str]) -> list[str]:
    """``argv`` run as the postgres OS user when we are root, as ourselves otherwise."""
    if os.geteuid() != 0:
        return list(argv)
    if shutil.which("runuser"):
        return ["runuser", "-u", OS_USER, "--", *argv]
    return ["su", OS_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]


def _run(argv: Sequence[str], what: str, timeout: float) -> None:
    try:
        done = subprocess.run(_as_server_user(argv), capture_output=True, text=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PostgresError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        raise PostgresError(f"{what} failed (exit {done.returncode}):\n{done.stdout}"
                            f"{done.stderr}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _wait_ready(host: str, port: int, deadline: float) -> None:
    import psycopg

    conninfo = f"host={host} port={port} user={SUPERUSER} dbname=postgres connect_timeout=2"
    while True:
        try:
            with psycopg.connect(conninfo) as conn:
                conn.execute(b"SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def server(timeout: float = 60.0, durable: bool = False) -> Iterator[Server]:
    """Start a server in a new temporary directory, yield it, then stop it and delete it."""
    bin_path = bindir()
    if bin_path is None:
        raise PostgresError("PostgreSQL is not installed (no initdb/pg_ctl on PATH or under "
                            "/usr/lib/postgresql/*/bin; Debian package: postgresql)")
    base = Path(tempfile.mkdtemp(prefix="bounceloop-pg-"))
    data = base / "data"
    log = base / "server.log"
    started = False
    try:
        if os.geteuid() == 0:
            user = pwd.getpwnam(OS_USER)
            os.chown(base, user.pw_uid, user.pw_gid)
        _run([str(bin_path / "initdb"), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
              "--locale=C", "-D", str(data)], "initdb", timeout)
        for tries_left in range(2, -1, -1):
            port = free_port()  # pg_ctl needs it up front; a race is retried
            options = (f"-k {base} -p {port} "
                       f"{_DURABLE_OPTIONS if durable else _SERVER_OPTIONS}")
            try:
                _run([str(bin_path / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                      "-t", str(int(timeout)), "-o", options, "start"], "pg_ctl start", timeout)
            except PostgresError as exc:
                # Another process may have taken the port between free_port() and the bind.
                if tries_left == 0:
                    raise PostgresError(f"{exc}\nserver log:\n{_tail(log)}") from exc
                continue
            started = True
            break
        _wait_ready("127.0.0.1", port, time.monotonic() + timeout)
        yield Server(host="127.0.0.1", port=port, socket_dir=base, data_dir=data)
    finally:
        if started:
            # "immediate": the data is thrown away next, so skip the shutdown checkpoint.
            with contextlib.suppress(PostgresError):
                _run([str(bin_path / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                      "stop"], "pg_ctl stop", timeout)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def database(name: str = "bounceloop") -> Iterator[str]:
    """A server with one empty database: yields the database's URL."""
    with server() as pg:
        yield pg.create_database(name)

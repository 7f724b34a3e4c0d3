"""``bounceloop serve`` as a real process on 127.0.0.1, and logins to it over loopback from
any address of 127.0.0.0/8 (each a client of its own to the server)."""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine
from bounceloop.testing import free_port

BIN = Path(sys.executable).parent / "bounceloop"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_COOKIE = re.compile(r"bounceloop_login=([^;]+)")


@dataclass
class Web:
    """A ``serve --role web`` process and where it listens."""

    proc: subprocess.Popen[bytes]
    host: str
    port: int
    log: Path

    def status(self, path: str) -> int:
        return self.get(path)[0]

    def get(self, path: str) -> tuple[int, bytes]:
        status, _, body = self.fetch(path)
        return status, body

    def fetch(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """GET ``path``: the status, the headers (names in lower case) and the body."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request("GET", path)
            answer = conn.getresponse()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
        finally:
            conn.close()

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak) of the process, in KiB."""
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        return {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.M)}


def serve_web(database_url: str, folder: Path, *, role: str = "web",
              prefix: tuple[str, ...] = (), **extra: str) -> Iterator[Web]:
    """``bounceloop serve --role ROLE`` (run through ``prefix``, say setpriv) on a free
    port, once it answers /health, until the generator is closed."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCELOOP_")}
    env.update({"BOUNCELOOP_DATABASE_URL": database_url, "BOUNCELOOP_SMTP_LISTEN": "",
                "BOUNCELOOP_HTTP_LISTEN": f"127.0.0.1:{port}",
                "BOUNCELOOP_SPOOL_DIR": str(folder / "spool"),
                "BOUNCELOOP_PARSE_PROCESSES": "0"})
    env.update(extra)
    log = folder / f"{role}-{port}.log"
    with log.open("ab") as stderr:
        proc = subprocess.Popen([*prefix, str(BIN), "serve", "--role", role], env=env,
                                stdout=subprocess.DEVNULL, stderr=stderr)
    web = Web(proc, "127.0.0.1", port, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"serve exited: {log.read_text()}"
            try:
                if web.status("/health") == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"serve did not start: {log.read_text()}"
            time.sleep(0.05)
        yield web
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve_fresh(folder: Path, **extra: str) -> Iterator[Web]:
    """:func:`serve_web` on a new SQLite database in ``folder``, migrated."""
    url = f"sqlite:///{folder / 'web.db'}"
    db = create_engine(url)
    migrate.upgrade(db)
    db.dispose()
    yield from serve_web(url, folder, **extra)


def log_in(web: Web, name: str, password: str, ready: threading.Barrier | None = None, *,
           source: str = "127.0.0.1", headers: dict[str, str] | None = None
           ) -> tuple[int, dict[str, str]]:
    """GET the form, wait for the others (``ready``), POST it, all from ``source`` (an
    address of 127.0.0.0/8): the POST's status and headers (names in lower case)."""
    conn = http.client.HTTPConnection(web.host, web.port, timeout=60,
                                      source_address=(source, 0))
    try:
        conn.request("GET", "/login", headers=headers or {})
        form = conn.getresponse()
        html = form.read().decode()
        cookie = _COOKIE.search(form.getheader("set-cookie") or "")
        csrf = _CSRF.search(html)
        assert form.status == 200 and cookie and csrf, (form.status, html[:200])
        body = urllib.parse.urlencode({"name": name, "password": password,
                                       "csrf": csrf.group(1), "next": ""})
        if ready is not None:
            ready.wait(30)
        conn.request("POST", "/login", body, {
            **(headers or {}), "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"bounceloop_login={cookie.group(1)}"})
        answer = conn.getresponse()
        answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}
    finally:
        conn.close()

#!/usr/bin/env python3
"""The Errors view and the statistics on a database of a million errors.

Builds a SQLite database (or uses ``--url``, e.g. a PostgreSQL one) with ``--errors`` error
rows (default 1,000,000), each with its message, over 90 days, 60 mailings and 5,000
recipient domains (a few big ones, a long tail); the daily counters are filled by
``storage.stats.rebuild``. Then serves the real app (``web.create_app`` under uvicorn, in a
process of its own) on 127.0.0.1 and asks for each page several times: the REST API
(``/api/v1/errors``, ``/api/v1/statistics``) and, when the UI is there, its pages
(``/errors``, ``/statistics``). Prints per request the server time (the ``Server-Timing``
header the app sets: from the request's arrival to the response's start) of the first
request (the page cache may be cold) and the median and worst of the others, and the
client's wall time. The target (issue 7) is under 300 ms.

    bench/ui.py [--errors N] [--runs N] [--keep DIR] [--url URL]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import statistics
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import httpx2 as httpx  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from bounceloop.storage import migrate, stats, tokens, users  # noqa: E402
from bounceloop.storage.engine import create_engine  # noqa: E402
from bounceloop.storage.tables import errors, mailings, messages  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)
DAYS = 90
KINDS = [  # code, extended, reason, severity, step, state, errortype, weight
    ("550", "5.1.1", "userunknown", "hard", 4, "rcptto", "error", 30),
    ("552", "5.2.2", "mailboxfull", "soft", 4, "rcptto", "error", 15),
    ("554", "5.7.1", "blocked", "hard", 4, "rcptto", "error", 10),
    ("421", "4.7.0", "blocked", "soft", 3, "greeting", "unexpected", 8),
    ("", "5.1.2", "hostunknown", "hard", 1, "dns", "nohost", 7),
    ("", "4.4.1", "expired", "soft", 2, "connect", "unreachable", 10),
    ("550", "5.1.1", "userunknown", "hard", 5, "bounce", "mailerror", 15),
    ("", "", "vacation", "", 5, "bounce", "mailmessage", 5),
]
USER, PASSWORD = "bench", "bench-password"


def domain(rng: random.Random) -> str:
    # A few big domains take most of the mail, then a long tail (Zipf-like).
    n = int(rng.paretovariate(1.1)) - 1
    return f"domain{min(n, 4999)}.test"


def build(url: str, n: int) -> None:
    db = create_engine(url)
    migrate.upgrade(db)
    rng = random.Random(7)
    weights = [k[-1] for k in KINDS]
    t = time.perf_counter()
    with db.begin() as conn:
        ids = [int(conn.execute(insert(mailings).values(
            name=f"Newsletter {i}", sender="news@sender.test", mime=b"Subject: x\r\n\r\nx",
            tags="[]", created_at=NOW - timedelta(days=DAYS - i * DAYS / 60))
            .returning(mailings.c.id)).scalar_one()) for i in range(60)]
    batch_m: list[dict[str, Any]] = []
    batch_e: list[dict[str, Any]] = []
    for i in range(n):
        when = NOW - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        d = domain(rng)
        rcpt = f"user{i:07d}@{d}"
        mailing = ids[min(59, int((DAYS * 86400 - (NOW - when).total_seconds())
                                  / (DAYS * 86400) * 60))]
        code, ext, reason, sev, step, state, etype, _ = rng.choices(KINDS, weights)[0]
        mid = f"{i:016x}"
        batch_m.append({
            "id": mid, "mailing_id": mailing, "sender": "news@sender.test", "recipient": rcpt,
            "domain": d, "envelope": "news@sender.test", "tags": "[]", "fields": "{}",
            "status": "failed", "attempts": 1, "created_at": when, "updated_at": when,
            "expires_at": when + timedelta(days=1), "finished_at": when})
        batch_e.append({
            "timestamp": when, "message_id": mid, "mailing_id": mailing, "recipient": rcpt,
            "domain": d, "code": code or None, "extended": ext or None,
            "description": f"{code} {ext} <{rcpt}>: {reason}", "errortype": etype,
            "step": step, "state": state, "severity": sev, "reason": reason,
            "hardbounce": sev == "hard", "current": True})
        if len(batch_e) == 20000 or i == n - 1:
            with db.begin() as conn:
                conn.execute(insert(messages), batch_m)
                conn.execute(insert(errors), batch_e)
            batch_m, batch_e = [], []
    print(f"built {n:,} messages and errors in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    with db.begin() as conn:
        stats.rebuild(conn)
        if db.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE errors"))
    print(f"counters and ANALYZE in {time.perf_counter() - t:.0f} s")
    db.dispose()


def serve(url: str, port: int) -> None:
    import uvicorn

    from bounceloop.config import Settings
    from bounceloop.observability.metrics import Metrics
    from bounceloop.web import create_app

    db = create_engine(url)
    app = create_app(db, Metrics(), Settings(database_url=url))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_ms(response: httpx.Response) -> float:
    m = re.search(r"app;dur=([\d.]+)", response.headers.get("server-timing", ""))
    return float(m.group(1)) if m else float("nan")


def measure(client: httpx.Client, path: str, runs: int, headers: dict[str, str]) -> None:
    server: list[float] = []
    wall: list[float] = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(path, headers=headers)
        wall.append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{path}: HTTP {r.status_code}: {r.text[:300]}")
        server.append(server_ms(r))
    # The first request may read its index from disk (a cold page cache): shown apart.
    warm = server[1:] or server
    print(f"{server[0]:8.1f} {statistics.median(warm):8.1f} {max(warm):8.1f} "
          f"{statistics.median(wall):8.1f}   {urllib.parse.unquote(path)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--errors", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", type=Path, default=None,
                    help="Keep (and reuse) the SQLite database in this folder.")
    ap.add_argument("--url", default=None, help="Use this database (built if empty).")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-ui-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.url or f"sqlite:///{folder / f'ui-{args.errors}.db'}"
    db = create_engine(url)
    fresh = not migrate.is_current(db)
    if not fresh:
        with db.connect() as conn:
            fresh = conn.execute(text("SELECT count(*) FROM errors")).scalar_one() == 0
    db.dispose()
    if fresh:
        build(url, args.errors)
    db = create_engine(url)
    with db.begin() as conn:
        _, token = tokens.create(conn, "read", "bench")
        if users.get(conn, USER) is None:
            users.add(conn, USER, PASSWORD)
        top = conn.execute(text("SELECT key FROM stats WHERE mailing_id = 0 AND metric = "
                                "'domain' GROUP BY key ORDER BY sum(count) DESC LIMIT 1")
                           ).scalar_one()
        mailing = conn.execute(text("SELECT max(id) FROM mailings")).scalar_one()
    db.dispose()
    port = free_port()
    proc = multiprocessing.get_context("spawn").Process(target=serve, args=(url, port),
                                                         daemon=True)
    proc.start()
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=base, timeout=60)
    for _ in range(100):
        try:
            if client.get("/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    api = {"Authorization": f"Bearer {token}"}
    month = (NOW - timedelta(days=30)).date().isoformat()
    since = (NOW - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S")  # UTC
    errors_queries = [
        "", "errortype=error", "severity=hard", "reason=mailboxfull",
        f"domain={top}", f"mailing={mailing}", "step=1", "state=greeting", "code=5.1.1",
        f"since={since}", f"errortype=error&severity=soft&since={since}",
        f"reason=userunknown&domain={top}", f"domain={top}&mailing={mailing}",
        "errortype=error&reason=blocked&severity=hard", "domain=domain3.test&step=4",
        "sort=recipient&order=asc",
        "sort=domain&order=desc", "start=10000",
    ]
    stats_queries = ["", f"since={month}", f"since={(NOW - timedelta(days=DAYS)).date()}",
                     f"mailing={mailing}"]
    print(f"{args.runs} runs each; ms: server first (cold), then of the other runs server "
          "median and worst; client wall median")
    for q in errors_queries:
        measure(client, f"/api/v1/errors?limit=50&{q}", args.runs, api)
    for q in stats_queries:
        measure(client, f"/api/v1/statistics?{q}", args.runs, api)
    form = client.get("/login")
    m = re.search(r'name="csrf" value="([^"]+)"', form.text)
    login = client.post("/login", data={"name": USER, "password": PASSWORD,
                                        "csrf": m.group(1) if m else "", "next": "/errors"},
                        follow_redirects=False)
    if login.status_code in (302, 303):
        for q in errors_queries:
            # The page's time filters are date inputs: whole UTC days.
            measure(client, f"/errors?{q.replace(since, since[:10])}", args.runs, {})
        for q in stats_queries:
            measure(client, f"/statistics?{q}", args.runs, {})
    else:
        print(f"(no UI pages measured: POST /login answered {login.status_code})")
    proc.terminate()
    proc.join()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Inbound throughput: bounceloop's bounce server against Postfix's smtp-sink, same run.

Postfix's ``smtp-source`` sends N copies of a real DSN (Postfix's own layout, from
bounceloop.testing.bounces) over M parallel connections, each connection reused
(``-d``), with the null reverse-path, to:

- Postfix's ``smtp-sink``: answers 250 to everything and stores nothing (the ceiling);
- bounceloop's inbound server, run as ``bounceloop serve`` runs it: the RCPT is checked
  (VERP token HMAC), every message is committed to a fresh database (raw bytes, envelope,
  a processing job; group commit) *before* its 250, and the processing worker runs at the
  same time in the same process, parsing and tying each stored message and writing its
  error row and events.

smtp-source returns when every message has its reply, so N / its time is the rate of
messages accepted *and durably stored*. The time until the last one is processed is
measured from the same start. Checked afterwards: N rows stored, N processed, N failure
events. Prints the median of ``--runs``. The issue's target: at least 500 bounces/s accepted
and stored on SQLite on this 2-core machine. Needs Debian's postfix (``scripts/setup bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from postfix import SOURCE, available, start_sink
from sqlalchemy import Engine, func, select

from bounceloop.config import Settings
from bounceloop.core import verp
from bounceloop.inbound import InboundServer, Inbox, Processor
from bounceloop.observability.metrics import Metrics
from bounceloop.storage import messages as store
from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine, utcnow
from bounceloop.storage.tables import events, jobs, received
from bounceloop.testing import bounces, free_port

DOMAIN = "bounce.sender.test"
SECRET = "bench"


MIME = b"From: news@sender.test\r\nSubject: bench\r\nMessage-ID: <bench@sender.test>\r\n\r\nHi.\r\n"


def sample(message_id: str = "0123456789abcdef") -> bytes:
    original = (f"X-Bounceloop-Id: {message_id}\r\nTo: reader@dest.test\r\n".encode()
                + MIME)
    return bounces.dsn("reader@dest.test", original)


def sent_message(db: Engine) -> tuple[str, str]:
    """A message we sent (the one every bounce of the run answers): its id and envelope."""
    now = utcnow()
    with db.begin() as conn:
        mailing = store.create_mailing(conn, name="bench", sender="news@sender.test",
                                       mime=MIME, tags=["bench"], retry_schedule=None,
                                       max_delivery_time=None, now=now)
        [mid] = store.queue(conn, mailing, "news@sender.test",
                            [store.NewMessage("reader@dest.test")], bounce_domain=DOMAIN,
                            verp_secret=SECRET, max_delivery_time=60, now=now)
    return mid, verp.encode(mid, DOMAIN, SECRET)


async def smtp_source(port: int, n: int, sessions: int, path: Path, to: str) -> float:
    """Seconds smtp-source takes to send ``n`` messages and read every reply."""
    argv = [SOURCE, "-s", str(sessions), "-d", "-m", str(n), "-F", str(path), "-f", "",
            "-t", to, f"127.0.0.1:{port}"]
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"smtp-source failed: {err.decode()}")
    return time.perf_counter() - t0


async def sink_run(n: int, sessions: int, path: Path) -> float:
    port = free_port()
    sink = start_sink(port)
    try:
        return n / await smtp_source(port, n, sessions, path, "reader@dest.test")
    finally:
        sink.kill()
        sink.wait()


async def bounceloop_run(n: int, sessions: int, url: str | None) -> tuple[float, float]:
    """(accepted and stored per second, processed per second) on a fresh database."""
    with tempfile.TemporaryDirectory(prefix="bench-inbound-") as tmp:
        db = create_engine(url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate.upgrade(db)
        mid, envelope = sent_message(db)
        path = Path(tmp) / "bounce.eml"
        path.write_bytes(sample(mid).replace(b"\r\n", b"\n"))
        # the queued message's delivery job is not part of this run
        with db.begin() as conn:
            conn.execute(jobs.delete())
        settings = Settings(database_url="unused", hostname="bench.sender.test",
                            bounce_domain=DOMAIN, verp_secret=SECRET, poll_interval=0.2,
                            smtp_max_sessions=sessions + 10)
        metrics = Metrics()
        processor = Processor(settings, db, "bench", metrics=metrics,
                              parse_processes=settings.parse_processes)
        inbox = Inbox(db, on_stored=processor.wake.set, writes=processor.writes)
        server = InboundServer(settings, inbox, metrics)
        sock = socket.create_server(("127.0.0.1", 0))
        await server.start(sock)
        stop = asyncio.Event()
        worker = asyncio.create_task(processor.run(stop))
        t0 = time.perf_counter()
        took = await smtp_source(sock.getsockname()[1], n, sessions, path, envelope)
        while True:
            with db.connect() as conn:
                left = conn.execute(select(func.count()).select_from(jobs).where(
                    jobs.c.status != "done")).scalar_one()
            if left == 0:
                break
            await asyncio.sleep(0.05)
        processed = time.perf_counter() - t0
        stop.set()
        await worker
        processor.close()
        await server.close()
        sock.close()
        with db.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(received)).scalar_one()
            done = conn.execute(select(func.count()).select_from(received).where(
                received.c.status == "processed")).scalar_one()
            failures = conn.execute(select(func.count()).select_from(events).where(
                (events.c.type == "failure") & (events.c.message_id == mid))).scalar_one()
        db.dispose()
        if (stored, done, failures) != (n, n, n):
            raise SystemExit(f"bounceloop run incomplete: {stored} stored, {done} processed, "
                             f"{failures} failure events, of {n}")
        return n / took, n / processed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--messages", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=20, help="parallel connections")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=None,
                        help="instead of a fresh SQLite file (the database must be empty)")
    args = parser.parse_args()
    if not available():
        return 0
    if args.database_url and args.runs > 1:
        raise SystemExit("--database-url needs --runs 1 (an empty database)")
    content = sample()
    sinks, accepted, processed = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-inbound-") as tmp:
        path = Path(tmp) / "bounce.eml"
        # smtp-source appends CRLF to each line itself: give it LF lines.
        path.write_bytes(content.replace(b"\r\n", b"\n"))
        for _ in range(args.runs):
            sinks.append(asyncio.run(sink_run(args.messages, args.sessions, path)))
            a, p = asyncio.run(bounceloop_run(args.messages, args.sessions,
                                              args.database_url))
            accepted.append(a)
            processed.append(p)
    backend = "postgresql" if args.database_url else "sqlite"
    print(f"bounces: {args.messages} x {args.runs} runs, {len(content)} bytes each, "
          f"{args.sessions} connections, database {backend}")
    print(f"smtp-sink (stores nothing)          {statistics.median(sinks):8.0f} msg/s  runs: "
          + " ".join(f"{r:.0f}" for r in sinks))
    print(f"bounceloop accepted + stored        {statistics.median(accepted):8.0f} msg/s  "
          "runs: " + " ".join(f"{r:.0f}" for r in accepted) + "   (target >= 500)")
    print(f"bounceloop all processed            {statistics.median(processed):8.0f} msg/s  "
          "runs: " + " ".join(f"{r:.0f}" for r in processed))
    print(f"time until all processed (median)   "
          f"{args.messages / statistics.median(processed):8.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Delivery throughput: bounceloop's engine against Postfix's smtp-source, same sink, same run.

Starts Postfix's ``smtp-sink`` on 127.0.0.1 (a server that accepts everything and keeps
nothing), then, against that one sink:

- ``smtp-source``: ``-s SESSIONS -d -m N -F message`` - the same message, over the same
  number of parallel connections, each reused for many messages; no DNS, no bookkeeping;
- bounceloop: N messages queued in a fresh database (SQLite by default), then delivered by
  the delivery engine as ``bounceloop serve`` runs it - MX lookup against a DNS server on
  127.0.0.1, a VERP envelope and DSN parameters per message, connection reuse and
  pipelining, the in-flight mark before every final dot (the journal; on PostgreSQL also
  the database), and every attempt and job settlement written to the database. The run
  is checked afterwards: N messages delivered, N attempt rows, no job left.

Prints messages/second for each (median of ``--runs``) and bounceloop's share of
smtp-source's rate; then the same for the whole command, ``bounceloop send --wait`` of
``--command-messages`` messages, start-up and output included, as a user runs it.
``--postgres`` runs bounceloop on a throwaway PostgreSQL server (``initdb``, durable
settings: ``fsync`` and ``synchronous_commit`` on) with a fresh database per run;
``--database-url`` on an empty database of yours (one run). Needs Debian's postfix (and
postgresql for ``--postgres``; ``scripts/setup bench`` installs both).

The package's modules are byte-compiled first (``compileall``, as ``pip install`` does),
so the command starts as an installed one does even where PYTHONDONTWRITEBYTECODE is set.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import importlib.util
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from postfix import SOURCE, available, start_sink
from sqlalchemy import func, select

from bounceloop.config import Settings
from bounceloop.delivery.engine import Engine, worker_name
from bounceloop.delivery.journal import Journal
from bounceloop.storage import messages as store
from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine, utcnow
from bounceloop.storage.tables import attempts, jobs, messages
from bounceloop.testing import FakeDNS, free_port, postgres


def message(size: int) -> bytes:
    body = ("x" * 75 + "\r\n") * max(1, size // 77)
    return (b"From: news@sender.test\r\nTo: reader@dest.test\r\nSubject: bench\r\n"
            b"Message-ID: <bench@sender.test>\r\n\r\n" + body.encode())


def smtp_source(port: int, n: int, sessions: int, path: Path) -> float:
    argv = [SOURCE, "-s", str(sessions), "-d", "-m", str(n), "-F", str(path),
            "-f", "news@sender.test", "-t", "reader@dest.test", f"127.0.0.1:{port}"]
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return n / (time.perf_counter() - t0)


async def bounceloop(port: int, n: int, sessions: int, content: bytes, url: str | None,
                     domains: int) -> tuple[float, float]:
    """Queue rate and delivery rate (messages/second) of one run on a fresh database."""
    with tempfile.TemporaryDirectory(prefix="bench-send-") as tmp:
        db = create_engine(url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate.upgrade(db)
        names = [f"d{i}.test" for i in range(domains)]
        zone: dict[tuple[str, str], list[str]] = {}
        for d in names:
            zone[(d, "MX")] = [f"10 mx.{d}."]
            zone[(f"mx.{d}", "A")] = ["127.0.0.1"]
        async with FakeDNS(zone) as dns:
            settings = Settings(
                database_url="unused", hostname="bench.sender.test",
                dns_servers=[f"{dns.host}:{dns.port}"], mx_port=port,
                allowed_target_networks=["127.0.0.0/8"], bounce_domain="bounce.sender.test",
                verp_secret="bench", max_connections_per_domain=sessions,
                max_messages_per_connection=1000)
            t0 = time.perf_counter()
            now = utcnow()
            with db.begin() as conn:
                mailing = store.create_mailing(conn, name="bench", sender="news@sender.test",
                                               mime=content, tags=[], retry_schedule=None,
                                               max_delivery_time=None, now=now)
                for start in range(0, n, 1000):
                    batch = [store.NewMessage(f"r{i}@{names[i % domains]}")
                             for i in range(start, min(n, start + 1000))]
                    store.queue(conn, mailing, "news@sender.test", batch,
                                bounce_domain=settings.bounce_domain, verp_secret="bench",
                                max_delivery_time=settings.max_delivery_time, now=now)
            queued = n / (time.perf_counter() - t0)
            worker = worker_name()
            journal = Journal(Path(tmp) / "spool" / "inflight", worker)
            engine = Engine(settings, db, worker=worker, journal=journal,
                            database_process=settings.delivery_database_process)
            await engine.ready()  # a service starts it once, not per drain
            t0 = time.perf_counter()
            await engine.drain()
            delivered = n / (time.perf_counter() - t0)
            journal.close()
        with db.connect() as conn:
            done = conn.execute(select(func.count()).select_from(messages)
                                .where(messages.c.status == "delivered")).scalar_one()
            tries = conn.execute(select(func.count()).select_from(attempts)).scalar_one()
            left = conn.execute(select(func.count()).select_from(jobs)
                                .where(jobs.c.status != "done")).scalar_one()
        db.dispose()
        if (done, tries, left) != (n, n, 0):
            raise SystemExit(f"bounceloop run incomplete: {done} delivered, {tries} attempts "
                             f"recorded, {left} jobs open, of {n}")
        return queued, delivered


async def send_command(port: int, n: int, sessions: int, content: bytes, url: str | None,
                       domains: int) -> float:
    """``bounceloop send --wait`` as a user runs it (start-up, reading the list, queueing,
    delivering, recording, printing a line a message): messages/second of the whole
    command, on a fresh database."""
    exe = str(Path(sys.executable).with_name("bounceloop"))
    with tempfile.TemporaryDirectory(prefix="bench-send-") as tmp:
        names = [f"d{i}.test" for i in range(domains)]
        zone: dict[tuple[str, str], list[str]] = {}
        for d in names:
            zone[(d, "MX")] = [f"10 mx.{d}."]
            zone[(f"mx.{d}", "A")] = ["127.0.0.1"]
        (Path(tmp) / "message.eml").write_bytes(content)
        (Path(tmp) / "list.csv").write_text("email\n" + "".join(
            f"r{i}@{names[i % domains]}\n" for i in range(n)))
        async with FakeDNS(zone) as dns:
            env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCELOOP_")}
            env.update({
                "BOUNCELOOP_DATABASE_URL": url or f"sqlite:///{Path(tmp) / 'bench.db'}",
                "BOUNCELOOP_DNS_SERVERS": f"{dns.host}:{dns.port}",
                "BOUNCELOOP_MX_PORT": str(port), "BOUNCELOOP_HOSTNAME": "bench.sender.test",
                "BOUNCELOOP_ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
                "BOUNCELOOP_BOUNCE_DOMAIN": "bounce.sender.test",
                "BOUNCELOOP_VERP_SECRET": "bench",
                "BOUNCELOOP_MAX_CONNECTIONS_PER_DOMAIN": str(sessions),
                "BOUNCELOOP_MAX_MESSAGES_PER_CONNECTION": "1000",
                "BOUNCELOOP_SPOOL_DIR": str(Path(tmp) / "spool")})
            t0 = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                exe, "send", "--from", "news@sender.test", "--mime",
                str(Path(tmp) / "message.eml"), "--recipients", str(Path(tmp) / "list.csv"),
                "--wait", env=env, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            out, err = await proc.communicate()
            took = time.perf_counter() - t0
        delivered = out.count(b'"status": "delivered"') + out.count(b'"status":"delivered"')
        if proc.returncode != 0 or delivered != n:
            raise SystemExit(f"send --wait: exit {proc.returncode}, {delivered} of {n} "
                             f"delivered: {err.decode()[-500:]}")
        return n / took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--messages", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=5,
                        help="parallel connections, for both (bounceloop: per domain)")
    parser.add_argument("--size", type=int, default=2000, help="message body bytes")
    parser.add_argument("--domains", type=int, default=1,
                        help="recipient domains for bounceloop (all served by the sink)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--command-messages", type=int, default=2000,
                        help="messages of the whole-command run (send --wait); 0: skip it")
    parser.add_argument("--database-url", default=None,
                        help="instead of a fresh SQLite file (the database must be empty)")
    parser.add_argument("--postgres", action="store_true",
                        help="a throwaway durable PostgreSQL server, a fresh database per run")
    args = parser.parse_args()
    if not available():
        return 0
    if args.postgres and not postgres.available():
        print("PostgreSQL is not installed (Debian package postgresql); skipped")
        return 0
    spec = importlib.util.find_spec("bounceloop")
    assert spec is not None and spec.origin is not None
    compileall.compile_dir(Path(spec.origin).parent, quiet=1)
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(postgres.server(durable=True)) if args.postgres else None
        return measure(args, pg)


def measure(args: argparse.Namespace, pg: postgres.Server | None) -> int:
    numbers = itertools.count()

    def url() -> str | None:
        if pg is not None:
            return pg.create_database(f"bench_send_{next(numbers)}")
        return args.database_url if args.runs == 1 else None
    content = message(args.size)
    with tempfile.TemporaryDirectory(prefix="bench-send-") as tmp:
        msg_file = Path(tmp) / "message.eml"
        msg_file.write_bytes(content)
        port = free_port()
        sink = start_sink(port)
        try:
            source_rates, queue_rates, rates = [], [], []
            command_source, command_rates = [], []
            for _ in range(args.runs):
                if args.command_messages and not args.database_url:
                    # One empty database of the user's: the engine's run needs it.
                    command_source.append(smtp_source(port, args.command_messages,
                                                      args.sessions, msg_file))
                    command_rates.append(asyncio.run(send_command(
                        port, args.command_messages, args.sessions, content, url(),
                        args.domains)))
                source_rates.append(smtp_source(port, args.messages, args.sessions, msg_file))
                if args.database_url and args.runs > 1:
                    raise SystemExit("--database-url needs --runs 1 (an empty database)")
                q, r = asyncio.run(bounceloop(port, args.messages, args.sessions, content,
                                              url(), args.domains))
                queue_rates.append(q)
                rates.append(r)
        finally:
            sink.kill()
            sink.wait()
    src = statistics.median(source_rates)
    ours = statistics.median(rates)
    backend = "postgresql" if args.database_url or pg else "sqlite"
    print(f"messages: {args.messages} x {args.runs} runs, {len(content)} bytes each, "
          f"{args.sessions} connections, database {backend}")
    print(f"smtp-source (no bookkeeping)   {src:9.0f} msg/s  runs: "
          + " ".join(f"{r:.0f}" for r in source_rates))
    print(f"bounceloop queue (send)        {statistics.median(queue_rates):9.0f} msg/s")
    print(f"bounceloop deliver + record    {ours:9.0f} msg/s  runs: "
          + " ".join(f"{r:.0f}" for r in rates))
    print(f"bounceloop / smtp-source       {100 * ours / src:9.1f} %   (target >= 25 % on "
          "SQLite, 12 % on PostgreSQL)")
    if command_rates:
        csrc, cours = statistics.median(command_source), statistics.median(command_rates)
        print(f"whole command, {args.command_messages} messages: smtp-source {csrc:.0f} msg/s, "
              f"bounceloop send --wait {cours:.0f} msg/s (runs: "
              + " ".join(f"{r:.0f}" for r in command_rates)
              + f") = {100 * cours / csrc:.1f} %   (target >= 20 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Webhook throughput and latency: N events POSTed to a local receiver over C connections.

Three processes, as in a deployment on one host:

- a producer writes N failure events the way the sender and the bounce processor do
  (storage.events.add, batches of ``--batch``), which queues one webhook job per event in
  the same transaction; as fast as it can (``--rate 0``) or paced at ``--rate`` events/s;
- the webhook worker (webhooks.dispatch.Dispatcher, as ``bounceloop serve`` runs it) claims
  the jobs and POSTs each event, signed, with up to C calls at once (the webhook's
  concurrency), writing the results back to the database;
- the receiver (bounceloop.testing.Receiver, a real HTTP/1.1 server) answers 200 and notes
  the time each call arrived.

events/s = N / (last call received - first event created). Latency = call received -
event created (its ``events.time``), p50 and p99. Checked: every event arrived, every job is
done. The issue's target: at least 1000 events/s on this 2-core machine with SQLite.

    .venv/bin/python bench/webhooks.py [-n 20000] [-c 10] [--rate 0] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bounceloop.config import Settings
from bounceloop.storage import events, migrate
from bounceloop.storage import webhooks as store
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import events as events_table
from bounceloop.storage.tables import jobs
from bounceloop.testing import Receiver, free_port
from bounceloop.webhooks import wire
from bounceloop.webhooks.dispatch import Dispatcher


def receive(port: int, out: str, ready: multiprocessing.Event, stop: multiprocessing.Event
            ) -> None:
    """The receiver process: answer 200, then write (event id, time) of every call."""
    async def main() -> None:
        async with Receiver(port=port) as rx:
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)
        Path(out).write_text(json.dumps([(r.event, r.time) for r in rx.requests]))

    asyncio.run(main())


def produce(url: str, n: int, batch: int, rate: float) -> None:
    """The producer process: n failure events, in batches, paced at ``rate``/s if > 0."""
    db = create_engine(url)
    start = time.monotonic()
    for first in range(0, n, batch):
        if rate > 0:
            wait = start + first / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        now = datetime.now(UTC)
        rows = [events.row(
            time=now, type="failure", key=f"failure:b{i}", message_id=f"b{i}", mailing_id=1,
            recipient=f"user{i}@example.org", data={
                "id": f"b{i}", "recipient": f"user{i}@example.org", "mailing": 1,
                "tags": ["newsletter", "autumn"], "action": "failed", "state": "rcpt",
                "code": "550", "extended": "5.1.1", "description": "550 5.1.1 user unknown",
                "reason": "userunknown", "severity": "hard", "step": 4, "errortype": "error"})
            for i in range(first, min(first + batch, n))]
        with db.begin() as conn:
            events.add(conn, rows)
    db.dispose()


def run(url: str, n: int, concurrency: int, batch: int, rate: float) -> dict[str, float]:
    db = create_engine(url)
    migrate.upgrade(db)
    port = free_port()
    settings = Settings(database_url=url, allowed_target_networks=["127.0.0.0/8"],
                        webhook_poll_interval=0.05)
    with db.begin() as conn:
        store.create(conn, url=f"http://127.0.0.1:{port}/hook", triggers=["failure"],
                     concurrency=concurrency, timeout=10)
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    with tempfile.NamedTemporaryFile(suffix=".json") as calls:
        rx = ctx.Process(target=receive, args=(port, calls.name, ready, stop))
        rx.start()
        ready.wait(30)
        producer = ctx.Process(target=produce, args=(url, n, batch, rate))

        async def deliver() -> None:
            halt = asyncio.Event()
            dispatcher = Dispatcher(settings, db, "bench")
            task = asyncio.create_task(dispatcher.run(halt))
            producer.start()
            while True:
                await asyncio.sleep(0.1)
                if producer.is_alive():
                    continue
                # Jobs left (not done): few near the end, so the count is cheap then.
                with db.connect() as conn:
                    left = conn.execute(select(func.count()).select_from(jobs).where(
                        jobs.c.kind == "webhook",
                        jobs.c.status.in_(["pending", "running", "held"]))).scalar_one()
                if left == 0:
                    break
            halt.set()
            await task

        cpu = resource.getrusage(resource.RUSAGE_SELF)
        asyncio.run(deliver())
        after = resource.getrusage(resource.RUSAGE_SELF)
        worker_cpu = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
        producer.join()
        stop.set()
        rx.join(30)
        received = json.loads(Path(calls.name).read_text())
    with db.connect() as conn:
        created = {str(i): t.timestamp() for i, t in conn.execute(
            select(events_table.c.id, events_table.c.time))}
    db.dispose()
    first_seen: dict[str, float] = {}
    for event, at in received:
        first_seen.setdefault(event, at)
    assert set(first_seen) == set(created), "an event did not arrive"
    latencies = sorted(first_seen[e] - created[e] for e in created)
    span = max(first_seen.values()) - min(created.values())
    return {"events": n, "calls": len(received), "seconds": span, "per_second": n / span,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
            "cpu_ms": 1000 * worker_cpu / n}


def anchor(n: int, concurrency: int) -> dict[str, float] | None:
    """``ab`` (Apache's HTTP load tool, Debian apache2-utils) POSTing ``n`` form bodies the
    size of a failure call to the same receiver over ``concurrency`` kept-alive
    connections: what a plain HTTP client gets from that receiver on this machine."""
    ab = shutil.which("ab")
    if ab is None:
        return None
    port = free_port()
    body = wire.body("failure", datetime.now(UTC), {
        "id": "b1", "recipient": "user1@example.org", "mailing": 1,
        "tags": ["newsletter", "autumn"], "action": "failed", "state": "rcpt", "code": "550",
        "extended": "5.1.1", "description": "550 5.1.1 user unknown",
        "reason": "userunknown", "severity": "hard", "step": 4, "errortype": "error"})[1]
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    with tempfile.NamedTemporaryFile(suffix=".json") as calls, \
            tempfile.NamedTemporaryFile(suffix=".form") as form:
        form.write(body)
        form.flush()
        rx = ctx.Process(target=receive, args=(port, calls.name, ready, stop))
        rx.start()
        ready.wait(30)
        start = time.monotonic()
        done = subprocess.run([ab, "-q", "-k", "-n", str(n), "-c", str(concurrency), "-p",
                               form.name, "-T", wire.FORM, f"http://127.0.0.1:{port}/hook"],
                              capture_output=True, text=True, check=False)
        seconds = time.monotonic() - start
        stop.set()
        rx.join(30)
    if done.returncode != 0:
        print(f"ab failed: {done.stderr.strip()[:300]}", file=sys.stderr)
        return None
    m = re.search(r"Requests per second:\s+([\d.]+)", done.stdout)
    return {"per_second": float(m.group(1)) if m else n / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20000, help="events (default 20000)")
    parser.add_argument("-c", type=int, default=10, help="connections (default 10)")
    parser.add_argument("--batch", type=int, default=100, help="events per producer commit")
    parser.add_argument("--rate", type=float, default=None,
                        help="events/s to produce (0: flat out); default: flat out, then "
                             "paced at half the rate reached, for latency")
    parser.add_argument("--database", default=None, help="a database URL (default: a new "
                        "SQLite file)")
    args = parser.parse_args()
    rates = [args.rate] if args.rate is not None else [0.0, -1.0]
    reached = 0.0
    base = anchor(args.n, args.c)
    if base is None:
        print("ab: not installed (Debian apache2-utils, scripts/setup bench): no anchor")
    else:
        print(f"ab (the anchor): {args.n} POSTs, {args.c} kept-alive connections: "
              f"{base['per_second']:.0f} requests/s")
    for rate in rates:
        if rate < 0:
            rate = round(reached / 2)
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database or f"sqlite:///{Path(tmp) / 'bench.db'}"
            r = run(url, args.n, args.c, args.batch, rate)
        reached = r["per_second"]
        mode = "flat out" if rate == 0 else f"paced at {rate:g}/s"
        share = (f" = {r['per_second'] / base['per_second']:.2f} of ab"
                 if base is not None and rate == 0 else "")
        print(f"webhooks ({mode}): {r['events']:.0f} events, {args.c} connections, "
              f"{r['calls']:.0f} calls in {r['seconds']:.2f} s = {r['per_second']:.0f} "
              f"events/s{share}; latency p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms; "
              f"the worker's CPU {r['cpu_ms']:.2f} ms an event")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

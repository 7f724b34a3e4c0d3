#!/usr/bin/env python3
"""Soak: every role as its own process on one PostgreSQL, under load and faults, then a full
account of every message, bounce and event.

Parts, all on loopback:

- PostgreSQL 15 (``initdb``/``pg_ctl``; synchronous_commit on, so an acknowledged commit
  survives the server's processes being killed);
- ``bounceloop serve --role web`` (the API the load comes through), ``--role smtp`` (where
  the bounces come back) and W ``--role worker`` processes;
- a DNS server on 127.0.0.1 (this process): ok0..ok9.test have their MX on 127.0.0.1, where
  Postfix's ``smtp-sink`` takes everything and appends it to a dump file; bounce.test has its
  MX on 127.0.0.2, a FakeMX process that fsyncs each message before its 250 and refuses
  ``r550-*``/``r452-*`` recipients; gone.test does not exist (NXDOMAIN);
- a bounce generator (this process) that reads what bounce.test received and sends each
  message's DSN (RFC 3464) to the smtp role, at the message's VERP address;
- a webhook receiver (this process) for failure and bounce events.

Phase 1, scaling (``--scale N``): N messages queued with ``bounceloop send``, then delivered
by 1 worker process, then another N by 2; prints messages/second for each (between the 10%
and 90% marks), the CPU each process used and what PostgreSQL's sessions waited on. The
target: 2 workers deliver at least 1.6x what one does.

Phase 2, soak (``--seconds S --rate R``): the web role is posted R messages a second for S
seconds (a mix: 80% delivered, 8% delivered then bounced, 5% refused at RCPT, 4% to a dead
domain, 3% refused with 4xx until they expire). With ``--faults`` the following happen at
random moments: a worker, the smtp role and the web role are killed with SIGKILL (and
started again), PostgreSQL is restarted with ``-m immediate``, the webhook receiver goes away
for 20 s and the DNS server for 10 s. When the load ends the run waits until everything is
settled, then checks:

- every message the API accepted is in the database, final, with the outcome of its class;
- every delivered message is in its sink once (none lost, none sent twice; a message
  "delivered, unconfirmed" after a kill may be in it once or not at all), and nothing is in
  a sink that the database does not call delivered;
- every DSN the smtp role answered 250 to is stored and processed once, its message's error
  row is the bounce's, and the statistics counters equal a recount;
- every failure and bounce event reached the webhook receiver (at least once; repeats are
  counted - they carry the same event id).

Prints throughput per role and the checks; exits 1 if a check fails. Needs Debian's postfix
and postgresql (``scripts/setup bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import re
import shutil
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from postfix import SINK
from sqlalchemy import Engine, func, select, text

from bounceloop.storage import stats
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import attempts, errors, events, jobs, messages, received
from bounceloop.testing import FakeDNS, Receiver, bounces, free_port, postgres
from bounceloop.testing.mx import MXProcess, read_records

BIN = Path(sys.executable).parent / "bounceloop"
SECRET = "soak-secret"
BOUNCE_DOMAIN = "bounce.sender.test"
OK_DOMAINS = [f"ok{i}.test" for i in range(10)]
#: The scaling phase's domains: their MX is an smtp-sink that keeps nothing (the phase counts
#: deliveries in the database), so the sink's own writing does not take the workers' CPU.
SCALE_DOMAINS = [f"s{i}.test" for i in range(10)]
MIME_TEXT = "Hello from the soak.\n" * 20
#: Our header in a copy: the message id and its signature (core.signed).
ID_LINE = re.compile(rb"^X-Bounceloop-Id: ([0-9a-f]+)\.[a-z2-7]+\r?$", re.M)
TICK = os.sysconf("SC_CLK_TCK")


def say(text: str) -> None:
    print(text, flush=True)


# ---------------------------------------------------------------------------- processes

def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def postgres_cpu() -> float:
    """CPU of every PostgreSQL server process (the postmaster and its backends)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().startswith("postgres"):
                    total += cpu_seconds(int(entry.name))
    return total


class Service:
    """One ``bounceloop serve --role ROLE`` process; its CPU is kept across restarts."""

    def __init__(self, name: str, role: str, env: dict[str, str], logs: Path) -> None:
        self.name, self.role = name, role
        self.env = {**env, "BOUNCELOOP_HTTP_LISTEN": f"127.0.0.1:{free_port()}"}
        if role != "smtp":
            self.env["BOUNCELOOP_SMTP_LISTEN"] = ""
        self.log = logs / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.cpu_done = 0.0
        self.starts = 0

    @property
    def http(self) -> str:
        return "http://" + self.env["BOUNCELOOP_HTTP_LISTEN"]

    def start(self, wait: bool = True) -> None:
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen([str(BIN), "serve", "--role", self.role],
                                         env=self.env, stdout=subprocess.DEVNULL, stderr=err)
        self.starts += 1
        deadline = time.monotonic() + 60
        while wait:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.http + "/ready",
                                                                      timeout=2):
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.name} not ready: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def cpu(self) -> float:
        live = cpu_seconds(self.proc.pid) if self.proc and self.proc.poll() is None else 0.0
        return self.cpu_done + live

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.cpu_done += cpu_seconds(self.proc.pid)
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self) -> int:
        if self.proc is None:
            return 0
        self.cpu_done += cpu_seconds(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = -9
        self.proc = None
        return code

    def metric(self, name: str) -> float:
        """The sum of a metric's samples on this process's /metrics (0 if it is down)."""
        try:
            with urllib.request.urlopen(self.http + "/metrics", timeout=5) as r:
                body = r.read().decode()
        except OSError:
            return 0.0
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.startswith(name + "{") or line.startswith(name + " "))


def start_sink(host: str, port: int, dump: Path | None) -> subprocess.Popen[bytes]:
    """smtp-sink, appending every transaction to ``dump`` (its writes need the folder
    writable by the user it drops to); without one it keeps nothing."""
    argv = [SINK]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
        if dump is not None:
            dump.parent.chmod(0o777)
            dump.parent.parent.chmod(0o755)  # mkdtemp's 0700 would keep "nobody" out
    if dump is not None:
        argv += ["-D", str(dump)]
    proc = subprocess.Popen([*argv, f"{host}:{port}", "1024"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            import socket
            socket.create_connection((host, port), timeout=1).close()
            return proc
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"smtp-sink did not listen on {host}:{port}")


def zone() -> dict[tuple[str, str], Any]:
    z: dict[tuple[str, str], Any] = {}
    for d in OK_DOMAINS:
        z[(d, "MX")] = [f"10 mx.{d}."]
        z[(f"mx.{d}", "A")] = ["127.0.0.1"]
    for d in SCALE_DOMAINS:
        z[(d, "MX")] = [f"10 mx.{d}."]
        z[(f"mx.{d}", "A")] = ["127.0.0.3"]
    z[("bounce.test", "MX")] = ["10 mx.bounce.test."]
    z[("mx.bounce.test", "A")] = ["127.0.0.2"]
    z[("gone.test", "MX")] = "NXDOMAIN"
    return z


def base_env(url: str, dns: FakeDNS, mx_port: int, spool: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCELOOP_")}
    env.update({
        "BOUNCELOOP_DATABASE_URL": url,
        "BOUNCELOOP_SPOOL_DIR": str(spool),
        "BOUNCELOOP_DNS_SERVERS": f"{dns.host}:{dns.port}",
        "BOUNCELOOP_DNS_TIMEOUT": "1",
        "BOUNCELOOP_MX_PORT": str(mx_port),
        "BOUNCELOOP_ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
        "BOUNCELOOP_BOUNCE_DOMAIN": BOUNCE_DOMAIN,
        "BOUNCELOOP_VERP_SECRET": SECRET,
        "BOUNCELOOP_HOSTNAME": "soak.sender.test",
        "BOUNCELOOP_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
        "BOUNCELOOP_JOB_LEASE": "10",
        "BOUNCELOOP_POLL_INTERVAL": "0.2",
        "BOUNCELOOP_RETRY_SCHEDULE": "3",
        "BOUNCELOOP_WEBHOOK_RETRY_BASE": "1",
        "BOUNCELOOP_WEBHOOK_RETRY_MAX_DELAY": "4",
        "BOUNCELOOP_LOG_FORMAT": "json",
    })
    return env


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode:
        raise SystemExit(f"bounceloop {' '.join(args)}: {done.stderr}")
    return done.stdout


def count(db: Engine, stmt: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(stmt).scalar() or 0)


class Waits:
    """What PostgreSQL's active sessions wait on, sampled from pg_stat_activity."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        self.seen: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            with contextlib.suppress(Exception), self.db.connect() as conn:
                rows = conn.execute(text(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') "
                    "FROM pg_stat_activity WHERE state = 'active' AND backend_type = "
                    "'client backend' AND pid <> pg_backend_pid()")).scalars().all()
                self.samples += 1
                self.seen.update(rows)

    def __enter__(self) -> Waits:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def show(self) -> str:
        if not self.samples:
            return "no samples"
        top = self.seen.most_common(5)
        return ", ".join(f"{k} {v / self.samples:.2f}" for k, v in top) + \
            " (average active sessions per sample)"


# ---------------------------------------------------------------------------- phase 1

def scale(pg: postgres.Server, dns: FakeDNS, mx_port: int, work: Path, n: int,
          workers: int, sink_pid: int, run: int = 1) -> float:
    name = f"scale{workers}_{run}"
    url = pg.create_database(name)
    env = base_env(url, dns, mx_port, work / f"spool-{name}")
    cli(env, "db", "upgrade")
    csv = work / f"{name}.csv"
    csv.write_text("email\n" + "".join(f"r{i}@{SCALE_DOMAINS[i % 10]}\n" for i in range(n)))
    mime = work / "soak.eml"
    mime.write_text(f"From: news@sender.test\nSubject: soak\n\n{MIME_TEXT}")
    cli(env, "send", "--from", "news@sender.test", "--mime", str(mime), "--recipients",
        str(csv))
    db = create_engine(url)
    procs = [Service(f"{name}-worker{i}", "worker", env, work) for i in range(workers)]
    delivered = select(func.count()).select_from(messages).where(
        messages.c.status == "delivered")
    marks: dict[int, float] = {}
    cpu0 = postgres_cpu()
    sink0, me0 = cpu_seconds(sink_pid), cpu_seconds(os.getpid())
    t0 = time.monotonic()
    with Waits(db) as waits:
        for p in procs:
            p.start(wait=False)
        while True:
            done = count(db, delivered)
            now = time.monotonic()
            for pct in (10, 90):
                if pct not in marks and done >= n * pct / 100:
                    marks[pct] = now
            if done >= n or now - t0 > 900:
                break
            time.sleep(0.1)
    elapsed = time.monotonic() - t0
    pg_cpu = postgres_cpu() - cpu0
    sink_cpu = cpu_seconds(sink_pid) - sink0
    me_cpu = cpu_seconds(os.getpid()) - me0
    cpus = [p.cpu() for p in procs]
    for p in procs:
        p.stop()
    db.dispose()
    rate = 0.8 * n / max(1e-6, marks[90] - marks[10]) if len(marks) == 2 else 0.0
    say(f"  {workers} worker process{'es' if workers > 1 else ''}: {rate:,.0f} messages/s "
        f"(10%-90%), all {n:,} in {elapsed:.1f} s; CPU s: workers "
        f"{' + '.join(f'{c:.1f}' for c in cpus)}, PostgreSQL {pg_cpu:.1f}, sink "
        f"{sink_cpu:.1f}, this process (DNS) {me_cpu:.1f} "
        f"(of {2 * elapsed:.0f} on 2 cores)")
    say(f"    PostgreSQL waits: {waits.show()}")
    return rate


# ---------------------------------------------------------------------------- phase 2

class Load:
    """Posts batches of messages to the web role at a steady rate; keeps what it was told."""

    KINDS = (("ok", 80), ("bounce", 8), ("rcpt550", 5), ("gone", 4), ("rcpt452", 3))

    def __init__(self, web: Service, token: str, rate: float, seconds: float,
                 seed: int) -> None:
        self.web, self.token, self.rate, self.seconds = web, token, rate, seconds
        self.rng = random.Random(seed)
        self.accepted: dict[str, str] = {}  # message id -> kind
        self.unanswered = 0  # recipients of requests whose answer never came
        self.latency: list[float] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self.n = 0

    def recipient(self, kind: str) -> str:
        self.n += 1
        if kind == "ok":
            return f"u{self.n}@{self.rng.choice(OK_DOMAINS)}"
        return {"bounce": f"b{self.n}@bounce.test", "rcpt550": f"r550-511.x{self.n}@bounce.test",
                "rcpt452": f"r452-422.x{self.n}@bounce.test", "gone": f"g{self.n}@gone.test"}[kind]

    def post(self, kind: str, size: int) -> None:
        body: dict[str, Any] = {
            "from": "news@sender.test", "subject": "soak", "text": MIME_TEXT, "tags": [kind],
            "recipients": [{"email": self.recipient(kind)} for _ in range(size)]}
        if kind == "rcpt452":
            body |= {"retry_schedule": "2", "max_delivery_time": 7}
        request = urllib.request.Request(
            self.web.http + "/api/v1/messages", data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                answer = json.loads(r.read())
        except urllib.error.HTTPError as exc:
            self.errors[f"HTTP {exc.code}"] += 1
            self.unanswered += size if exc.code >= 500 else 0
            return
        except OSError as exc:
            self.errors[type(exc).__name__] += 1
            self.unanswered += size
            return
        self.latency.append(time.monotonic() - t0)
        for m in answer["messages"]:
            self.accepted[m["id"]] = kind

    def run(self) -> None:
        batch = 50
        weights = [w for _, w in self.KINDS]
        kinds = [k for k, _ in self.KINDS]
        start = time.monotonic()
        sent = 0
        while (now := time.monotonic()) - start < self.seconds:
            due = self.rate * (now - start)
            if sent >= due:
                time.sleep(min(0.05, (sent - due) / self.rate))
                continue
            counts = collections.Counter(self.rng.choices(kinds, weights, k=batch))
            for kind, size in counts.items():
                self.post(kind, size)
            sent += batch


class BounceBack:
    """Sends a DSN to the smtp role for every message bounce.test accepted, until each got
    a 250 (a refused or broken connection is retried: the sender keeps it, as MTAs do)."""

    def __init__(self, record: Path, smtp: Service) -> None:
        self.record, self.smtp = record, smtp
        self.done = 0
        self.accepted = 0
        self.uncertain = 0  # the connection broke after the final dot: stored or not
        self.refused = 0
        self.latency: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _send(self, envelope: str, raw: bytes) -> None:
        host, port = self.smtp.env["BOUNCELOOP_SMTP_LISTEN"].rsplit(":", 1)
        while True:
            t0 = time.monotonic()
            dot = False
            try:
                with smtplib.SMTP(host, int(port), timeout=20) as client:
                    client.ehlo("mx.bounce.test")
                    client.mail("")
                    code, _ = client.rcpt(envelope)
                    if code >= 500:
                        self.refused += 1  # counted: a check expects none
                        return
                    if code != 250:
                        raise smtplib.SMTPException(f"RCPT {code}")
                    dot = True
                    code, _ = client.data(raw)
                    if code == 250:
                        self.accepted += 1
                        self.latency.append(time.monotonic() - t0)
                        return
            except (OSError, smtplib.SMTPException):
                if dot:
                    self.uncertain += 1
            time.sleep(0.5)

    def _run(self) -> None:
        while True:
            records = read_records(self.record)
            fresh = [r for r in records[self.done:] if not r.rcpt_tos[0].startswith("r")]
            self.done = len(records)
            for r in fresh:
                self._send(r.mail_from, bounces.dsn(r.rcpt_tos[0], r.data))
            if self.stop.is_set() and not fresh:
                return
            time.sleep(0.5)


async def faults(services: dict[str, list[Service]], pg: postgres.Server, dns: FakeDNS,
                 rx: Receiver, seconds: float, rng: random.Random, log: Callable[[str], None]
                 ) -> None:
    """The faults, each at a random moment of its slice of the run."""
    plan = ["worker", "pg", "smtp", "receiver", "web", "dns", "worker"]
    slice_ = seconds / (len(plan) + 1)
    start = time.monotonic()
    for i, what in enumerate(plan):
        at = start + slice_ * (i + 0.5) + rng.uniform(0, slice_ * 0.8)
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        t = time.monotonic() - start
        if what in ("worker", "smtp", "web"):
            victim = rng.choice(services[what])
            log(f"  t={t:5.1f}s SIGKILL {victim.name}; started again 1 s later")
            await asyncio.to_thread(victim.kill)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(victim.start)
        elif what == "pg":
            log(f"  t={t:5.1f}s PostgreSQL restarted (-m immediate)")
            await asyncio.to_thread(pg.restart, "immediate")
        elif what == "receiver":
            log(f"  t={t:5.1f}s webhook receiver down for 20 s")
            await rx.down()
            await asyncio.sleep(20)
            await rx.up()
        elif what == "dns":
            log(f"  t={t:5.1f}s DNS server down for 10 s")
            await dns.close()
            await asyncio.sleep(10)
            await dns.start()


def sink_ids(path: Path) -> collections.Counter[str]:
    """The message ids in a sink's keeping: smtp-sink's dump, or a FakeMX's records."""
    if path.suffix == ".jsonl":
        return collections.Counter(m.decode() for r in read_records(path)
                                   for m in ID_LINE.findall(r.data))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return collections.Counter()
    return collections.Counter(m.decode() for m in ID_LINE.findall(data))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


class Checks:
    def __init__(self) -> None:
        self.failed = 0

    def __call__(self, ok: bool, what: str) -> None:
        say(f"  {'ok  ' if ok else 'FAIL'} {what}")
        self.failed += not ok


async def soak(pg: postgres.Server, dns: FakeDNS, mx_port: int, work: Path, args: Any,
               sink_dump: Path, mx_record: Path) -> int:
    url = pg.create_database("soak")
    earlier = sink_ids(sink_dump)  # the scaling phase's
    env = base_env(url, dns, mx_port, work / "spool-soak")
    cli(env, "db", "upgrade")
    token = cli(env, "token", "create", "--scope", "write").strip().splitlines()[-1]
    rx = Receiver()
    await rx.up()
    cli(env, "webhook", "add", rx.url, "--trigger", "failure", "--trigger", "bounce")
    services = {"web": [Service("web", "web", env, work)],
                "smtp": [Service("smtp", "smtp", env, work)],
                "worker": [Service(f"worker{i}", "worker", env, work)
                           for i in range(args.workers)]}
    every = [s for group in services.values() for s in group]
    for s in every:
        await asyncio.to_thread(s.start)
    db = create_engine(url)
    load = Load(services["web"][0], token, args.rate, args.seconds, args.seed)
    back = BounceBack(mx_record, services["smtp"][0])
    back.thread.start()
    cpu0 = {s.name: s.cpu() for s in every} | {"postgres": postgres_cpu()}
    say(f"soak: {args.rate:g} messages/s for {args.seconds:g} s through the web role, "
        f"{args.workers} workers{', with faults' if args.faults else ''}")
    t0 = time.monotonic()
    chaos = asyncio.create_task(faults(services, pg, dns, rx, args.seconds,
                                       random.Random(args.seed), say)) if args.faults else None
    with Waits(db) as waits:
        await asyncio.to_thread(load.run)
        loaded = time.monotonic() - t0
        if chaos is not None:
            await chaos
        # Settle: every message final, every DSN sent and processed, every call made.
        open_ = select(func.count()).select_from(messages).where(
            messages.c.status.notin_(("delivered", "failed")))
        busy = select(func.count()).select_from(jobs).where(
            jobs.c.status.in_(("pending", "running")))
        deadline = time.monotonic() + args.settle
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if (count(db, open_) == 0 and count(db, busy) == 0
                        and back.done == len(read_records(mx_record))):
                    back.stop.set()
                    await asyncio.to_thread(back.thread.join, 60)
                    if count(db, busy) == 0:
                        break
            await asyncio.sleep(0.5)
        settled = time.monotonic() - t0
    per_worker = {s.name: s.metric("bounceloop_messages_total") for s in services["worker"]}
    cpu = {s.name: s.cpu() - cpu0[s.name] for s in every} | {
        "postgres": postgres_cpu() - cpu0["postgres"]}
    codes = {s.name: await asyncio.to_thread(s.stop) for s in every}
    await rx.down()

    # ------------------------------------------------------------------ throughput
    with db.connect() as conn:
        n_msgs = conn.execute(select(func.count()).select_from(messages)).scalar_one()
        n_attempts = conn.execute(select(func.count()).select_from(attempts)).scalar_one()
    accepted = len(load.accepted)
    say(f"throughput (load {loaded:.0f} s, settled after {settled:.0f} s):")
    say(f"  web: {accepted / loaded:,.0f} messages/s accepted in "
        f"{len(load.latency)} requests of 50 recipients, p50 "
        f"{percentile(load.latency, 50) * 1000:.0f} ms, p99 "
        f"{percentile(load.latency, 99) * 1000:.0f} ms; errors: {dict(load.errors) or 'none'}")
    say(f"  workers: {n_attempts / settled:,.0f} attempts/s over the run ({n_attempts:,} "
        f"attempts for {n_msgs:,} messages); per process since its last start: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in per_worker.items()))
    say(f"  smtp: {back.accepted:,} DSNs answered 250 ({back.accepted / settled:,.1f}/s), p50 "
        f"{percentile(back.latency, 50) * 1000:.0f} ms, p99 "
        f"{percentile(back.latency, 99) * 1000:.0f} ms; {back.uncertain} unanswered after "
        f"the dot")
    say(f"  webhooks: {len(rx.requests):,} calls received ({len(rx.requests) / settled:,.1f}/s)")
    say("  CPU seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
        + f" (of {2 * settled:.0f} on 2 cores)")
    say(f"  PostgreSQL waits: {waits.show()}")
    say(f"  exit codes on SIGTERM: {codes}")
    with db.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    say(f"  database: {size / 2**20:,.0f} MiB, {size / max(1, n_msgs):,.0f} bytes per message "
        f"(with its attempts, events, errors, jobs, bounces and counters)")

    # ------------------------------------------------------------------ accounting
    check = Checks()
    say("accounting:")
    with db.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(
            messages.c.id, messages.c.status, messages.c.state, messages.c.code,
            messages.c.step, messages.c.recipient))}
        indoubt = set(conn.execute(select(attempts.c.message_id).where(
            attempts.c.result == "indoubt")).scalars())
        failure_events = collections.Counter(conn.execute(
            select(events.c.message_id).where(events.c.type == "failure")).scalars())
        bounce_events = collections.Counter(conn.execute(
            select(events.c.message_id).where(events.c.type == "bounce")).scalars())
        hook_event_ids = set(conn.execute(select(events.c.id).where(
            events.c.type.in_(("failure", "bounce")))).scalars())
        received_rows = list(conn.execute(select(received.c.id, received.c.status,
                                                 received.c.message_id)))
        bounce_errors = list(conn.execute(select(errors.c.message_id, errors.c.reason).where(
            errors.c.current.is_(True), errors.c.step == 5)))
        dead_jobs = conn.execute(select(func.count()).select_from(jobs).where(
            jobs.c.status == "dead")).scalar_one()
    check(set(load.accepted) <= set(rows), f"all {accepted:,} accepted messages are stored")
    extra = len(rows) - accepted
    check(0 <= extra <= load.unanswered, f"{extra} stored beyond those (requests whose "
          f"answer was lost: {load.unanswered} recipients)")
    expected = {"ok": "delivered", "bounce": "delivered", "rcpt550": "failed",
                "gone": "failed", "rcpt452": "failed"}
    wrong = [(mid, kind, rows[mid].status) for mid, kind in load.accepted.items()
             if mid in rows and rows[mid].status != expected[kind]]
    check(not wrong, f"every message final with its class's outcome {wrong[:3]}")
    steps = collections.Counter((load.accepted[m], rows[m].step) for m in load.accepted
                                if m in rows and rows[m].status == "failed")
    # A dead domain is put on the suppression list at its first failure (step 1); later
    # messages to it fail before any attempt (step 0), as do 4xx ones found expired.
    # The 4xx ones fail when their time is up, with their last attempt's step (a DNS
    # outage makes that 1).
    check(set(steps) <= {("rcpt550", 4), ("gone", 1), ("gone", 0), ("rcpt452", 4),
                         ("rcpt452", 1), ("rcpt452", 0)}, f"failures at their step: "
          f"{dict(steps)}")
    sunk = sink_ids(sink_dump) - earlier + sink_ids(mx_record)
    delivered = {m for m, r in rows.items() if r.status == "delivered"}
    lost = [m for m in delivered - indoubt if sunk[m] == 0]
    twice = {m: n for m, n in sunk.items() if n > 1}
    ghost = [m for m in sunk if m not in delivered]
    check(not lost, f"every delivered message reached its sink ({len(delivered):,}; "
          f"{len(indoubt)} delivered unconfirmed after a kill, "
          f"{sum(1 for m in indoubt if sunk[m])} of them in the sink) {lost[:3]}")
    check(not twice, f"no message sent twice {list(twice.items())[:3]}")
    check(not ghost, f"nothing in a sink that is not delivered {ghost[:3]}")
    # A DSN sent again after a 250 that did not arrive is stored, then found to be a copy:
    # status duplicate, tied, but no error row or event of its own.
    processed = [r for r in received_rows if r.status in ("processed", "duplicate")]
    copies = [r for r in received_rows if r.status == "duplicate"]
    tied = collections.Counter(r.message_id for r in received_rows if r.status == "processed")
    failed = {m for m, r in rows.items() if r.status == "failed"}
    # A failed attempt's failure event, and one per DSN (step 5) for its recipient.
    owed = collections.Counter(failed) + tied
    check(failure_events == owed, f"one failure event per failed message ({len(failed):,}) "
          f"and per bounce ({sum(tied.values()):,})")
    check(back.accepted <= len(received_rows) <= back.accepted + back.uncertain,
          f"every DSN answered 250 is stored once ({len(received_rows):,} stored, "
          f"{back.accepted:,} answered, {back.uncertain} unanswered)")
    check(back.refused == 0, f"no DSN refused at RCPT ({back.refused})")
    check(len(processed) == len(received_rows), f"all stored DSNs processed "
          f"({len(processed):,}; statuses "
          f"{dict(collections.Counter(r.status for r in received_rows))})")
    bounced = {m for m, k in load.accepted.items() if k == "bounce"}
    check(tied == collections.Counter(bounced) and bounce_events == tied,
          f"each bounce tied to its message with one bounce event ({len(bounced):,}; "
          f"{len(copies)} copies sent again found duplicate and tied to the same message)")
    check({r.message_id for r in copies} <= bounced, "copies tied to their message")
    check(collections.Counter(m for m, reason in bounce_errors if reason == "userunknown")
          == collections.Counter(bounced),
          "each bounced message has one current error, its bounce's (userunknown)")
    calls = collections.Counter(rx.events(200))
    missing = [e for e in hook_event_ids if calls[str(e)] == 0]
    check(not missing, f"every failure and bounce event reached the webhook "
          f"({len(hook_event_ids):,} events, {sum(calls.values()) - len(calls)} repeated "
          f"calls with the same event id) {missing[:3]}")
    check(dead_jobs == 0, f"no dead jobs ({dead_jobs})")
    with db.begin() as conn:
        kept = sorted(tuple(r) for r in conn.execute(text(
            "SELECT mailing_id, metric, day, key, count FROM stats WHERE count <> 0")))
        stats.rebuild(conn)
        recount = sorted(tuple(r) for r in conn.execute(text(
            "SELECT mailing_id, metric, day, key, count FROM stats WHERE count <> 0")))
    check(kept == recount, f"statistics counters equal a recount ({len(kept)} counters)")
    check(all(c == 0 for c in codes.values()), "every process stopped cleanly on SIGTERM")
    db.dispose()
    return check.failed


# ---------------------------------------------------------------------------- main

async def main_async(args: Any) -> int:
    if args.sink == "auto":
        args.sink = "postfix" if shutil.which(SINK) else "python"
    if (args.sink == "postfix" and not shutil.which(SINK)) or not postgres.available():
        say("needs Debian's postgresql, and postfix for smtp-sink: scripts/setup bench")
        return 2
    work = Path(tempfile.mkdtemp(prefix="bounceloop-soak-"))
    mx_port = free_port()
    sink_dump = work / "sink" / ("dump" if args.sink == "postfix" else "ok-mx.jsonl")
    sink_dump.parent.mkdir()
    mx_record = work / "bounce-mx.jsonl"
    failed = 0
    with postgres.server(durable=True) as pg:
        dns = FakeDNS(zone(), port=free_port())
        await dns.start()
        sink: subprocess.Popen[bytes] | MXProcess = (
            start_sink("127.0.0.1", mx_port, sink_dump) if args.sink == "postfix"
            else MXProcess(sink_dump, host="127.0.0.1", port=mx_port).start())
        mx = MXProcess(mx_record, host="127.0.0.2", port=mx_port).start()
        stack = contextlib.ExitStack()
        try:
            if args.scale:
                say(f"scaling: {args.scale:,} messages queued, then delivered by worker "
                    f"processes (2 cores, PostgreSQL and the {args.sink} sink on this machine)")
                bare = start_sink("127.0.0.3", mx_port, None) if args.sink == "postfix" else \
                    MXProcess(work / "scale-mx.jsonl", host="127.0.0.3", port=mx_port).start()
                stack.callback(bare.kill)
                pid = bare.pid if isinstance(bare, subprocess.Popen) else bare.process.pid
                rates: dict[int, list[float]] = {1: [], 2: []}
                for run in range(1, args.repeat + 1):  # alternating, against drift
                    for workers in (1, 2):
                        rates[workers].append(await asyncio.to_thread(
                            scale, pg, dns, mx_port, work, args.scale, workers, pid, run))
                one, two = (statistics.median(rates[w]) for w in (1, 2))
                say(f"  medians of {args.repeat}: 1 worker {one:,.0f}/s, 2 workers "
                    f"{two:,.0f}/s: {two / max(one, 1e-9):.2f}x (target 1.6x)")
            if args.seconds:
                failed = await soak(pg, dns, mx_port, work, args, sink_dump, mx_record)
        finally:
            stack.close()
            sink.kill()
            mx.kill()
            await dns.close()
    if args.keep:
        say(f"logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    say("all checks passed" if not failed else f"{failed} checks FAILED")
    return 1 if failed else 0


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=20000,
                        help="messages per scaling run (0: skip the scaling phase)")
    parser.add_argument("--seconds", type=float, default=180, help="soak load time (0: skip)")
    parser.add_argument("--rate", type=float, default=100, help="messages/s posted")
    parser.add_argument("--repeat", type=int, default=3,
                        help="scaling runs of each (alternating; medians are compared)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--faults", action="store_true", help="kill and restart parts")
    parser.add_argument("--settle", type=float, default=300,
                        help="seconds to wait after the load for everything to settle")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--sink", choices=("auto", "postfix", "python"), default="auto",
                        help="what takes the delivered mail: Postfix's smtp-sink (fast, in "
                             "C) or a FakeMX process (fsyncs each message; no postfix needed)")
    parser.add_argument("--keep", action="store_true", help="keep the logs")
    args = parser.parse_args(list(argv) if argv is not None else None)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())

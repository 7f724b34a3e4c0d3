#!/usr/bin/env python3
"""Inbound throughput: bounceloop's bounce server against durable Postfix and smtp-sink.

N unique bounces - each an RFC 3464 DSN (Postfix's layout, bounceloop.testing.bounces) of a
different message we sent, to that message's VERP address, carrying the ENVID and the
X-Bounceloop-Id we signed into it, so none is a copy of another - go over S parallel
connections, each reused, with the null reverse-path, to:

- Postfix's ``smtp-sink``: answers 250 to everything and keeps nothing (the ceiling);
- ``postfix``: a throwaway Postfix (root; bench/postfix.py) with its own configuration and
  queue under the work directory, smtpd on 127.0.0.1 and a high port. Its cleanup daemon
  writes and fsyncs each queue file before smtpd answers 250, and every message is held
  (nothing is delivered behind it). The anchor of the ratios;
- ``bounceloop smtp``: ``bounceloop serve --role smtp`` on a fresh SQLite database (this
  tree, as a user runs it): each message and its processing job committed, and the WAL
  synced, before its 250 (synchronous=FULL, storage/engine.py);
- ``bounceloop smtp+worker``: ``serve --role smtp`` and ``serve --role worker``, two
  processes, which also process each message (parse, tie by the VERP address, an error row,
  a failure event, a suppression); processed/s counts from the client's first connection
  until the last job is done. ``bounceloop all`` (one ``serve``) on request.

Two clients of ours, each a process of its own, send the same bytes to every target: one
pipelines (RFC 2920: MAIL, RCPT and DATA in one write, as Postfix's and Exim's SMTP
clients do once EHLO lists PIPELINING; it refuses a server that does not list it), one
sends a command and waits for its reply. Postfix's smtp-source does the latter ("No SMTP
command pipelining support", smtp-source(1)) and cannot send unique messages (one file to
one recipient for every message), so it is not used here.

Each round runs every target with both clients back to back. Printed: each run's figures,
then per target and client the median messages/second accepted (N / the client's time to
the last reply) and processed, the ratio to Postfix's accepting rate with the same client
in the same round, the server's CPU ms per message (its processes and their children, from
/proc), and whether the bars of issue 17 are met (pipelining client: smtp role accepting
at least 1x Postfix; smtp + worker roles accepting and processing at least 0.9x). Checked
on every run: Postfix holds N messages; bounceloop stored N; with a worker N processed and
N failure events. Needs Debian's postfix (``scripts/setup bench``); the Postfix target
needs root. Put ``--work`` on a disk, not tmpfs: what is measured includes the syncs.

    .venv/bin/python bench/inbound.py [-n 5000] [--sessions 20] [--rounds 3]
        [--clients pipelining lockstep] [--targets smtp-sink postfix ...] [--work DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from postfix import available, durable_postfix, postfix_available, start_sink
from sqlalchemy import update

from bounceloop.core import signed
from bounceloop.storage import messages as store
from bounceloop.storage import migrate
from bounceloop.storage.engine import create_engine, utcnow
from bounceloop.storage.tables import jobs, messages
from bounceloop.testing import bounces, free_port

DOMAIN = "bounce.sender.test"
SECRET = "bench"
SENDER = "news@sender.test"
DOCUMENT = (b"From: News <news@sender.test>\r\nSubject: Spring news\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\nHello.\r\n")
CLIENTS = ("pipelining", "lockstep")

# ---------------------------------------------------------------------------------------------
# The bounces: N messages queued in a template database, one DSN for each.
# ---------------------------------------------------------------------------------------------


def build(work: Path, n: int) -> tuple[Path, Path]:
    """A SQLite database holding N sent messages (a copy per bounceloop run), and the file
    of their bounces as the clients send them; their paths."""
    template = work / "template.db"
    db = create_engine(f"sqlite:///{template}")
    migrate.upgrade(db)
    now = utcnow()
    with db.begin() as conn:
        mailing = store.create_mailing(conn, name="bench", sender=SENDER, mime=DOCUMENT,
                                       tags=["bench"], retry_schedule=None,
                                       max_delivery_time=None, now=now)
        batch = [store.NewMessage(f"reader{i}@dest{i % 100}.test") for i in range(n)]
        ids = store.queue(conn, mailing, SENDER, batch, bounce_domain=DOMAIN,
                          verp_secret=SECRET, max_delivery_time=86400, now=now)
        # Sent and delivered: what bounces answer. No delivery job is left to run.
        conn.execute(update(messages).values(status="delivered"))
        conn.execute(jobs.delete())
        sent = conn.execute(messages.select().order_by(messages.c.recipient)).all()
    db.dispose()
    assert len(sent) == len(ids) == n
    out = work / "bounces.bin"
    with out.open("wb") as f:
        for m in sent:
            token, header = signed.stamp(secret=SECRET, recipients=[(m.id, m.recipient)],
                                         mailing_id=mailing, message_id_domain=DOMAIN)
            copy = header + f"To: {m.recipient}\r\n".encode() + DOCUMENT
            dsn = bounces.dsn(m.recipient, copy, envid=token)
            # Dot-stuffed (RFC 5321 section 4.5.2) and ended, as it goes on the wire.
            wire = dsn.replace(b"\r\n.", b"\r\n..") + b".\r\n"
            f.write(f"{m.envelope} {len(wire)}\n".encode() + wire)
    return template, out


def load(path: Path) -> list[tuple[bytes, bytes]]:
    """The (recipient, wire bytes) of each bounce in a file of :func:`build`."""
    data = path.read_bytes()
    out, at = [], 0
    while at < len(data):
        end = data.index(b"\n", at)
        rcpt, size = data[at:end].split()
        at = end + 1 + int(size)
        out.append((rcpt, data[end + 1:at]))
    return out


# ---------------------------------------------------------------------------------------------
# The clients (run as `inbound.py client ...`, a process of their own).
# ---------------------------------------------------------------------------------------------


async def reply(reader: asyncio.StreamReader) -> bytes:
    """One whole reply (all its lines)."""
    text = b""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("connection closed")
        text += line
        if line[3:4] != b"-":
            return text


async def session(port: int, queue: Iterator[tuple[bytes, bytes]], pipelining: bool,
                  codes: Counter[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reply(reader)
    writer.write(b"EHLO client.bench.test\r\n")
    ehlo = await reply(reader)
    if pipelining and b"PIPELINING" not in ehlo.upper():
        raise SystemExit(f"the server on port {port} does not announce PIPELINING")
    for rcpt, wire in queue:
        commands = [b"MAIL FROM:<>\r\n", b"RCPT TO:<" + rcpt + b">\r\n", b"DATA\r\n"]
        if pipelining:
            writer.write(b"".join(commands))
            answers = [await reply(reader) for _ in commands]
        else:
            answers = []
            for command in commands:
                writer.write(command)
                answers.append(await reply(reader))
                if not answers[-1].startswith((b"250", b"354")):
                    break
        if answers[-1].startswith(b"354"):
            writer.write(wire)
            answers.append(await reply(reader))
        codes[answers[-1][:3].decode()] += 1
        if not answers[-1].startswith(b"250"):
            writer.write(b"RSET\r\n")
            await reply(reader)
    writer.write(b"QUIT\r\n")
    await reply(reader)
    writer.close()


async def client(port: int, sessions: int, pipelining: bool, path: Path) -> dict[str, object]:
    queue = iter(load(path))
    codes: Counter[str] = Counter()
    t0, c0 = time.monotonic(), time.process_time()
    await asyncio.gather(*(session(port, queue, pipelining, codes) for _ in range(sessions)))
    return {"t0": t0, "t1": time.monotonic(), "cpu": time.process_time() - c0,
            "codes": dict(codes)}


def run_client(port: int, sessions: int, mode: str, path: Path) -> tuple[float, float]:
    """Send every bounce in ``path`` to ``port``: (the client's start, its end), monotonic
    (the same clock in every process). The client's CPU seconds go to CLIENT_CPU."""
    argv = [sys.executable, __file__, "client", str(port), str(sessions), mode, str(path)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {mode} client failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    sent = len(load(path))
    if result["codes"] != {"250": sent}:
        raise SystemExit(f"{mode} client to port {port}: replies {result['codes']}, "
                         f"not {sent} x 250")
    CLIENT_CPU.append(result["cpu"])
    return result["t0"], result["t1"]


#: The CPU seconds of each client run, in order.
CLIENT_CPU: list[float] = []


# ---------------------------------------------------------------------------------------------
# bounceloop, as `bounceloop serve` runs it.
# ---------------------------------------------------------------------------------------------

@dataclass
class Bounceloop:
    port: int
    db: Path
    workers: bool
    pids: list[int]


@contextlib.contextmanager
def bounceloop(work: Path, template: Path, roles: Sequence[str]) -> Iterator[Bounceloop]:
    """``bounceloop serve`` processes, one per role, on a copy of the template database."""
    db = work / "bench.db"
    shutil.copy(template, db)
    smtp_port = free_port()
    env = {**os.environ, "BOUNCELOOP_DATABASE_URL": f"sqlite:///{db}",
           "BOUNCELOOP_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
           "BOUNCELOOP_BOUNCE_DOMAIN": DOMAIN, "BOUNCELOOP_VERP_SECRET": SECRET,
           "BOUNCELOOP_HOSTNAME": "mx.bounce.sender.test"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for role in roles:
            http = free_port()
            with (work / f"{role}.log").open("ab") as log:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "bounceloop", "serve", "--role", role],
                    env={**env, "BOUNCELOOP_HTTP_LISTEN": f"127.0.0.1:{http}",
                         "BOUNCELOOP_SPOOL_DIR": str(work / f"spool-{role}")},
                    stdout=log, stderr=log))
            ready(http, procs[-1], work / f"{role}.log")
        yield Bounceloop(smtp_port, db, workers=any(r in ("all", "worker") for r in roles),
                         pids=[p.pid for p in procs])
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


TICK = os.sysconf("SC_CLK_TCK")


def cpu(pids: Sequence[int]) -> float:
    """CPU seconds (user + system) used so far by these processes and every live process
    under them (bounceloop's parser processes, Postfix's daemons), from /proc."""
    total, seen, todo = 0.0, set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (proc(5))
    return total


def ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for the process's /ready to say 200."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bounceloop serve exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"bounceloop serve not ready in 60 s: {log.read_text()[-2000:]}")


def count(db: Path, sql: str) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as c:
        return int(c.execute(sql).fetchone()[0])


def processed(db: Path, n: int) -> float:
    """When (monotonic) all N stored messages had been processed."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if count(db, "SELECT count(*) FROM received") >= n and count(
                db, "SELECT count(*) FROM jobs WHERE kind = 'bounce' AND status != 'done'"
                ) == 0:
            return time.monotonic()
        time.sleep(0.02)
    raise SystemExit("bounceloop: not all processed in 600 s")


def check(target: Bounceloop, n: int) -> None:
    stored = count(target.db, "SELECT count(*) FROM received")
    if not target.workers:
        if stored != n:
            raise SystemExit(f"bounceloop smtp role: {stored} stored of {n}")
        return
    done = count(target.db, "SELECT count(*) FROM received WHERE status = 'processed'")
    failures = count(target.db, "SELECT count(*) FROM events WHERE type = 'failure'")
    if (stored, done, failures) != (n, n, n):
        raise SystemExit(f"bounceloop run incomplete: {stored} stored, {done} processed, "
                         f"{failures} failure events, of {n}")


# ---------------------------------------------------------------------------------------------
# A round: every target with every client.
# ---------------------------------------------------------------------------------------------


#: bounceloop's targets: the ``serve`` roles each runs, and whether it also processes.
LAYOUTS = {"bounceloop smtp": ["smtp"], "bounceloop smtp+worker": ["smtp", "worker"],
           "bounceloop all": ["all"]}
TARGETS = ("smtp-sink", "postfix", *LAYOUTS)


def targets(args: argparse.Namespace) -> list[str]:
    names = [t for t in TARGETS if t in args.targets]
    if "postfix" in names and not postfix_available():
        names.remove("postfix")
    return names


@dataclass
class Figures:
    """One target with one client: messages per second accepted (N / the client's time to
    its last reply) and processed (N / the time from the client's start until all are
    processed; None without workers); the server's and the client's CPU milliseconds per
    message over the same span."""

    accepted: float
    processed: float | None
    cpu: float
    client_cpu: float


def run(name: str, mode: str, args: argparse.Namespace, template: Path, path: Path,
        work: Path) -> Figures:
    n = args.messages
    with tempfile.TemporaryDirectory(prefix="run-", dir=work) as tmp:
        root = Path(tmp)
        done: float | None = None
        if name == "smtp-sink":
            port = free_port()
            sink = start_sink(port)
            try:
                c0 = cpu([sink.pid])
                t0, t1 = run_client(port, args.sessions, mode, path)
                used = cpu([sink.pid]) - c0
            finally:
                sink.kill()
                sink.wait()
        elif name == "postfix":
            port = free_port()
            with durable_postfix(root, port) as hold:
                master = [int((root / "spool" / "pid" / "master.pid").read_text().split()[0])]
                c0 = cpu(master)
                t0, t1 = run_client(port, args.sessions, mode, path)
                used = cpu(master) - c0
                kept = sum(1 for f in hold.rglob("*") if f.is_file())
            if kept != n:
                raise SystemExit(f"Postfix holds {kept} messages of {n}")
        else:
            with bounceloop(root, template, LAYOUTS[name]) as target:
                c0 = cpu(target.pids)
                t0, t1 = run_client(target.port, args.sessions, mode, path)
                done = processed(target.db, n) if target.workers else None
                used = cpu(target.pids) - c0
            check(target, n)
        return Figures(n / (t1 - t0), n / (done - t0) if done is not None else None,
                       1000 * used / n, 1000 * CLIENT_CPU[-1] / n)


#: The bars of issue 17 (bounceloop / Postfix accepting, same client, same round), per
#: target and figure: the pipelining client's.
BARS = {("bounceloop smtp", "accepted"): 1.0, ("bounceloop smtp+worker", "accepted"): 0.9,
        ("bounceloop smtp+worker", "processed"): 0.9}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        port, sessions, mode, path = sys.argv[2:6]
        result = asyncio.run(client(int(port), int(sessions), mode == "pipelining",
                                    Path(path)))
        print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--messages", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=20, help="parallel connections")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", nargs="+", choices=CLIENTS, default=list(CLIENTS))
    parser.add_argument("--targets", nargs="+", choices=TARGETS,
                        default=[t for t in TARGETS if t != "bounceloop all"],
                        help="servers to measure (default: all but `bounceloop all`)")
    parser.add_argument("--work", type=Path, default=None,
                        help="where databases and queues go (a disk, not tmpfs: fsync)")
    args = parser.parse_args()
    if not available():
        return 0
    if "postfix" in args.targets and not postfix_available():
        print("no Postfix target (the anchor): it needs root and Debian's postfix")
    names = targets(args)
    runs: dict[tuple[str, str], list[Figures]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="bench-inbound-", dir=args.work) as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)  # Postfix's daemons (user postfix) reach their queue below
        template, path = build(work, args.messages)
        size = statistics.mean(len(w) for _, w in load(path))
        for r in range(args.rounds):
            for name in names:
                for mode in args.clients:  # the pair of clients back to back
                    f = run(name, mode, args, template, path, work)
                    runs[mode, name].append(f)
                    print(f"round {r + 1} {name:23} {mode:10} {f.accepted:6.0f} accepted/s"
                          + (f" {f.processed:6.0f} processed/s" if f.processed else "")
                          + f"  cpu ms/msg: server {f.cpu:.2f}, client {f.client_cpu:.2f}",
                          flush=True)
    print(f"\n{args.messages} unique bounces ({size:.0f} bytes on average), {args.sessions} "
          f"connections, {args.rounds} rounds, targets interleaved in each round. Median "
          "msg/s (each round's); x Postfix: the ratio to durable Postfix's accepting rate "
          "with the same client in the same round; cpu: server CPU ms per message.")
    head = "".join(f"{'client: ' + m:^38}" for m in args.clients)
    print(f"\n{'':23} {'':9}  {head}")
    verdicts = []
    for name in names:
        for what in ("accepted", "processed"):
            cells = []
            for mode in args.clients:
                figures = runs[mode, name]
                values = [getattr(f, what) for f in figures]
                if values[0] is None:
                    break
                anchor = [f.accepted for f in runs.get((mode, "postfix"), [])]
                ratio = [v / a for v, a in zip(values, anchor, strict=True)] if anchor else []
                cpu_ms = statistics.median(f.cpu for f in figures)
                cells.append(f"{statistics.median(values):6.0f} "
                             + (f"x{statistics.median(ratio):4.2f} " if ratio else " " * 6)
                             + (f"cpu {cpu_ms:4.2f}" if what == "accepted" else " " * 8)
                             + f" ({' '.join(f'{v:.0f}' for v in values)})")
                bar = BARS.get((name, what))
                if bar and ratio and mode == "pipelining":
                    got = statistics.median(ratio)
                    verdicts.append(f"  {name} {what}, pipelining client: x{got:.2f} "
                                    f"Postfix (bar x{bar:.1f}): "
                                    + ("met" if got >= bar else "NOT met"))
            if cells:
                print(f"{name:23} {what:9}  " + "  ".join(f"{c:36}" for c in cells))
    client_ms = statistics.median(CLIENT_CPU) * 1000 / args.messages
    print(f"\nclients' CPU: median {client_ms:.2f} ms per message")
    if verdicts:
        print("bars (issue 17):")
        print("\n".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())

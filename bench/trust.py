#!/usr/bin/env python3
"""A forged DSN of 100,000 recipient blocks: what it costs other senders, and what it leaves.

Issue 16 saw one such message (7.8 MB, sent to the attacker's own VERP address) make 13,663
error rows and 13,663 suppressions, and delay other senders' 250 replies by up to 15 s.
This runs ``bounceloop serve`` (of this tree, or of another checkout with ``--source``, to
put the two side by side in one run) on a fresh SQLite database (or ``--database``):

1. one message is queued to bob@d0.test with ``bounceloop send`` (its VERP envelope is
   the attacker's address);
2. ``--sessions`` clients each send small DSNs to abuse@ one after another and time each
   reply to the final dot (250 after the commit);
3. after 2 s, the big DSN goes to bob's VERP address: bob's own block, then ``--blocks``
   blocks naming addresses we never mailed;
4. the clients go on until the big one is processed, and 2 s more.

Printed: the reply times before, during (from its 250 to its processing) and after it, the
time to store and to process it, and the error rows, failure events and suppressions it
left behind.

    .venv/bin/python bench/trust.py [--blocks 100000] [--sessions 4] [--source DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bounceloop.storage.engine import create_engine
from bounceloop.testing import FakeDNS, bounces, free_port

DOMAIN = "bounce.sender.test"
MIME = b"From: news@sender.test\r\nSubject: bench\r\n\r\nHello.\r\n"


def big_dsn(first: str, blocks: int) -> bytes:
    raw = bounces.dsn(first, b"Subject: bench\r\n\r\n")
    marker = b"Final-Recipient: rfc822; " + first.encode()
    end = raw.index(b"\r\n--dsn-b", raw.index(marker))
    body = b"".join(b"Final-Recipient: rfc822;u%d@victims.test\r\nAction: failed\r\n"
                    b"Status: 5.1.1\r\n\r\n" % i for i in range(blocks))
    return raw[:end] + b"\r\n\r\n" + body + raw[end:]


async def smtp(port: int, rcpt: str, raw: bytes) -> tuple[int, float]:
    """One SMTP transaction (no pipelining); the reply code to the data and its time from
    the final dot."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def reply() -> int:
        while True:
            line = await reader.readline()
            if not line:
                raise ConnectionError("closed")
            if line[3:4] != b"-":
                return int(line[:3])

    try:
        await reply()
        for command in (b"EHLO bench.test", b"MAIL FROM:<>", f"RCPT TO:<{rcpt}>".encode(),
                        b"DATA"):
            writer.write(command + b"\r\n")
            await writer.drain()
            await reply()
        data = raw.replace(b"\r\n.", b"\r\n..")
        writer.write(data + (b"" if data.endswith(b"\r\n") else b"\r\n"))
        await writer.drain()
        start = time.monotonic()
        writer.write(b".\r\n")
        await writer.drain()
        code = await reply()
        took = time.monotonic() - start
        writer.write(b"QUIT\r\n")
        await writer.drain()
        return code, took
    finally:
        writer.close()


def environment(args: Any, tmp: Path, dns: FakeDNS) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCELOOP_")}
    if args.source:
        env["PYTHONPATH"] = str(Path(args.source).resolve() / "src")
    env.update({
        "BOUNCELOOP_DATABASE_URL": args.database or f"sqlite:///{tmp / 'trust.db'}",
        "BOUNCELOOP_SPOOL_DIR": str(tmp / "spool"),
        "BOUNCELOOP_DNS_SERVERS": f"{dns.host}:{dns.port}",
        "BOUNCELOOP_MX_PORT": "1",
        "BOUNCELOOP_ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
        "BOUNCELOOP_BOUNCE_DOMAIN": DOMAIN,
        "BOUNCELOOP_VERP_SECRET": "bench-trust",
        "BOUNCELOOP_HOSTNAME": "bench.sender.test",
        "BOUNCELOOP_HTTP_LISTEN": f"127.0.0.1:{free_port()}",
        "BOUNCELOOP_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
        "BOUNCELOOP_RETRY_SCHEDULE": "86400",
        "BOUNCELOOP_LOG_LEVEL": "warning",
    })
    return env


def pcts(values: list[float]) -> str:
    if not values:
        return "no replies"
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return (f"{len(values):5d} replies, p50 {statistics.median(values) * 1000:7.1f} ms, "
            f"p99 {p99 * 1000:7.1f} ms, max {values[-1] * 1000:8.1f} ms")


async def run(args: Any) -> int:
    exe = str(Path(sys.executable).with_name("bounceloop"))
    with tempfile.TemporaryDirectory(prefix="bench-trust-") as tmp_name:
        tmp = Path(tmp_name)
        async with FakeDNS({("d0.test", "MX"): ["10 mx.d0.test."],
                            ("mx.d0.test", "A"): ["127.0.0.1"]}) as dns:
            env = environment(args, tmp, dns)
            (tmp / "msg.eml").write_bytes(MIME)
            (tmp / "list.csv").write_text("email\nbob@d0.test\n")
            proc = await asyncio.create_subprocess_exec(
                exe, "send", "--from", "news@sender.test", "--mime", str(tmp / "msg.eml"),
                "--recipients", str(tmp / "list.csv"), env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await proc.communicate()
            if proc.returncode:
                print(err.decode(), file=sys.stderr)
                return 1
            bob = json.loads(out.splitlines()[0])
            with open(tmp / "serve.log", "wb") as log:
                service = await asyncio.create_subprocess_exec(exe, "serve", env=env,
                                                               stderr=log)
            port = int(env["BOUNCELOOP_SMTP_LISTEN"].rsplit(":", 1)[1])
            for _ in range(200):
                try:
                    await smtp(port, f"abuse@{DOMAIN}", bounces.dsn("w@else.test", b"x\r\n"))
                    break
                except OSError:
                    await asyncio.sleep(0.1)
            big = big_dsn("bob@d0.test", args.blocks)
            marks: dict[str, float] = {}
            samples: list[tuple[float, float]] = []
            stop = asyncio.Event()

            async def client(n: int) -> None:
                i = 0
                while not stop.is_set():
                    i += 1
                    raw = bounces.dsn(f"c{n}-{i}@else.test", b"Subject: c\r\n\r\n")
                    code, took = await smtp(port, f"abuse@{DOMAIN}", raw)
                    if code == 250:
                        samples.append((time.monotonic(), took))

            db = create_engine(env["BOUNCELOOP_DATABASE_URL"])
            clients = [asyncio.create_task(client(n)) for n in range(args.sessions)]
            await asyncio.sleep(2)
            marks["sent"] = time.monotonic()
            code, took = await smtp(port, bob["envelope"], big)
            marks["stored"] = time.monotonic()
            deadline = marks["stored"] + args.wait
            while time.monotonic() < deadline:
                with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                    status = conn.execute(text(
                        "SELECT status FROM received WHERE size = :n"), {"n": len(big)}
                    ).scalar()
                if status and status != "pending":
                    break
                await asyncio.sleep(0.05)
            else:
                print(f"the big DSN was not processed in {args.wait:g} s; the service's "
                      f"log:\n{(tmp / 'serve.log').read_text()[-3000:]}", file=sys.stderr)
            marks["processed"] = time.monotonic()
            await asyncio.sleep(2)
            stop.set()
            await asyncio.gather(*clients)
            with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                rid = conn.execute(text("SELECT id FROM received WHERE size = :n"),
                                   {"n": len(big)}).scalar_one()
                rows = conn.execute(text(
                    "SELECT count(*) FROM errors WHERE received_id = :r"), {"r": rid}
                ).scalar_one()
                failures = conn.execute(text(
                    "SELECT count(*) FROM events WHERE type = 'failure' AND key LIKE :k"),
                    {"k": f"failure:r{rid}:%"}).scalar_one()
                suppressed = conn.execute(text(
                    "SELECT count(*) FROM suppressions WHERE value LIKE '%@victims.test'")
                ).scalar_one()
            db.dispose()
            service.send_signal(signal.SIGTERM)
            await service.wait()
    before = [t for at, t in samples if at < marks["sent"]]
    during = [t for at, t in samples if marks["sent"] <= at <= marks["processed"]]
    after = [t for at, t in samples if at > marks["processed"]]
    print(f"source: {args.source or 'this tree'}; big DSN: {args.blocks:,} blocks, "
          f"{len(big) / 1e6:.1f} MB, {args.sessions} other sessions")
    print(f"  big DSN: {code} after {took:.2f} s from its final dot; processed "
          f"{marks['processed'] - marks['stored']:.2f} s after its 250")
    print(f"  other sessions' 250, before: {pcts(before)}")
    print(f"                       during: {pcts(during)}")
    print(f"                        after: {pcts(after)}")
    print(f"  left behind: {rows:,} error rows, {failures:,} failure events, "
          f"{suppressed:,} suppressions of addresses we never mailed")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--database", default="",
                        help="a database URL (default: a fresh SQLite file)")
    parser.add_argument("--wait", type=float, default=600,
                        help="seconds to wait for the big DSN to be processed")
    parser.add_argument("--source", default="",
                        help="run bounceloop from this checkout's src/ (another version)")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())

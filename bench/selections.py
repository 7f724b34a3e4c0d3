#!/usr/bin/env python3
"""``bounceloop select`` on a big list against a big error store (SQLite).

Builds a SQLite database with ``--errors`` error rows (default 1,000,000) spread over
recipients two by two (half of them synchronous hard failures, half soft; a spread of
times, mailings, codes), and a CSV list of ``--addresses`` rows (default 1,000,000; four
columns), half of whose addresses have errors. Then runs the real command as a separate
process, the way a user would, and prints for each selection its wall time, rows read /
kept / removed, and the process's peak memory (ru_maxrss). Memory is measured on a list a
tenth as long too: a streaming selection uses about the same at both sizes.

    bench/selections.py [--errors N] [--addresses N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import insert  # noqa: E402

from bounceloop.storage import migrate  # noqa: E402
from bounceloop.storage.engine import create_engine  # noqa: E402
from bounceloop.storage.tables import errors  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KINDS = [("550", "5.1.1", "userunknown", "hard", 4, "rcptto"),
         ("552", "5.2.2", "mailboxfull", "soft", 4, "rcptto"),
         ("554", "5.7.1", "blocked", "hard", 4, "rcptto"),
         ("", "5.1.2", "hostunknown", "hard", 1, "dns")]


def address(n: int) -> str:
    return f"user{n:07d}@domain{n % 5000}.test"


def build_store(path: Path, n_errors: int) -> None:
    db = create_engine(f"sqlite:///{path}")
    migrate.upgrade(db)
    rng = random.Random(6)
    batch: list[dict[str, object]] = []
    t = time.perf_counter()
    with db.begin() as conn:
        for i in range(n_errors):
            rcpt = i // 2 * 2  # every even-numbered address has two errors
            code, ext, reason, sev, step, state = KINDS[rng.randrange(len(KINDS))]
            batch.append({
                "timestamp": T0 + timedelta(minutes=rng.randrange(300 * 24 * 60)),
                "message_id": None, "mailing_id": None, "recipient": address(rcpt),
                "domain": f"domain{rcpt % 5000}.test", "code": code or None,
                "extended": ext, "description": f"{code} {ext} test", "errortype":
                "mailerror" if rng.random() < 0.3 else "nohost", "step": step, "state": state,
                "severity": sev, "reason": reason, "hardbounce": sev == "hard",
                "received_id": None, "current": True})
            if len(batch) == 20000:
                conn.execute(insert(errors), batch)
                batch = []
        if batch:
            conn.execute(insert(errors), batch)
    db.dispose()
    print(f"store: {n_errors:,} errors written in {time.perf_counter() - t:.1f} s")


def build_list(path: Path, n: int) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["email", "first name", "city", "customer"])
        for i in range(n):
            w.writerow([address(i), f"Name {i}", "Amsterdam, NL", i])


#: Runs the command and prints its peak memory (KiB) last on stderr: a fresh parent per
#: run, so each figure is that run's alone (ru_maxrss of children is a high-water mark).
_MEASURE = ("import resource, subprocess, sys\n"
            "rc = subprocess.run(sys.argv[1:]).returncode\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(rc)\n")


def run(db: Path, listing: Path, args: list[str], out: Path) -> tuple[float, str, int]:
    env = {**os.environ, "BOUNCELOOP_DATABASE_URL": f"sqlite:///{db}"}
    cmd = [sys.executable, "-c", _MEASURE, str(ROOT / ".venv" / "bin" / "bounceloop"),
           "select", *args, str(listing)]
    t = time.perf_counter()
    with out.open("wb") as sink:
        proc = subprocess.run(cmd, stdout=sink, stderr=subprocess.PIPE, env=env, check=False)
    wall = time.perf_counter() - t
    lines = proc.stderr.decode().strip().splitlines()
    if proc.returncode != 0:
        raise SystemExit("\n".join(lines))
    return wall, lines[-2], int(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--errors", type=int, default=1_000_000)
    ap.add_argument("--addresses", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, default=None, help="work here and keep the files")
    a = ap.parse_args()
    work = a.keep or Path(tempfile.mkdtemp(prefix="bench-select-"))
    work.mkdir(parents=True, exist_ok=True)
    db, big, small = work / "errors.db", work / "big.csv", work / "small.csv"
    if not db.exists():
        build_store(db, a.errors)
    build_list(big, a.addresses)
    build_list(small, a.addresses // 10)
    print(f"list: {a.addresses:,} rows ({big.stat().st_size / 1e6:.0f} MB), "
          f"{a.addresses // 10:,} rows for the memory comparison\n")
    # Memory first, on the small list, while the children's peak is still low.
    wall, summary, small_rss = run(db, small, ["--no-errors"], work / "out-small.csv")
    print(f"{'--no-errors (small list)':<52} {wall:6.1f} s  peak {small_rss / 1024:5.0f} MB"
          f"  {summary}")
    selections = [
        ["--no-errors"],
        ["--errors", "--count", ">1", "--final"],
        ["--no-errors", "--since", "2026-06-01", "--code", "5.1.1", "--code", "5.2.2"],
        ["--no-errors", "--errortype", "nohost", "--temporary", "--count", "<2"],
    ]
    for args in selections:
        wall, summary, rss = run(db, big, args, work / "out.csv")
        print(f"{' '.join(args):<52} {wall:6.1f} s  peak {rss / 1024:5.0f} MB  {summary}")
    if a.keep is None:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()

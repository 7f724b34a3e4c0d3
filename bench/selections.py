#!/usr/bin/env python3
"""``bounceloop select`` on a big list against a big error store (SQLite), beside the
plain sqlite3 query a user could write instead.

Builds a SQLite database with ``--errors`` error rows (default 1,000,000) spread over
recipients two by two (half of them synchronous hard failures, half soft; a spread of
times, codes), and a CSV list of ``--addresses`` rows (default 1,000,000; four columns),
half of whose addresses have errors. Then, ``--rounds`` times, interleaved:

- ``bounceloop select --no-errors`` (this checkout's code), run as a separate process the
  way a user would;
- the anchor: the sqlite3 command-line shell importing the same list into a temporary
  table and writing the rows without a current error, one ``NOT EXISTS`` per row through
  the recipient index (``INDEXED BY ix_errors_recipient_lower``), to a CSV file.

It prints each run's wall time and the process's peak memory (ru_maxrss), the median of
each and their ratio (the bar of issue 17: under 30 s, within 10x of the anchor). Memory
is measured on a list a tenth as long too: a streaming selection uses about the same at
both sizes, while the anchor's temporary table grows with the list. Last, other
selections (filters) once each.

    bench/selections.py [--errors N] [--addresses N] [--rounds N] [--no-filters]
                        [--keep DIR]

Needs the sqlite3 shell (Debian package sqlite3, packages/debian-bench.txt).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import shutil
import statistics
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


def measured(cmd: list[str], out: Path, env: dict[str, str] | None = None,
             stdin: Path | None = None) -> tuple[float, list[str], int]:
    """(wall seconds, the stderr lines, peak memory in KiB) of one run of ``cmd``."""
    t = time.perf_counter()
    with out.open("wb") as sink, (stdin.open("rb") if stdin else open(os.devnull, "rb")) as src:
        proc = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], stdin=src, stdout=sink,
                              stderr=subprocess.PIPE, env=env, check=False)
    wall = time.perf_counter() - t
    lines = proc.stderr.decode().strip().splitlines()
    if proc.returncode != 0:
        raise SystemExit("\n".join(lines))
    return wall, lines[:-1], int(lines[-1])


def select(db: Path, listing: Path, args: list[str], out: Path) -> tuple[float, str, int]:
    # This checkout's code, whichever virtualenv runs the bench.
    env = {**os.environ, "BOUNCELOOP_DATABASE_URL": f"sqlite:///{db}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                       os.environ.get("PYTHONPATH")]))}
    wall, lines, rss = measured([sys.executable, "-m", "bounceloop", "select", *args,
                                 str(listing)], out, env)
    return wall, lines[-1], rss


#: The anchor. The list as a temporary table (.import takes the header row for column
#: names), then each of its rows kept unless an error row of that address is current:
#: the anti-join a user would write, told to use the recipient index.
_ANCHOR = """.bail on
.import --csv --schema temp {listing} list
.headers on
.mode csv
.output {out}
SELECT l.* FROM temp.list AS l WHERE NOT EXISTS (
  SELECT 1 FROM errors AS e INDEXED BY ix_errors_recipient_lower
  WHERE lower(e.recipient) = lower(l.email) AND e.current AND e.tied);
"""


def anchor(db: Path, listing: Path, out: Path, work: Path) -> tuple[float, int, int]:
    """(wall seconds, rows written, peak KiB) of the sqlite3 shell's anti-join."""
    script = work / "anchor.sql"
    script.write_text(_ANCHOR.format(listing=listing, out=out))
    sqlite3 = shutil.which("sqlite3")
    if sqlite3 is None:
        raise SystemExit("the anchor needs the sqlite3 shell: apt-get install sqlite3")
    wall, _, rss = measured([sqlite3, "-readonly", str(db)], work / "anchor.txt",
                            stdin=script)
    with out.open("rb") as f:
        rows = sum(1 for _ in f) - 1
    return wall, rows, rss


def kept(summary: str) -> int:
    """The kept count of select's last line ("select: N rows read, N kept, ...")."""
    m = re.search(r"(\d+) kept", summary)
    if m is None:
        raise SystemExit(f"no kept count in {summary!r}")
    return int(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--errors", type=int, default=1_000_000)
    ap.add_argument("--addresses", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-filters", action="store_true",
                    help="skip the selections with filters")
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
    wall, summary, small_rss = select(db, small, ["--no-errors"], work / "out-small.csv")
    a_wall, a_rows, a_small_rss = anchor(db, small, work / "anchor-small.csv", work)
    print(f"{'select --no-errors, small list':<44} {wall:6.1f} s  peak {small_rss / 1024:5.0f} MB"
          f"  {summary}")
    print(f"{'sqlite3 NOT EXISTS, small list':<44} {a_wall:6.1f} s  peak "
          f"{a_small_rss / 1024:5.0f} MB  kept {a_rows:,}")
    ours: list[float] = []
    theirs: list[float] = []
    rss = a_rss = 0
    for r in range(a.rounds):
        wall, summary, rss = select(db, big, ["--no-errors"], work / "out.csv")
        a_wall, a_rows, a_rss = anchor(db, big, work / "anchor.csv", work)
        if kept(summary) != a_rows:
            raise SystemExit(f"select kept {kept(summary):,} rows, the anchor {a_rows:,}")
        ours.append(wall)
        theirs.append(a_wall)
        print(f"round {r + 1}: select --no-errors {wall:6.1f} s  peak {rss / 1024:5.0f} MB"
              f"  {summary}")
        print(f"         sqlite3 NOT EXISTS  {a_wall:6.1f} s  peak {a_rss / 1024:5.0f} MB"
              f"  kept {a_rows:,}")
    mine, anchor_s = statistics.median(ours), statistics.median(theirs)
    print(f"\nselect --no-errors, {a.addresses:,} rows against {a.errors:,} errors: median "
          f"{mine:.1f} s (bar: under 30 s); sqlite3 NOT EXISTS {anchor_s:.1f} s; ratio "
          f"{mine / anchor_s:.1f}x (bar: at most 10x)")
    print(f"peak memory, {a.addresses // 10:,} -> {a.addresses:,} rows: select "
          f"{small_rss / 1024:.0f} -> {rss / 1024:.0f} MB ({rss / small_rss:.2f}x); sqlite3 "
          f"{a_small_rss / 1024:.0f} -> {a_rss / 1024:.0f} MB ({a_rss / a_small_rss:.2f}x)\n")
    selections = [
        ["--errors", "--count", ">1", "--final"],
        ["--no-errors", "--since", "2026-06-01", "--code", "5.1.1", "--code", "5.2.2"],
        ["--no-errors", "--errortype", "nohost", "--temporary", "--count", "<2"],
    ]
    for args in [] if a.no_filters else selections:
        wall, summary, rss = select(db, big, args, work / "out.csv")
        print(f"{' '.join(args):<52} {wall:6.1f} s  peak {rss / 1024:5.0f} MB  {summary}")
    if a.keep is None:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()

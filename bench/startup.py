#!/usr/bin/env python3
"""Start-up time of the ``bounceloop`` command: how long a command takes to begin its work.

Runs, as a user does (the console script in a new process), ``bounceloop --help``,
``bounceloop send --help`` and ``bounceloop parse --format jsonl`` of one small message,
next to ``python -c pass`` (the interpreter alone, the floor); then two commands that open
a SQLite database already at head (each tree its own, created in the first round): ``send``
queueing one message (no ``--wait``: no delivery, but the same imports, settings, schema
check and queueing as the start of ``send --wait``) and ``errors`` (an empty list).

Each ``--src`` is a source tree put first on PYTHONPATH (default: this checkout's
``src``), so two trees (a branch and main) are compared in one run; the commands and trees
are interleaved round by round, so a machine that speeds up or slows down during the run
(shared CPUs do) favours none. The bytecode is cached, as after a user's first run (in a
temporary directory, even where PYTHONDONTWRITEBYTECODE is set). Prints the median and the
range over ``--runs`` rounds, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A minimal RFC 3464 report: the parse row times start-up, not parsing.
DSN = (
    b"From: MAILER-DAEMON@mx.example.net\nTo: s@example.org\nSubject: Delivery failure\n"
    b"MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
    b"boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nFailed.\n\n--B\nContent-Type: "
    b"message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
    b"Final-Recipient: rfc822; jane@example.com\nAction: failed\nStatus: 5.1.1\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n--B--\n"
)


def console_script() -> Path:
    local = ROOT / ".venv" / "bin" / "bounceloop"
    return local if local.exists() else Path(sys.executable).with_name("bounceloop")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", type=Path, action="append",
                    help="a source tree to measure (repeatable; default: this checkout's)")
    ap.add_argument("--runs", type=int, default=20, help="rounds (default 20)")
    a = ap.parse_args()
    trees = [p.resolve() for p in (a.src or [ROOT / "src"])]
    exe = console_script()
    with tempfile.TemporaryDirectory() as tmp:
        message = Path(tmp) / "dsn.eml"
        message.write_bytes(DSN)
        recipients = Path(tmp) / "list.csv"
        recipients.write_text("email\njane@example.com\n")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "bounceloop --help": [str(exe), "--help"],
            "bounceloop send --help": [str(exe), "send", "--help"],
            "bounceloop parse (1 file)": [str(exe), "parse", "--format", "jsonl", str(message)],
            "bounceloop send (queue 1, db at head)": [
                str(exe), "send", "--from", "news@example.org", "--mime", str(message),
                "--recipients", str(recipients)],
            "bounceloop errors (db at head)": [str(exe), "errors"],
        }
        # No BOUNCELOOP_* of the caller's, and a working directory without bounceloop.toml.
        base = {k: v for k, v in os.environ.items()
                if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("BOUNCELOOP_")}
        envs = {tree: {**base, "PYTHONPATH": str(tree),
                       "PYTHONPYCACHEPREFIX": f"{tmp}/pycache{i}",
                       "BOUNCELOOP_DATABASE_URL": f"sqlite:///{tmp}/db{i}.sqlite",
                       "BOUNCELOOP_SPOOL_DIR": f"{tmp}/spool{i}"}
                for i, tree in enumerate(trees)}
        times: dict[tuple[str, Path], list[float]] = {}
        for warm in (True, *[False] * a.runs):
            for label, argv in commands.items():
                for tree in trees:
                    env = envs[tree]
                    t0 = time.perf_counter()
                    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, cwd=tmp, check=False)
                    if done.returncode:
                        raise SystemExit(f"{label} [{tree}]: exit {done.returncode}: "
                                         f"{done.stderr.decode()[-500:]}")
                    if not warm:  # the first round writes the bytecode
                        times.setdefault((label, tree), []).append(time.perf_counter() - t0)
    print(f"{a.runs} rounds, interleaved; {os.cpu_count()} CPUs; ms: median (min-max)")
    width = max(map(len, commands))
    for label in commands:
        for tree in trees:
            ms = [t * 1000 for t in times[(label, tree)]]
            where = f"  [{tree}]" if len(trees) > 1 else ""
            print(f"{label:<{width}}  {statistics.median(ms):7.1f}  "
                  f"({min(ms):.1f}-{max(ms):.1f}){where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

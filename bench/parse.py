#!/usr/bin/env python3
"""Parsing throughput: bounceloop against Sisimai on the same files, in the same run.

Reads the benchmark corpus (``../shared/corpus/sisimai/eml`` by default; says so and exits 0
when it is absent). Prints emails/second for:

- in-process: the parser alone on messages already in memory (bounceloop ``parse()``; Sisimai
  ``Sisimai->make`` on each file inside one perl process, timed in perl);
- whole command: ``bounceloop parse --format jsonl DIR`` as a user runs it (process start,
  reading, output), single process and ``--workers 2``; ``sisimai`` equivalently;

each over the corpus repeated ``--repeat`` times (a directory of hard links), median of
``--runs`` runs. Sisimai is Debian's ``libsisimai-perl`` (``scripts/setup bench`` installs it);
without it, its rows say so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "sisimai" / "eml"

SISIMAI_INPROC = r"""
use strict; use warnings; use Sisimai; use Time::HiRes qw(time);
my @files = @ARGV; my $n = 0;
my $t0 = time;
for my $f (@files) { my $r = Sisimai->make($f, 'delivered' => 1); $n += scalar(@$r) if $r; }
printf "%.6f %d\n", time - $t0, $n;
"""

SISIMAI_CMD = r"""
use strict; use warnings; use Sisimai;
my $r = Sisimai->make($ARGV[0], 'delivered' => 1) || [];
for my $e (@$r) { print $e->dump('json'), "\n"; }
"""


def have_sisimai() -> bool:
    return subprocess.run(["perl", "-MSisimai", "-e", "1"], capture_output=True,
                          check=False).returncode == 0


def replicate(files: list[Path], repeat: int, where: Path) -> Path:
    target = where / f"x{repeat}"
    target.mkdir()
    for r in range(repeat):
        for f in files:
            dst = target / f"{r:02}-{f.name}"
            try:
                os.link(f, dst)
            except OSError:
                shutil.copyfile(f, dst)
    return target


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--repeat", type=int, default=10, help="copies of the corpus (default 10)")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure; the median is shown")
    a = ap.parse_args()
    if not a.corpus.is_dir():
        print(f"bench/parse.py: corpus not found at {a.corpus}; nothing to measure")
        return 0
    sys.path.insert(0, str(ROOT / "src"))
    from bounceloop.parsing import parse

    files = sorted(p for p in a.corpus.iterdir() if p.is_file())
    blobs = [p.read_bytes() for p in files]
    exe = ROOT / ".venv" / "bin" / "bounceloop"
    sisimai = have_sisimai()
    n = len(files)
    total = n * a.repeat
    print(f"corpus: {a.corpus} ({n} emails, {sum(map(len, blobs)) / 1e6:.2f} MB); "
          f"x{a.repeat} = {total} emails; median of {a.runs} runs; {os.cpu_count()} CPUs")
    def inproc() -> None:
        for _ in range(a.repeat):
            for b in blobs:
                parse(b)

    def sis_inproc() -> float:
        out = subprocess.run(["perl", "-e", SISIMAI_INPROC, *map(str, files)],
                             capture_output=True, check=True, text=True).stdout.split()
        return float(out[0])

    parse(blobs[0])  # warm imports and regex caches
    labels = {
        "ours_in": "bounceloop in-process (parse())",
        "sis_in": "sisimai in-process (Sisimai->make per file)",
        "ours_1": "bounceloop parse --workers 1 (whole command)",
        "ours_2": "bounceloop parse --workers 2 (whole command)",
        "sis_cmd": "sisimai make+dump (whole command)",
    }
    times: dict[str, list[float]] = {k: [] for k in labels}
    with tempfile.TemporaryDirectory() as tmp:
        big = replicate(files, a.repeat, Path(tmp))

        def clock(fn) -> float:
            t0 = time.perf_counter()
            fn()
            return time.perf_counter() - t0

        # Rounds interleave the contenders, so a machine that speeds up or slows down during
        # the run (shared CPUs do) biases none of them.
        for _ in range(a.runs):
            times["ours_in"].append(clock(inproc))
            for w in (1, 2):
                times[f"ours_{w}"].append(clock(lambda w=w: subprocess.run(
                    [str(exe), "parse", "--format", "jsonl", "--workers", str(w), str(big)],
                    stdout=subprocess.DEVNULL, check=True)))
            if sisimai:
                times["sis_in"].append(sis_inproc() * a.repeat)
                times["sis_cmd"].append(clock(lambda: subprocess.run(
                    ["perl", "-e", SISIMAI_CMD, str(big)], stdout=subprocess.DEVNULL,
                    check=True)))
    rows: list[tuple[str, float | None]] = []
    for key, label in labels.items():
        if times[key]:
            rows.append((label, total / statistics.median(times[key])))
        elif key.startswith("sis"):
            rows.append((label.split(" (")[0] + ": libsisimai-perl not installed", None))
    width = max(len(r[0]) for r in rows)
    for label, rate in rows:
        print(f"{label:<{width}}  " + (f"{rate:8.0f} emails/s" if rate else "   n/a"))
    by = dict(rows)
    ours = by.get("bounceloop in-process (parse())")
    theirs = by.get("sisimai in-process (Sisimai->make per file)")
    if ours and theirs:
        print(f"in-process ratio bounceloop/sisimai: {ours / theirs:.2f}x")
    one = by.get("bounceloop parse --workers 1 (whole command)")
    two = by.get("bounceloop parse --workers 2 (whole command)")
    cmd_s = by.get("sisimai make+dump (whole command)")
    if one and cmd_s:
        print(f"whole-command ratio bounceloop/sisimai: {one / cmd_s:.2f}x")
    if one and two:
        print(f"--workers 2 speed-up: {two / one:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Parsing throughput: bounceloop against Sisimai and the floor, on the same files, in one run.

Reads the benchmark corpus (``../shared/corpus/sisimai/eml`` by default; says so and exits 0
when it is absent). Prints emails/second for:

- in one process: the floor (reading each file and ``email.message_from_bytes`` on it: the
  least any Python parser of these messages does), bounceloop (reading each file and
  ``parse()`` on it), and Sisimai (``Sisimai->make`` on each file inside one perl process,
  timed in perl), over the corpus ``--repeat`` times;
- the whole command as a user runs it (process start with the bytecode cached and, in a
  tree that has bounceloop/rxcache.py, the regular expressions' code kept, as scripts/setup
  leaves them; reading, parsing, output):
  ``bounceloop parse --format jsonl DIR`` with one worker and ``--workers 2``, and a perl
  script that makes and dumps Sisimai's records of DIR, on the corpus once and on the corpus
  repeated ``--repeat`` times (a directory of hard links).

A control shows what two processes can get from the machine at that moment: the same pure
Python loop run as one process, and split over two running at once (on a machine shared with
other work, 2 CPUs are not always 2 free CPUs; the ratio of ``--workers 2`` is read against
it).

Each figure is the median of ``--runs`` rounds, with its range; the rounds interleave the
contenders, so a machine that speeds up or slows down during the run (shared CPUs do) biases
none of them. Each ratio is taken within a round and its median and range shown. Sisimai is
Debian's ``libsisimai-perl`` (``scripts/setup bench`` installs it); without it its rows say
so. ``--src DIR`` measures another source tree (another checkout's ``src``). bounceloop's
parser is its compiled one where ``scripts/setup`` built it for that tree's sources
(bounceloop/native.py; the first line says which), ``--plain`` measures it as plain Python.
"""

from __future__ import annotations

import argparse
import email
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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


SPIN = "n = int(__import__('sys').argv[1])\nwhile n:\n    n -= 1\n"
SPIN_STEPS = 20_000_000


def spin(processes: int) -> float:
    """The time of SPIN_STEPS loop steps split over ``processes`` processes run at once."""
    t0 = time.perf_counter()
    running = [subprocess.Popen([sys.executable, "-c", SPIN, str(SPIN_STEPS // processes)])
               for _ in range(processes)]
    for p in running:
        p.wait()
    return time.perf_counter() - t0


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


def console_script() -> Path:
    local = ROOT / ".venv" / "bin" / "bounceloop"
    return local if local.exists() else Path(sys.executable).with_name("bounceloop")


def user_env(src: Path, cache: Path) -> dict[str, str]:
    """The environment of a command run as a user runs it: ``src`` first on the path, its
    bytecode cached (a user's first run writes it; here in ``cache``, not in the tree, even
    where PYTHONDONTWRITEBYTECODE is set, as it is on our shared machine)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(src), "PYTHONPYCACHEPREFIX": str(cache)}


def clock(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def spread(values: list[float], fmt: str) -> str:
    """The median and the range of a figure over the rounds."""
    return (f"{format(statistics.median(values), fmt)} "
            f"({format(min(values), fmt)}-{format(max(values), fmt)})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--repeat", type=int, default=10, help="copies of the corpus (default 10)")
    ap.add_argument("--runs", type=int, default=5, help="rounds; the median is shown")
    ap.add_argument("--src", type=Path, default=ROOT / "src",
                    help="the source tree to measure (default: this checkout's)")
    ap.add_argument("--plain", action="store_true",
                    help="bounceloop as plain Python, its compiled parser unused "
                         "(BOUNCELOOP_NATIVE=0; see bounceloop/native.py)")
    a = ap.parse_args()
    if a.plain:
        os.environ["BOUNCELOOP_NATIVE"] = "0"  # here and in the commands it runs
    if not a.corpus.is_dir():
        print(f"bench/parse.py: corpus not found at {a.corpus}; nothing to measure")
        return 0
    src = a.src.resolve()
    sys.path.insert(0, str(src))
    from bounceloop import native
    from bounceloop.parsing import parse

    files = sorted(p for p in a.corpus.iterdir() if p.is_file())
    size = sum(p.stat().st_size for p in files)
    exe = console_script()
    sisimai = have_sisimai()
    n = len(files)
    total = n * a.repeat
    print(f"corpus: {a.corpus} ({n} emails, {size / 1e6:.2f} MB); x{a.repeat} = {total} "
          f"emails; {a.runs} rounds; {os.cpu_count()} CPUs; {src}")
    print("bounceloop's parser: " + ("compiled (mypyc)" if native.active() else "plain Python"))
    print("emails/second: median (min-max) of the rounds")

    def read_all(each: Callable[[bytes], object]) -> None:
        for _ in range(a.repeat):
            for path in files:
                with open(path, "rb") as fh:
                    each(fh.read())

    def sis_inproc() -> float:
        out = subprocess.run(["perl", "-e", SISIMAI_INPROC, *map(str, files)],
                             capture_output=True, check=True, text=True).stdout.split()
        return float(out[0]) * a.repeat

    env: dict[str, str] = {}

    def command(argv: list[str]) -> float:
        return clock(lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, check=True,
                                            env=env))

    read_all(parse)  # warm the regular expression caches and the page cache
    read_all(email.message_from_bytes)
    labels = {
        "floor": (total, "floor: read + email.message_from_bytes (in one process)"),
        "ours_in": (total, "bounceloop: read + parse() (in one process)"),
        "sis_in": (total, "sisimai: Sisimai->make per file (in one process)"),
        "ours_1_x1": (n, f"bounceloop parse, {n} files (whole command)"),
        "sis_x1": (n, f"sisimai make+dump, {n} files (whole command)"),
        "ours_1": (total, f"bounceloop parse, {total} files (whole command)"),
        "ours_2": (total, f"bounceloop parse --workers 2, {total} files (whole command)"),
        "sis": (total, f"sisimai make+dump, {total} files (whole command)"),
        "spin_1": (SPIN_STEPS, "control: a Python loop, one process (steps/s)"),
        "spin_2": (SPIN_STEPS, "control: the same loop split over 2 processes (steps/s)"),
    }
    times: dict[str, list[float]] = {k: [] for k in labels}
    with tempfile.TemporaryDirectory() as tmp:
        big = replicate(files, a.repeat, Path(tmp))
        env = user_env(src, Path(tmp) / "pycache")
        ours = [str(exe), "parse", "--format", "jsonl"]
        perl = ["perl", "-e", SISIMAI_CMD]
        command([*ours, str(a.corpus)])  # writes the bytecode
        if (src / "bounceloop" / "rxcache.py").exists():
            # As scripts/setup does after compileall: the kept code of the parser's regular
            # expressions (bounceloop/rxcache.py), for this interpreter, if not there yet.
            subprocess.run([sys.executable, "-m", "bounceloop.rxcache"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        for _ in range(a.runs):
            times["floor"].append(clock(lambda: read_all(email.message_from_bytes)))
            times["ours_in"].append(clock(lambda: read_all(parse)))
            times["ours_1_x1"].append(command([*ours, str(a.corpus)]))
            times["ours_1"].append(command([*ours, str(big)]))
            times["ours_2"].append(command([*ours, "--workers", "2", str(big)]))
            times["spin_1"].append(spin(1))
            times["spin_2"].append(spin(2))
            if sisimai:
                times["sis_in"].append(sis_inproc())
                times["sis_x1"].append(command([*perl, str(a.corpus)]))
                times["sis"].append(command([*perl, str(big)]))
    width = max(len(label) for _, label in labels.values())
    for key, (count, label) in labels.items():
        if times[key]:
            print(f"{label:<{width}}  {spread([count / t for t in times[key]], '6.0f')}")
        else:
            print(f"{label:<{width}}  n/a: libsisimai-perl not installed")

    def ratio(label: str, num: str, den: str) -> None:
        # Within a round: the time of ``den`` over the time of ``num`` (how many times
        # faster ``num`` is).
        if times[num] and times[den]:
            per_round = [d / u for u, d in zip(times[num], times[den], strict=True)]
            print(f"{label:<{width}}  {spread(per_round, '.2f')}x")

    print()
    ratio("in one process, bounceloop time / floor time", "floor", "ours_in")
    ratio("in one process, bounceloop / sisimai", "ours_in", "sis_in")
    ratio(f"whole command, {n} files, bounceloop / sisimai", "ours_1_x1", "sis_x1")
    ratio(f"whole command, {total} files, bounceloop / sisimai", "ours_1", "sis")
    ratio(f"whole command, {total} files, --workers 2 / 1", "ours_2", "ours_1")
    ratio("control: the loop in 2 processes / in 1", "spin_2", "spin_1")
    return 0


if __name__ == "__main__":
    sys.exit(main())

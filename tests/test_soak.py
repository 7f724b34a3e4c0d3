"""The fault soak (bench/soak.py) in the suite, short: every role as its own process on a real
PostgreSQL, load through the API, and each fault of issue 8 once - a worker, the smtp role
and the web role killed with SIGKILL and started again, PostgreSQL restarted with
``-m immediate``, the webhook receiver away for 20 s and the DNS server for 10 s. The run
then accounts for every message, delivery, bounce, event and webhook call (see the bench's
docstring); any check that fails makes it exit 1. The delivered mail goes to FakeMX processes
here (``--sink python``), so the suite needs no postfix.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_the_soak_with_faults_loses_and_duplicates_nothing() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "soak.py"), "--scale", "0", "--seconds", "40",
         "--rate", "30", "--faults", "--sink", "python", "--settle", "240", "--seed", "11"],
        cwd=BENCH, capture_output=True, text=True, timeout=600, check=False)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    # Every fault happened, and the account covers each kind of traffic.
    for fault in ("SIGKILL worker", "SIGKILL smtp", "SIGKILL web", "PostgreSQL restarted",
                  "webhook receiver down", "DNS server down"):
        assert fault in out, out
    assert "FAIL" not in out and out.rstrip().endswith("all checks passed"), out
    assert "DSNs answered 250" in out and "every DSN answered 250 is stored once" in out

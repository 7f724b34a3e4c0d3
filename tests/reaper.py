"""Services a test started and did not stop: killed when the test ends (tests/conftest.py).

A test that fails between starting ``bounceloop serve`` and stopping it (an assertion, a
timeout) would leave the service running for the rest of the run: in one run eight of them
and a PostgreSQL server kept the machine's load at 4, and the tests after them slowed into
timeouts of their own. :func:`started` notes a service's process; :func:`reap` kills each
still running, our child and not yet exited (its parser processes die with it: they ask
the kernel for that, inbound/parser.py).
"""

from __future__ import annotations

import os
import signal

_started: list[int] = []


def started(pid: int) -> None:
    """Note the process of a service a test started."""
    _started.append(pid)


def reap() -> list[int]:
    """Kill the noted services still running; the pids killed."""
    killed: list[int] = []
    for pid in _started:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                # After the command name in parentheses: the state, then the parent's pid.
                state, parent = fh.read().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue  # gone
        # Our child, not a zombie: not a pid the system has given to another process since.
        if int(parent) == os.getpid() and state != "Z":
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    _started.clear()
    return killed

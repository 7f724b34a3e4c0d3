"""tests/reaper.py: a service a test left running is killed; nothing else is."""

from __future__ import annotations

import subprocess
import sys

from tests import reaper


def test_a_child_left_running_is_killed_and_nothing_else() -> None:
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    reaper.started(running.pid)
    reaper.started(exited.pid)
    reaper.started(1)  # not our child: never killed
    assert reaper.reap() == [running.pid]
    assert running.wait(timeout=10) < 0  # killed by a signal
    assert reaper.reap() == []  # the list is cleared each time

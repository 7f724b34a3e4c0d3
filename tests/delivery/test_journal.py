"""The in-flight journal: what it lists, when it switches files, what survives a kill."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bounceloop.delivery import journal as journal_module
from bounceloop.delivery.journal import Journal, paths, written
from tests import syscalls


def test_lists_what_was_appended_and_nothing_for_a_stranger(tmp_path: Path) -> None:
    j = Journal(tmp_path, "host:1:a")
    assert written(tmp_path, "host:1:a") == set()  # here, and empty: nothing was sent
    j.append(["m1", "m2"])
    j.append(["m3"])
    assert written(tmp_path, "host:1:a") == {"m1", "m2", "m3"}
    assert written(tmp_path, "host:9:z") is None  # not here: cannot tell
    j.close()


def test_survives_sigkill_without_fsync(tmp_path: Path) -> None:
    code = ("import os, sys\n"
            "from bounceloop.delivery.journal import Journal\n"
            f"j = Journal({str(tmp_path)!r}, 'host:2:k')\n"
            "j.append(['sent-before-kill'])\n"
            "os.kill(os.getpid(), 9)\n")
    proc = subprocess.run([sys.executable, "-c", code], check=False)
    assert proc.returncode == -9
    assert written(tmp_path, "host:2:k") == {"sent-before-kill"}


def test_switches_files_only_when_the_other_is_settled(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "SWITCH_AFTER", 0.0)
    first, second = paths(tmp_path, "host:3:s")
    j = Journal(tmp_path, "host:3:s")
    j.append(["a"])
    j.settled([])  # time to switch, and file 1 (empty) may be emptied: now writing there
    j.append(["b"])
    assert first.read_text() == "a\n" and second.read_text() == "b\n"
    # Switching back would empty file 0, but "a" is not settled yet: stay on file 1.
    j.settled([])
    j.append(["c"])
    assert first.read_text() == "a\n" and second.read_text() == "b\nc\n"
    j.settled(["a"])  # now file 0 may go: it is emptied and written again
    j.append(["d"])
    assert first.read_text() == "d\n"
    assert written(tmp_path, "host:3:s") == {"b", "c", "d"}
    j.close()
    assert first.exists()  # b, c, d unsettled: kept for the next start to read


def test_clean_stop_removes_and_old_strangers_are_cleaned(tmp_path: Path) -> None:
    old = paths(tmp_path, "host:4:old")[0]
    old.write_text("x\n")
    recent = paths(tmp_path, "host:5:recent")[0]
    recent.write_text("y\n")
    long_ago = time.time() - journal_module.STALE_AFTER - 10
    os.utime(old, (long_ago, long_ago))
    j = Journal(tmp_path, "host:6:me")
    assert not old.exists() and recent.exists()
    j.append(["z"])
    j.settled(["z"])
    j.close()
    assert not any(p.exists() for p in paths(tmp_path, "host:6:me"))


def test_worker_names_are_safe_file_names(tmp_path: Path) -> None:
    j = Journal(tmp_path, "box/../..:7:aa")
    j.append(["q"])
    assert [p.parent for p in tmp_path.iterdir()] == [tmp_path]
    assert written(tmp_path, "box/../..:7:aa") == {"q"}
    j.close()


def test_a_retracted_dot_is_not_listed(tmp_path: Path) -> None:
    j = Journal(tmp_path, "host:8:r")
    j.append(["kept", "broken"])
    j.retract(["broken"])  # its connection had broken: the dot never went out
    assert written(tmp_path, "host:8:r") == {"kept"}
    j.close()


@pytest.mark.skipif(syscalls.STRACE is None, reason="strace is not installed (Debian "
                    "package strace, packages/debian-test.txt)")
def test_a_power_loss_keeps_the_files_and_the_retractions(tmp_path: Path) -> None:
    """What a power loss must not take: the name of a file (a vanished journal reads as
    "no journal", every message marked in flight then counts as delivered) and a
    retraction (a message whose dot never went out would count as delivered)."""
    spool = tmp_path / "inflight"
    code = ("from bounceloop.delivery.journal import Journal\n"
            f"j = Journal({str(spool)!r}, 'host:8:p')\n"
            "j.append(['m1:0', 'm2:0'])\n"
            "j.retract(['m2:0'])\n")
    log = tmp_path / "journal.strace"
    subprocess.run(syscalls.traced(log, [sys.executable, "-c", code]), check=True)
    calls = syscalls.read(log)
    first = paths(spool, "host:8:p")[0]
    lines = [c for c in calls if c.path == str(first) and c.name == "write"]
    assert [c.args.split('"')[1] for c in lines] == ["m1:0\\nm2:0\\n", "-m2:0\\n"]
    synced = [c for c in calls if c.name in ("fsync", "fdatasync") and c.result == 0]
    assert any(s.path == str(spool) and s.end < lines[0].start for s in synced), \
        "the journal's directory was not synced before its first line"
    assert any(s.path == str(first) and s.start > lines[1].end for s in synced), \
        "the retraction was not synced"
    assert written(spool, "host:8:p") == {"m1:0"}

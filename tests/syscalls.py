"""A process's system calls as strace(1) records them, for tests of what reaches the disk
before we answer.

    argv = traced(log, [bounceloop, "serve", "--role", "smtp"])  # run it with asyncio etc.
    calls = read(log)

:func:`traced` prefixes a command with ``strace -f -yy -tt`` limited to :data:`CALLS`: the
syncs (fsync, fdatasync), the writes to files (write, pwrite64, writev) and the socket
traffic (sendto, sendmsg, recvfrom, read). ``-f`` follows every thread (the database
commits run in threads of the asyncio loop), ``-yy`` prints each descriptor's path or TCP
endpoints, and ``--seccomp-bpf`` stops the process only at the traced calls, so it runs at
close to its own speed. strace is Debian's ``strace`` (packages/debian-test.txt).

:func:`read` returns the calls in the order strace saw them finish; a call that another
thread's call interrupted in the output (``<unfinished ...>`` ... ``<... resumed>``) keeps
both positions: where it started and where it finished. Since every traced thread stops at
each traced call until strace has logged it, a call that finished before another started
in this order did so in time as well.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

STRACE = shutil.which("strace")
CALLS = ("fsync", "fdatasync", "write", "pwrite64", "writev", "sendto", "sendmsg",
         "recvfrom", "read")

_LINE = re.compile(r"^(?P<pid>\d+) +\S+ (?P<rest>.*)$")
# A descriptor's path ends at the ">" before the call's next argument, its ")" or strace's
# " <unfinished ...>" (a TCP endpoint has a ">" of its own: "TCP:[a:1->b:2]").
_START = re.compile(r"^(?P<name>\w+)\((?P<fd>\d+)(?:<(?P<path>.*?)>(?=[,) ]))?(?P<args>.*)$")
_RESUMED = re.compile(r"^<\.\.\. (?P<name>\w+) resumed>(?P<args>.*)$")
_RESULT = re.compile(r"\) += (?P<result>-?\d+)")


@dataclass(frozen=True, slots=True)
class Call:
    start: int
    """Where the call started in the order of the trace."""
    end: int
    """Where it finished (the same as ``start`` unless another thread's call came between)."""
    pid: int
    name: str
    path: str
    """The descriptor's file, or ``TCP:[local->peer]`` for a socket."""
    args: str
    """The rest of the call as printed: its data (quoted, escaped as C strings) and result."""
    result: int | None


def traced(log: Path, argv: list[str]) -> list[str]:
    """``argv`` run under strace, writing its record to ``log``."""
    assert STRACE is not None
    return [STRACE, "-f", "--seccomp-bpf", "-yy", "-tt", "-s", "256", "-o", str(log),
            "-e", "trace=" + ",".join(CALLS), *argv]


def read(log: Path) -> list[Call]:
    """The calls of the record, in the order they finished."""
    calls: list[Call] = []
    pending: dict[int, tuple[int, str, str, str]] = {}
    for position, line in enumerate(log.read_text("utf-8", "replace").splitlines()):
        m = _LINE.match(line)
        if m is None:
            continue
        pid, rest = int(m["pid"]), m["rest"]
        resumed = _RESUMED.match(rest)
        if resumed:
            if pid not in pending:
                continue
            start, name, path, args = pending.pop(pid)
            args += resumed["args"]
        else:
            started = _START.match(rest)
            if started is None:  # a signal, an exit, a call on no descriptor
                continue
            start, name, path, args = position, started["name"], started["path"] or "", \
                started["args"]
            if args.endswith("<unfinished ...>"):
                pending[pid] = (start, name, path, args[:-len("<unfinished ...>")])
                continue
        result = _RESULT.search(args)
        calls.append(Call(start, position, pid, name, path, args,
                          int(result["result"]) if result else None))
    return calls


def syncs(calls: list[Call], database: Path) -> list[Call]:
    """The completed syncs of the SQLite database ``database`` (its main file or WAL)."""
    names = {str(database), f"{database}-wal"}
    return [c for c in calls if c.name in ("fsync", "fdatasync") and c.path in names
            and c.result == 0]


def writes(calls: list[Call], database: Path) -> list[Call]:
    """The writes to the database's WAL (what a commit writes in WAL mode)."""
    return [c for c in calls if c.name in ("write", "pwrite64", "writev")
            and c.path == f"{database}-wal" and (c.result or 0) > 0]


def sent(calls: list[Call], text: str) -> list[Call]:
    """Socket writes whose data contains ``text`` (as strace prints it: CRLF is ``\\r\\n``)."""
    return [c for c in calls if c.name in ("sendto", "sendmsg", "write", "writev")
            and c.path.startswith("TCP:") and text in c.args]


def received_on(calls: list[Call], socket: str) -> list[Call]:
    """Reads that returned data on the socket ``socket`` (a ``TCP:[...]`` path)."""
    return [c for c in calls if c.name in ("recvfrom", "read") and c.path == socket
            and (c.result or 0) > 0]


def synced_between(calls: list[Call], database: Path, after: int, before: int) -> bool:
    """Whether a write to the WAL started after position ``after`` and a sync of the
    database that finished before position ``before`` covered it (the write finished
    before the sync started)."""
    done = [w.end for w in writes(calls, database) if w.start > after]
    return any(s.end < before and any(end < s.start for end in done)
               for s in syncs(calls, database))


def unsynced_before(calls: list[Call], database: Path, position: int) -> list[Call]:
    """Writes to the WAL that finished before ``position`` and that no sync finished
    before ``position`` covers: what a power loss at ``position`` could lose."""
    covered = max((s.start for s in syncs(calls, database) if s.end < position), default=-1)
    return [w for w in writes(calls, database) if covered < w.end < position]

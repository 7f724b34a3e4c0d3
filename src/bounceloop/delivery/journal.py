"""The in-flight journal: which final dots this process is writing, noted as it writes them.

A delivery is in doubt when the process dies after marking a message in flight (the
database commit before the final dot) and before recording the server's reply. Two cases
then look the same in the database, and need opposite treatment:

    died before the dot was written   the server discarded the message  -> send it again
    died after the dot was written    the server has it                 -> do not

The journal tells them apart. Just before each dot is handed to the kernel, the attempt
(``message-id:attempt``, so a retry is a new entry) is appended to a file of this worker's
own: one ``write(2)`` on an ``O_APPEND`` descriptor,
which the kernel keeps when the process is killed (no ``fsync`` needed for that; a power
loss is the end of this doc). A worker that later finds the message
still "sending" (or, on SQLite, where the journal alone is the mark, takes its job over
from the dead worker) reads that worker's journal: listed there, the dot went out
(delivered, unconfirmed); not listed, it never did (sent again).

What is left is RFC 1047's window, as small as two system calls can make it: SIGKILL takes
effect when a system call returns, so a kill that lands during the journal's ``write`` or in
the microsecond before the dot's ``send`` begins leaves a message listed but not sent,
counted delivered. (The other order would leave the whole ``send``, several times longer,
as a window for sending twice.) Without the journal (another host's worker, or none
configured) a message marked in flight in the database counts as delivered, unconfirmed.

Two files per worker, used in turn: on switching, the other file is emptied first. A switch
waits until every message listed in the other file has its outcome in the database.

A power loss or a kernel crash (not a kill) loses what the kernel had not yet written out.
Two things are synced so that it can only lead to sending again, never to losing a message:

- the directory, each time a file is opened (created, or emptied on a switch): a journal
  whose file vanished reads as "no journal here" (None), and on PostgreSQL every message
  its worker had marked "sending" would count as delivered, sent or not (fsync(2): syncing
  a file does not sync the directory entry that names it);
- a retraction: lost, it would leave listed a message whose dot never went out.

The lines themselves are not synced before each dot: a sync per final dot (or per group of
dots) would put a disk flush into every SMTP transaction. A power loss that takes the last
lines with it therefore makes their messages "not listed": sent again, so a recipient may
get a message twice (RFC 1047's duplicate, the failure an SMTP client is allowed). Beyond
RFC 1047's window above, a power loss here cannot lose a message. The outcomes and the
claims the takeover reads are database commits, durable before anyone is told
(storage.engine).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from pathlib import Path

#: Seconds between switches of a worker's two files (the entries they hold are recorded
#: within about a second; a minute is plenty).
SWITCH_AFTER = 60.0
#: Journals of workers gone this long are deleted.
STALE_AFTER = 7 * 86400.0


def _stem(worker: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", worker)


def paths(directory: Path, worker: str) -> tuple[Path, Path]:
    stem = _stem(worker)
    return directory / f"{stem}.0.journal", directory / f"{stem}.1.journal"


class Journal:
    """The journal this worker writes."""

    def __init__(self, directory: str | os.PathLike[str], worker: str) -> None:
        self.directory = Path(directory)
        self.worker = worker
        self.directory.mkdir(parents=True, exist_ok=True)
        self._paths = paths(self.directory, worker)
        self._current = 0
        self._fd = self._open(0)
        self._switched = time.monotonic()
        self._unsettled: tuple[set[str], set[str]] = (set(), set())
        self.clean(STALE_AFTER)

    def _open(self, n: int) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self._paths[n], flags, 0o600)
        # The new (or emptied) file's name, synced (see the module doc). At the start and
        # then at most once per SWITCH_AFTER.
        directory = os.open(self.directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return fd

    def append(self, ids: Iterable[str]) -> None:
        """Note that the final dots of these messages are being written (one system call)."""
        ids = list(ids)
        os.write(self._fd, "".join(f"{i}\n" for i in ids).encode("ascii"))
        self._unsettled[self._current].update(ids)

    def retract(self, ids: Iterable[str]) -> None:
        """The dots of these messages could not be written after all (the connection had
        broken): note so, for a kill before their outcome is recorded."""
        ids = list(ids)
        os.write(self._fd, "".join(f"-{i}\n" for i in ids).encode("ascii"))
        # Synced (see the module doc); rare: a connection that broke just before its dot.
        os.fsync(self._fd)

    def settled(self, ids: Iterable[str]) -> None:
        """These messages' outcomes are in the database; switch files when it is time and
        the other file lists nothing unsettled."""
        for i in ids:
            self._unsettled[0].discard(i)
            self._unsettled[1].discard(i)
        other = 1 - self._current
        now = time.monotonic()
        if now - self._switched >= SWITCH_AFTER and not self._unsettled[other]:
            fd = self._open(other)
            os.close(self._fd)
            self._fd, self._current, self._switched = fd, other, now

    def close(self) -> None:
        """Stop writing; the files go when every listed message is settled (a clean stop),
        and stay for the next start to read otherwise."""
        os.close(self._fd)
        if not any(self._unsettled):
            for path in self._paths:
                path.unlink(missing_ok=True)

    def clean(self, older_than: float) -> None:
        """Delete other workers' journals not written for ``older_than`` seconds."""
        cutoff = time.time() - older_than
        mine = set(self._paths)
        for path in self.directory.glob("*.journal"):
            try:
                if path not in mine and path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue


def written(directory: str | os.PathLike[str], worker: str) -> set[str] | None:
    """The ids ``worker`` noted as sent, or None when its journal is not here."""
    found: set[str] | None = None
    for path in paths(Path(directory), worker):
        try:
            text = path.read_text("ascii", errors="replace")
        except FileNotFoundError:
            continue
        lines = [line for line in text.split("\n") if line]
        retracted = {line[1:] for line in lines if line.startswith("-")}
        found = (found or set()) | ({line for line in lines if not line.startswith("-")}
                                    - retracted)
    return found


__all__ = ["Journal", "paths", "written"]

"""Parser processes: the pure parser run beside the service, each message within a budget.

The parser (bounceloop.parsing) is pure CPU; in a thread of the service it would take the
interpreter lock from the SMTP server's event loop (bench/inbound.py measured about twice
the accepted bounces a second with a process), and nothing could stop a parse that runs too
long. So :class:`ParserPool` parses in spawned processes, and bounds each message twice:

- in the parser process, a SIGALRM timer of ``BOUNCELOOP_PARSE_TIMEOUT`` seconds raises
  inside the parse (:func:`parse_within`): the message is recorded as failed to parse and
  the next one is read. Only the parser runs in that process, so interrupting it
  anywhere leaves nothing half done.
- in the parent, a batch has its budgets and some seconds of grace: a stall the timer
  cannot reach (a signal is handled between bytecodes; one long C call, such as a
  backtracking regular expression, outlasts it) gets the process killed, and the batch is
  read again one message at a time in fresh processes, so that only the message at fault
  is lost. A message that kills its parser process is found the same way.

Parsing is linear in the message size (bench/adversarial.py): the budget is for what slips
past that, not for normal mail.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

from bounceloop import orphans
from bounceloop.core.severity import Convention
from bounceloop.parsing import Result, parse

log = logging.getLogger(__name__)

#: Records of one returned message that are kept: a DSN lists one block per recipient of
#: one transaction, and no MTA takes more than a few hundred recipients in one (RFC 5321
#: 4.5.3.1.8 asks for 100; Postfix's smtpd_recipient_limit is 1000). Past this a message
#: is hostile or broken, and its other records are counted, not carried between processes.
MAX_RECORDS = 1000
#: Seconds a parser process may run past the budgets of a batch before it is stopped.
GRACE = 5.0
#: Seconds between repeats of the budget's alarm once it has gone off: an exception raised
#: by a signal handler is lost when the handler runs inside a finaliser or a garbage
#: collection callback (Python reports it as unraisable and goes on), so it is raised
#: again until it reaches the parse.
_AGAIN = 0.01


@dataclass(frozen=True, slots=True)
class Parsed:
    """The parser's result as processing takes it: at most MAX_RECORDS records, and how
    many the message had."""

    result: Result
    total: int

    @classmethod
    def of(cls, result: Result) -> Parsed:
        total = len(result.records)
        if total > MAX_RECORDS:
            result = replace(result, records=result.records[:MAX_RECORDS])
        return cls(result, total)

    @classmethod
    def failed(cls, why: str) -> Parsed:
        return cls(Result(error=why), 0)


def _over(seconds: float, how: str = "") -> str:
    return (f"parsing took longer than its budget of {seconds:g} s "
            f"(BOUNCELOOP_PARSE_TIMEOUT){how}: not read")


class _Overrun(BaseException):
    """The parse budget ran out. A BaseException: the parser turns every Exception of its
    own into an error result, and this one must get past that to :func:`parse_within`."""


def parse_within(raw: bytes, convention: Convention, seconds: float) -> Parsed:
    """Parse one message within ``seconds`` of wall time (0: no limit); over it, a failed
    result that says so. For a parser process's main thread (a signal timer)."""
    if seconds <= 0:
        return Parsed.of(parse(raw, convention))
    armed = [True]

    def alarm(signum: int, frame: object) -> None:
        if armed[0]:
            signal.setitimer(signal.ITIMER_REAL, _AGAIN)
            raise _Overrun

    previous = signal.signal(signal.SIGALRM, alarm)
    start = time.monotonic()
    result: Result | None = None
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            result = parse(raw, convention)
        finally:
            armed[0] = False  # first: from here on the alarm raises nothing
    except _Overrun:  # raised in the parse, or just before the line above
        result = None
    armed[0] = False
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
    if result is None or (time.monotonic() - start > seconds and not result.error):
        # Over its budget (the last case: the alarm's exception was lost, see _AGAIN,
        # until the parse had ended - over is over).
        return Parsed.failed(_over(seconds))
    return Parsed.of(result)


def parse_all(raws: Sequence[bytes], convention: Convention, seconds: float = 0.0
              ) -> list[Parsed]:
    """The parser over many messages, each within its budget: what a parser process runs
    (picklable)."""
    return [parse_within(raw, convention, seconds) for raw in raws]


Target = Callable[[Sequence[bytes], Convention, float], list[Parsed]]


class ParserPool:
    """Parser processes, started when first needed; :meth:`parse` blocks (call it from a
    thread in the event loop's process)."""

    def __init__(self, processes: int, convention: Convention, budget: float,
                 target: Target = parse_all) -> None:
        self.processes = max(1, processes)
        self.convention = convention
        self.budget = budget
        self.target = target
        """What a parser process runs over a batch: :func:`parse_all` (a test may give a
        function that misbehaves as only a real parser bug would)."""
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _start(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn, not fork: the service has threads and an event loop running.
                self._pool = ProcessPoolExecutor(
                    self.processes, mp_context=multiprocessing.get_context("spawn"),
                    initializer=orphans.guard, initargs=(os.getpid(),))
            return self._pool

    def _stop(self) -> None:
        """Stop the parser processes now, a stuck one too (shutdown alone waits for it)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        for proc in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(OSError):
                proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, raws: Sequence[bytes]) -> Future[list[Parsed]]:
        return self._start().submit(self.target, list(raws), self.convention, self.budget)

    def warm(self) -> None:
        """Start the parser processes and have them load the parser now, so that the first
        returned message does not wait for that (blocks: about a second of a spawned
        interpreter importing bounceloop.parsing)."""
        with contextlib.suppress(BrokenProcessPool):
            self._submit([]).result()

    def parse(self, raws: Sequence[bytes]) -> list[Parsed]:
        """Every message parsed (or failed, saying why), in order."""
        if not raws:
            return []
        limit = self.budget * len(raws) + GRACE if self.budget > 0 else None
        try:
            return self._submit(raws).result(timeout=limit)
        except FutureTimeout:
            log.error("a batch of %d returned messages outlasted its parse budget; "
                      "parsing them one at a time", len(raws))
        except BrokenProcessPool:
            log.error("a parser process died; parsing its batch one message at a time")
        self._stop()
        out: list[Parsed] = []
        for raw in raws:
            try:
                out += self._submit([raw]).result(
                    timeout=self.budget + GRACE if self.budget > 0 else None)
            except FutureTimeout:
                self._stop()
                out.append(Parsed.failed(_over(self.budget, "; its parser process was "
                                                            "stopped")))
            except BrokenProcessPool:
                self._stop()
                out.append(Parsed.failed("its parser process died on it: not read"))
        return out

    def close(self) -> None:
        """Stop the parser processes, letting them finish what they are doing."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

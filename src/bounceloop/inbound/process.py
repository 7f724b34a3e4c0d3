"""Processing a stored returned message: parse, tie to the original, write rows and events.

Per message (a ``bounce`` job of the outbox, or a reprocessing)::

    parse(raw)                                 the pure parser (bounceloop.parsing)
    tie each record to a message we sent       inbound.correlate: VERP, headers, ENVID, ...
    always        a ``bounce`` event            every returned message, recognised or not
    failure       error row (state bounce, step 5, errortype mailerror) + ``failure`` event
    delay         a ``delay`` event (recorded; not a failure)
    delivery      a ``report`` event (a DSN saying delivered/relayed/expanded)
    complaint     a ``complaint`` event (ARF)
    autoreply     error row with errortype mailmessage + ``autoreply`` event; never a failure
    unrecognised  error row with errortype mailmessage (spec section 1.5)

:func:`process` computes all of it from the stored message and a lookup, writing nothing;
:func:`run_batch` loads, processes and saves a batch (storage.received.save_many keeps
it idempotent). :class:`Processor` runs batches in the service, off the event loop.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from bounceloop.config import Settings
from bounceloop.core.address import domain_of
from bounceloop.core.model import BOUNCE_STATE, Bounce, Kind
from bounceloop.core.severity import Convention
from bounceloop.core.suppression import Policy
from bounceloop.inbound import correlate
from bounceloop.inbound.correlate import Lookup, Tie
from bounceloop.inbound.lookup import DatabaseLookup
from bounceloop.observability.logs import fields
from bounceloop.observability.metrics import Metrics
from bounceloop.parsing import Result, parse
from bounceloop.storage import events, outbox
from bounceloop.storage import received as store
from bounceloop.storage.engine import utcnow

log = logging.getLogger(__name__)

#: The spec's error types of asynchronous rows (section 1.5).
MAILERROR = "mailerror"
MAILMESSAGE = "mailmessage"
STEP = 5
#: The status of a stored message that is an earlier one sent again (store.Stored.copy_of).
DUPLICATE = "duplicate"

_EVENT_OF_KIND = {Kind.DELAY: "delay", Kind.DELIVERY: "report", Kind.COMPLAINT: "complaint"}


@dataclass(frozen=True, slots=True)
class Context:
    """What processing needs of the settings."""

    domains: tuple[str, ...]
    secret: str
    convention: Convention
    policy: Policy = field(default_factory=Policy)
    """The suppression rules run on what is saved."""

    @classmethod
    def of(cls, settings: Settings) -> Context:
        return cls(tuple(settings.accepted_domains), settings.verp_secret.get_secret_value(),
                   settings.severity_convention, settings.suppression_policy())


def process(stored: store.Stored, ctx: Context, lookup: Lookup,
            now: datetime, parsed: Result | None = None) -> store.Processed:
    """What one stored message means (nothing is written here); ``parsed`` is the
    parser's result when it was run elsewhere (a worker process)."""
    result = parsed if parsed is not None else parse(stored.raw, ctx.convention)
    verp = correlate.envelope(stored.rcpts, ctx.domains, ctx.secret)
    verp_id = verp[1] if verp else None
    ties = [correlate.tie(verp_id, correlate.clues_of(r, lookup), lookup)
            for r in result.records]
    if ties:
        main = next((t for t in ties if t.sent), ties[0])
    else:
        main = correlate.tie(verp_id, correlate.clues_in_raw(stored.raw), lookup)
    first = next((r for r in result.records if r.kind == Kind.FAILURE),
                 result.records[0] if result.records else None)
    sent = main.sent
    recipient = sent.recipient if sent else (first.recipient if first else "")
    envelope = verp[0] if verp else (stored.rcpts[0] if stored.rcpts else "")
    out = store.Processed(
        id=stored.id, status="failed" if result.error else "processed",
        message_id=sent.id if sent else None, mailing_id=sent.mailing_id if sent else None,
        recipient=recipient or None, tied_by=main.by, detector=result.detector,
        kind=first.kind if first else Kind.UNRECOGNIZED, error=result.error or None)
    rid = stored.id
    out.events.append(_event(now, "bounce", f"bounce:r{rid}", main, recipient, {
        "envelope": envelope, "mail_from": stored.mail_from, "received": rid,
        "received_at": stored.received_at.isoformat(), "kind": out.kind,
        "detector": result.detector, "tied_by": main.by, "size": len(stored.raw)}))
    for record, t in zip(result.records, ties, strict=True):
        rcpt = record.recipient or (t.sent.recipient if t.sent else "")
        facts = _facts(record)
        if record.kind == Kind.FAILURE:
            out.errors.append(_error(stored, t, rcpt, record, MAILERROR))
            out.events.append(_event(now, "failure", f"failure:r{rid}:{rcpt}", t, rcpt, {
                **facts, "action": "failed", "state": BOUNCE_STATE, "step": STEP,
                "errortype": MAILERROR, "received": rid}))
        elif record.kind == Kind.AUTOREPLY:
            out.errors.append(_error(stored, t, rcpt, record, MAILMESSAGE))
            out.events.append(_event(now, "autoreply", f"autoreply:r{rid}", t, rcpt,
                                     {**facts, "received": rid}))
        elif record.kind in _EVENT_OF_KIND:
            kind = _EVENT_OF_KIND[Kind(record.kind)]
            out.events.append(_event(now, kind, f"{kind}:r{rid}:{rcpt}", t, rcpt,
                                     {**facts, "received": rid}))
    if not result.records:
        out.errors.append(_error(stored, main, recipient, None, MAILMESSAGE))
    if stored.copy_of is not None:
        # The same message again: tied as its first copy is, but it is that copy's error
        # rows and events, not new ones (the statistics count each bounce once).
        out = replace(out, status=DUPLICATE, errors=[], events=[],
                      error=f"a copy of returned message {stored.copy_of}, sent again")
    return out


def _facts(r: Bounce) -> dict[str, Any]:
    return {"action": r.action, "code": r.code, "extended": r.extended,
            "description": r.description, "reason": r.reason, "severity": r.severity,
            "hardbounce": r.hardbounce, "remote_mta": r.remote_mta,
            "feedback_type": r.feedback_type, "detector": r.detector,
            "original_recipient": r.original_recipient}


def _event(now: datetime, kind: str, key: str, t: Tie, recipient: str,
           data: dict[str, Any]) -> dict[str, Any]:
    sent = t.sent
    body = {"id": sent.id if sent else "", "recipient": recipient,
            "mailing": sent.mailing_id if sent else None,
            "tags": list(sent.tags) if sent else [], **data}
    return events.row(time=now, type=kind, key=key[:400], message_id=sent.id if sent else None,
                      mailing_id=sent.mailing_id if sent else None, recipient=recipient,
                      data=body)


def _error(stored: store.Stored, t: Tie, recipient: str, r: Bounce | None,
           errortype: str) -> dict[str, Any]:
    sent = t.sent
    return {
        "timestamp": stored.received_at, "message_id": sent.id if sent else None,
        "mailing_id": sent.mailing_id if sent else None, "recipient": recipient,
        "code": (r.code or None) if r else None, "extended": (r.extended or None) if r else None,
        "description": r.description if r else "", "errortype": errortype, "step": STEP,
        "state": BOUNCE_STATE, "severity": r.severity if r else "",
        "reason": r.reason if r else "", "hardbounce": r.hardbounce if r else False,
        "domain": domain_of(recipient) or None,
    }


@dataclass(frozen=True, slots=True)
class BatchResult:
    processed: int
    changed: int
    kinds: tuple[tuple[str, str], ...] = ()
    """(kind, reason of its first error row) per message processed."""


def _orphan_guard(parent: int) -> None:
    """In a parser process: die with the service, even when it is SIGKILLed (it cannot
    shut its pool down then). Linux delivers SIGKILL at the parent's death (prctl
    PR_SET_PDEATHSIG); elsewhere a thread watches for the parent to change."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="orphan-guard", daemon=True).start()


def parse_all(raws: Sequence[bytes], convention: Convention) -> list[Result]:
    """The parser over many messages: what a worker process runs (pure, picklable)."""
    return [parse(raw, convention) for raw in raws]


def load(db: Engine, ids: Sequence[int]) -> list[store.Stored]:
    with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return store.load(conn, ids)


def tie_all(db: Engine, ctx: Context, stored: Sequence[store.Stored],
            parsed: Sequence[Result] | None, now: datetime) -> list[store.Processed]:
    """Tie and build the rows of parsed messages (parsing here when ``parsed`` is None)."""
    with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        lookup = DatabaseLookup(conn)
        if parsed is None:
            return [process(s, ctx, lookup, now) for s in stored]
        return [process(s, ctx, lookup, now, p) for s, p in zip(stored, parsed, strict=True)]


def compute(db: Engine, ctx: Context, ids: Sequence[int], now: datetime
            ) -> list[store.Processed]:
    """Load and process these stored messages in read transactions (writes nothing)."""
    return tie_all(db, ctx, load(db, ids), None, now)


def write(db: Engine, results: Sequence[store.Processed], now: datetime,
          settle: Callable[[Connection], object] | None = None,
          policy: Policy | None = None) -> BatchResult:
    """Save processing results in one transaction, running the suppression rules
    (``policy``) on them; ``settle(conn)`` runs in it too (the caller completes its jobs
    there)."""
    with db.begin() as conn:
        changed = store.save_many(conn, results, now, policy)
        if settle is not None:
            settle(conn)
    kinds = tuple((p.kind, p.errors[0]["reason"] if p.errors else "") for p in results)
    return BatchResult(len(results), changed, kinds)


def run_batch(db: Engine, ctx: Context, ids: Sequence[int],
              clock: Callable[[], datetime] = utcnow,
              settle: Callable[[Connection], object] | None = None) -> BatchResult:
    """Load, process and save these stored messages (see :func:`compute`, :func:`write`)."""
    now = clock()
    return write(db, compute(db, ctx, ids, now), now, settle, ctx.policy)


def _log_processed(r: store.Processed) -> None:
    """The returned-mail log: one line per stored message processed, after its commit."""
    first = r.errors[0] if r.errors else {}
    log.log(logging.WARNING if r.status == "failed" else logging.INFO,
            "returned mail unreadable" if r.status == "failed" else
            f"returned {r.kind} (a copy)" if r.status == DUPLICATE else f"returned {r.kind}",
            extra=fields(received_id=r.id, message_id=r.message_id,
                         recipient=r.recipient, mailing_id=r.mailing_id, kind=r.kind,
                         detector=r.detector or None, tied_by=r.tied_by or None,
                         reason=first.get("reason"), code=first.get("code"),
                         extended=first.get("extended"), error=r.error))


class Processor:
    """Takes ``bounce`` jobs from the outbox and processes them, batch by batch."""

    def __init__(self, settings: Settings, db: Engine, worker: str, *,
                 metrics: Metrics | None = None, batch: int = 200,
                 clock: Callable[[], datetime] = utcnow,
                 writes: asyncio.Lock | None = None,
                 parse_processes: int = 0) -> None:
        self.settings = settings
        self.db = db
        self.worker = worker
        self.metrics = metrics
        self.batch = batch
        self.clock = clock
        self.ctx = Context.of(settings)
        self.wake = asyncio.Event()
        """Set by the inbound server when it stored a message: no need to wait for a poll."""
        self.writes = writes or asyncio.Lock()
        """Shared with the inbound server's Inbox (see there): one writer at a time."""
        self.parse_processes = parse_processes
        """Processes to parse in: the parser is pure CPU, and in a thread it would take
        the interpreter lock from the SMTP server's event loop (measured: bench/inbound.py
        accepts about twice as many bounces a second with one). 0: a thread."""
        self._pool: ProcessPoolExecutor | None = None

    def _claim(self) -> list[outbox.Job]:
        return outbox.claim(self.db, [store.PROCESS], self.worker, self.batch,
                            self.settings.job_lease, self.clock())

    def _write(self, jobs: list[outbox.Job], results: list[store.Processed],
               now: datetime) -> int:
        job_ids = [j.id for j in jobs]
        result = write(self.db, results, now,
                       lambda conn: outbox.complete_many(conn, job_ids, self.worker),
                       self.ctx.policy)
        if self.metrics is not None:
            for kind, reason in result.kinds:
                self.metrics.bounces.labels(kind, reason).inc()
        if log.isEnabledFor(logging.INFO):
            for r in results:
                _log_processed(r)
        return len(jobs)

    @staticmethod
    def _ids(jobs: list[outbox.Job]) -> list[int]:
        return [int(j.ref) for j in jobs if j.ref and j.ref.isdigit()]

    def run_once(self) -> int:
        """One batch (blocking): the number of jobs handled."""
        jobs = self._claim()
        if not jobs:
            return 0
        now = self.clock()
        return self._write(jobs, compute(self.db, self.ctx, self._ids(jobs), now), now)

    async def round(self) -> int:
        """One batch, off the event loop; the two writes (claim, save) take turns with
        the inbound server's under :attr:`writes`, the parsing does not."""
        async with self.writes:
            jobs = await asyncio.to_thread(self._claim)
        if not jobs:
            return 0
        now = self.clock()
        if self.parse_processes <= 0:
            results = await asyncio.to_thread(compute, self.db, self.ctx, self._ids(jobs), now)
        else:
            stored = await asyncio.to_thread(load, self.db, self._ids(jobs))
            parsed = await self._parse([s.raw for s in stored])
            results = await asyncio.to_thread(tie_all, self.db, self.ctx, stored, parsed, now)
        async with self.writes:
            return await asyncio.to_thread(self._write, jobs, results, now)

    async def _parse(self, raws: list[bytes]) -> list[Result] | None:
        """Parse in the pool; None (parse in a thread instead) if its process died: a new
        pool is started for the next round."""
        if self._pool is None:
            # spawn, not fork: this process has threads and an event loop running.
            self._pool = ProcessPoolExecutor(
                self.parse_processes, mp_context=multiprocessing.get_context("spawn"),
                initializer=_orphan_guard, initargs=(os.getpid(),))
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, parse_all, raws, self.ctx.convention)
        except BrokenProcessPool:
            log.error("a parser process died; starting a new one")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            return None

    def close(self) -> None:
        """Stop the parser processes (if any)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: process what is due, else wait for a wake-up or the poll."""
        backoff = self.settings.poll_interval
        while not stop.is_set():
            self.wake.clear()  # before the round: a message stored during it wakes the next
            try:
                handled = await self.round()
                backoff = self.settings.poll_interval
            except SQLAlchemyError as exc:
                log.error("processing returned mail failed (retrying in %.0f s): %s",
                          backoff, exc)
                handled = 0
                backoff = min(backoff * 2, 60.0)
            if handled >= self.batch:
                continue
            waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())}
            _, rest = await asyncio.wait(waiters, timeout=backoff,
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in rest:
                task.cancel()

"""Processing a stored returned message: parse, tie to the original, write rows and events.

Per message (a ``bounce`` job of the outbox, or a reprocessing)::

    parse(raw)                     the pure parser (bounceloop.parsing), in a parser process
                                   under a time budget (inbound.parser)
    judge the records              inbound.correlate: which records act on which message we
                                   sent (a signed tie: VERP, our header, ENVID, Message-ID)
    always        a ``bounce`` event, ``tied`` 1 or 0: every returned message
    for each record that acts, against the recipient of *our* message:
      failure     error row (state bounce, step 5, errortype mailerror) + ``failure`` event
      delay       a ``delay`` event (recorded; not a failure)
      delivery    a ``report`` event (a DSN saying delivered/relayed/expanded)
      complaint   a ``complaint`` event (ARF)
      autoreply   error row with errortype mailmessage + ``autoreply`` event; never a failure
    unrecognised  error row with errortype mailmessage (spec section 1.5)
    evidence      records that do not act (untied, another address, a message's second
                  record): up to EVIDENCE_ROWS failure rows marked untied, with no recipient
                  of record - the address the report named is kept as reported_recipient.
                  They count nowhere: no event, no statistics, no suppression, no selection.

An untied message that yields no such row gets one untied mailmessage row, so every
returned message is listed in the Errors view (filter: tied).

:func:`process` computes all of it from the stored message and a lookup, writing nothing;
:func:`run_batch` loads, processes and saves a batch (storage.received.save_many keeps
it idempotent). :class:`Processor` runs batches in the service, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import EllipsisType
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from bounceloop.config import Settings
from bounceloop.core.address import domain_of
from bounceloop.core.model import BOUNCE_STATE, Bounce, Kind
from bounceloop.core.severity import Convention
from bounceloop.core.suppression import Policy
from bounceloop.inbound import correlate
from bounceloop.inbound.correlate import Lookup, Sent
from bounceloop.inbound.feedback import FeedbackTrust
from bounceloop.inbound.lookup import DatabaseLookup
from bounceloop.inbound.parser import Parsed, ParserPool
from bounceloop.observability.logs import fields
from bounceloop.observability.metrics import Metrics
from bounceloop.parsing import parse
from bounceloop.storage import events, outbox
from bounceloop.storage import received as store
from bounceloop.storage.doorbell import LOOK_SECONDS, Doorbell
from bounceloop.storage.engine import utcnow

log = logging.getLogger(__name__)

#: The spec's error types of asynchronous rows (section 1.5).
MAILERROR = "mailerror"
MAILMESSAGE = "mailmessage"
STEP = 5
#: The status of a stored message that is an earlier one sent again (store.Stored.copy_of).
DUPLICATE = "duplicate"
#: Untied failure records kept as error rows (evidence) of one returned message: one forged
#: DSN of 100,000 blocks must not write 100,000 rows while other sessions wait to commit.
EVIDENCE_ROWS = 100

_EVENT_OF_KIND = {Kind.DELAY: "delay", Kind.DELIVERY: "report", Kind.COMPLAINT: "complaint"}


@dataclass(frozen=True, slots=True)
class Context:
    """What processing needs of the settings."""

    domains: tuple[str, ...]
    secret: str
    convention: Convention
    policy: Policy = field(default_factory=Policy)
    """The suppression rules run on what is saved."""
    parse_timeout: float = 0.0
    """Seconds one message may take to parse (0: no limit); see inbound.parser."""
    feedback: FeedbackTrust | None = None
    """The feedback loops whose signed complaints tie by the address they name (None:
    none, the default)."""

    @classmethod
    def of(cls, settings: Settings) -> Context:
        domains = settings.trusted_feedback_domains
        return cls(tuple(settings.accepted_domains), settings.verp_secret.get_secret_value(),
                   settings.severity_convention, settings.suppression_policy(),
                   settings.parse_timeout,
                   FeedbackTrust(domains, settings.dns_server_addresses, settings.dns_timeout)
                   if domains else None)


def process(stored: store.Stored, ctx: Context, lookup: Lookup,
            now: datetime, parsed: Parsed | None = None, *,
            verp: tuple[str, str] | EllipsisType | None = ...) -> store.Processed:
    """What one stored message means (nothing is written here); ``parsed`` is the
    parser's result when it was run elsewhere (a worker process); ``verp``, its
    :func:`correlate.envelope` when the caller read it already."""
    if parsed is None:
        parsed = Parsed.of(parse(stored.raw, ctx.convention))
    result = parsed.result
    records = result.records
    if isinstance(verp, EllipsisType):
        verp = correlate.envelope(stored.rcpts, ctx.domains, ctx.secret)
    text = stored.raw.decode("latin-1")
    verp_id = verp[1] if verp else None
    v = correlate.judge(records, verp_id, text, ctx.secret, lookup)
    if (not v.tied and ctx.feedback is not None
            and any(r.kind == Kind.COMPLAINT for r in records)
            and ctx.feedback.signer(stored.raw)):
        # A complaint signed by a feedback loop the operator trusts (inbound.feedback).
        v = correlate.judge(records, verp_id, text, ctx.secret, lookup,
                            trusted_complaint=True)
    sent = v.sent
    main = next((a for a in v.acts if a.sent is sent), None)
    first = records[main.index] if main is not None else next(
        (r for r in records if r.kind == Kind.FAILURE), records[0] if records else None)
    reported = (main.reported if main is not None
                else _address(first.recipient) if first is not None and sent is None else "")
    envelope = verp[0] if verp else (stored.rcpts[0] if stored.rcpts else "")
    out = store.Processed(
        id=stored.id, status="failed" if result.error else "processed",
        message_id=sent.id if sent else None, mailing_id=sent.mailing_id if sent else None,
        recipient=sent.recipient if sent else None, tied_by=v.by, detector=result.detector,
        kind=first.kind if first else Kind.UNRECOGNIZED, error=result.error or None,
        reported_recipient=reported or None, hint_message_id=v.hint.id if v.hint else None,
        hint_by=v.hint_by, records=parsed.total)
    rid = stored.id
    out.events.append(_event(now, "bounce", f"bounce:r{rid}", sent, {
        "envelope": envelope, "mail_from": stored.mail_from, "received": rid,
        "received_at": stored.received_at.isoformat(), "kind": out.kind,
        "detector": result.detector, "tied_by": v.by, "tied": int(v.tied),
        "reported_recipient": reported, "hint": v.hint.id if v.hint else "",
        "records": parsed.total, "size": len(stored.raw),
        # Why: the first record's reason and the rule that decided it (issue 18 item 6).
        "reason": first.reason if first else "", "rule": first.rule if first else "",
        "matched": first.matched if first else "", "expired": bool(first and first.expired)}))
    for act in v.acts:
        record, rcpt = records[act.index], act.sent.recipient
        facts = {**_facts(record), "reported_recipient": act.reported, "tied_by": act.by}
        if record.kind == Kind.FAILURE:
            out.errors.append(_error(stored, act.sent, record, MAILERROR, act.reported))
            out.events.append(_event(now, "failure", f"failure:r{rid}:{rcpt}", act.sent, {
                **facts, "action": "failed", "state": BOUNCE_STATE, "step": STEP,
                "errortype": MAILERROR, "received": rid}))
        elif record.kind == Kind.AUTOREPLY:
            out.errors.append(_error(stored, act.sent, record, MAILMESSAGE, act.reported))
            out.events.append(_event(now, "autoreply", f"autoreply:r{rid}", act.sent,
                                     {**facts, "received": rid}))
        elif record.kind in _EVENT_OF_KIND:
            kind = _EVENT_OF_KIND[Kind(record.kind)]
            out.events.append(_event(now, kind, f"{kind}:r{rid}:{rcpt}", act.sent,
                                     {**facts, "received": rid}))
    kept = [records[i] for i in v.evidence if records[i].kind == Kind.FAILURE]
    for record in kept[:EVIDENCE_ROWS]:
        out.errors.append(_error(stored, None, record, MAILERROR, record.recipient))
    if not records:
        out.errors.append(_error(stored, sent, None, MAILMESSAGE, ""))
    elif sent is None and not kept:
        out.errors.append(_error(stored, None, first, MAILMESSAGE, reported))
    if stored.copy_of is not None:
        # The same message again: tied as its first copy is, but it is that copy's error
        # rows and events, not new ones (the statistics count each bounce once).
        out = replace(out, status=DUPLICATE, errors=[], events=[],
                      error=f"a copy of returned message {stored.copy_of}, sent again")
    return out


def _address(text: str) -> str:
    """An address a report named, as kept for display: bounded like the column."""
    return text[:320]


def _facts(r: Bounce) -> dict[str, Any]:
    return {"action": r.action, "code": r.code, "extended": r.extended,
            "description": r.description, "reason": r.reason, "severity": r.severity,
            "hardbounce": r.hardbounce, "remote_mta": r.remote_mta,
            "feedback_type": r.feedback_type, "detector": r.detector,
            "original_recipient": r.original_recipient, "rule": r.rule, "matched": r.matched,
            "expired": r.expired, "status_field": r.status_field}


def _event(now: datetime, kind: str, key: str, sent: Sent | None,
           data: dict[str, Any]) -> dict[str, Any]:
    recipient = sent.recipient if sent else ""
    body = {"id": sent.id if sent else "", "recipient": recipient,
            "mailing": sent.mailing_id if sent else None,
            "tags": list(sent.tags) if sent else [], **data}
    return events.row(time=now, type=kind, key=key[:400], message_id=sent.id if sent else None,
                      mailing_id=sent.mailing_id if sent else None, recipient=recipient,
                      data=body)


def _error(stored: store.Stored, sent: Sent | None, r: Bounce | None, errortype: str,
           reported: str) -> dict[str, Any]:
    """An error row: against our recipient when ``sent`` (tied), else against no address
    (evidence; ``reported`` says what the report named)."""
    recipient = sent.recipient if sent else ""
    return {
        "timestamp": stored.received_at, "message_id": sent.id if sent else None,
        "mailing_id": sent.mailing_id if sent else None, "recipient": recipient,
        "code": (r.code or None) if r else None, "extended": (r.extended or None) if r else None,
        "description": r.description if r else "", "errortype": errortype, "step": STEP,
        "state": BOUNCE_STATE, "severity": r.severity if r else "",
        "reason": r.reason if r else "", "hardbounce": r.hardbounce if r else False,
        "domain": domain_of(recipient) or None, "tied": sent is not None,
        "reported_recipient": _address(reported) or None,
        "rule": (r.rule or None) if r else None, "matched": (r.matched or None) if r else None,
        "detector": (r.detector or None) if r else None,
        "expired": r.expired if r else False,
        "status_field": (r.status_field or None) if r else None,
    }


@dataclass(frozen=True, slots=True)
class BatchResult:
    processed: int
    changed: int
    kinds: tuple[tuple[str, str], ...] = ()
    """(kind, reason of its first error row) per message processed."""


def load(db: Engine, ids: Sequence[int]) -> list[store.Stored]:
    with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return store.load(conn, ids)


def tie_all(db: Engine, ctx: Context, stored: Sequence[store.Stored],
            parsed: Sequence[Parsed] | None, now: datetime) -> list[store.Processed]:
    """Tie and build the rows of parsed messages (parsing here when ``parsed`` is None)."""
    # Each VERP address is checked once (an HMAC), for the prefetch and for process.
    verps = [correlate.envelope(s.rcpts, ctx.domains, ctx.secret) for s in stored]
    with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        lookup = DatabaseLookup(conn)
        lookup.prefetch(v[1] for v in verps if v)
        return [process(s, ctx, lookup, now, None if parsed is None else parsed[i],
                        verp=verps[i]) for i, s in enumerate(stored)]


def compute(db: Engine, ctx: Context, ids: Sequence[int], now: datetime,
            parser: ParserPool | None = None) -> list[store.Processed]:
    """Load and process these stored messages in read transactions (writes nothing),
    parsing them in ``parser``'s processes (None: here, with no time budget)."""
    stored = load(db, ids)
    parsed = parser.parse([s.raw for s in stored]) if parser is not None else None
    return tie_all(db, ctx, stored, parsed, now)


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
              settle: Callable[[Connection], object] | None = None,
              parser: ParserPool | None = None) -> BatchResult:
    """Load, process and save these stored messages (see :func:`compute`, :func:`write`)."""
    now = clock()
    return write(db, compute(db, ctx, ids, now, parser), now, settle, ctx.policy)


def _log_processed(r: store.Processed) -> None:
    """The returned-mail log: one line per stored message processed, after its commit."""
    first = r.errors[0] if r.errors else {}
    log.log(logging.WARNING if r.status == "failed" else logging.INFO,
            "returned mail unreadable" if r.status == "failed" else
            f"returned {r.kind} (a copy)" if r.status == DUPLICATE else
            f"returned {r.kind}" if r.message_id else f"returned {r.kind}, untied",
            extra=fields(received_id=r.id, message_id=r.message_id,
                         recipient=r.recipient, mailing_id=r.mailing_id, kind=r.kind,
                         detector=r.detector or None, tied_by=r.tied_by or None,
                         reported_recipient=r.reported_recipient,
                         reason=first.get("reason"), code=first.get("code"),
                         extended=first.get("extended"), error=r.error))


#: Seconds between rounds while returned mail keeps arriving (see :meth:`Processor.run`):
#: short enough that processing follows close behind, long enough that a batch gathers
#: more than a few messages (each batch is a commit, and a commit is a disk sync).
BUSY_POLL = 0.2
#: Seconds without a ring after which a burst of returned mail is taken to be over.
QUIET_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class _Batch:
    """Jobs claimed, their stored messages and what the parser made of them (None: not
    parsed yet, see :func:`tie_all`)."""

    jobs: list[outbox.Job]
    stored: list[store.Stored]
    parsed: list[Parsed] | None
    now: datetime


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
        self.parser = (ParserPool(parse_processes, self.ctx.convention,
                                  self.ctx.parse_timeout) if parse_processes > 0 else None)
        """Where messages are parsed (inbound.parser), each within its budget; None: in a
        thread of this process, where no budget can stop a parse."""
        self._held: list[outbox.Job] = []
        """Jobs claimed whose processing did not commit (the database failed under it):
        the next round does them again, before claiming others - not another worker after
        the lease runs out."""

    def _claim(self, retry: bool = True) -> list[outbox.Job]:
        """Jobs to process: with ``retry``, those held after a failure if any are still
        ours, else new ones (added to those held until their results commit)."""
        if retry and self._held:
            # Still ours? (The lease may have run out while the database was away, and
            # another worker taken them.) This write is also what finds the database back.
            with self.db.begin() as conn:
                kept = outbox.extend(conn, [j.id for j in self._held], self.worker,
                                     self.settings.job_lease, self.clock())
            self._held = [j for j in self._held if j.id in kept]
            if self._held:
                return self._held
        claimed = outbox.claim(self.db, [store.PROCESS], self.worker, self.batch,
                               self.settings.job_lease, self.clock())
        self._held = self._held + claimed
        return claimed

    def _write(self, jobs: list[outbox.Job], results: list[store.Processed],
               now: datetime) -> int:
        job_ids = [j.id for j in jobs]
        result = write(self.db, results, now,
                       lambda conn: outbox.complete_many(conn, job_ids, self.worker),
                       self.ctx.policy)
        done = set(job_ids)
        self._held = [j for j in self._held if j.id not in done]
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
        return self._write(jobs, compute(self.db, self.ctx, self._ids(jobs), now,
                                         self.parser), now)

    async def _take(self, retry: bool = True) -> _Batch:
        """Claim a batch (a write: it takes its turn under :attr:`writes`), load it and
        parse it (in the parser processes: the event loop's thread only waits)."""
        async with self.writes:
            jobs = await asyncio.to_thread(self._claim, retry)
        if not jobs:
            return _Batch([], [], None, self.clock())
        now = self.clock()
        stored = await asyncio.to_thread(load, self.db, self._ids(jobs))
        parsed = (await asyncio.to_thread(self.parser.parse, [s.raw for s in stored])
                  if self.parser is not None else None)
        return _Batch(jobs, stored, parsed, now)

    async def _finish(self, batch: _Batch) -> int:
        """Tie a taken batch and save it (the save under :attr:`writes`)."""
        results = await asyncio.to_thread(tie_all, self.db, self.ctx, batch.stored,
                                          batch.parsed, batch.now)
        async with self.writes:
            return await asyncio.to_thread(self._write, batch.jobs, results, batch.now)

    async def round(self) -> int:
        """One batch, off the event loop; the two writes (claim, save) take turns with
        the inbound server's under :attr:`writes`, the parsing does not."""
        batch = await self._take()
        return await self._finish(batch) if batch.jobs else 0

    async def warm(self) -> None:
        """Start the parser processes and have them load the parser (about a quarter of
        a second of a spawned interpreter's CPU); again: at once."""
        if self.parser is not None:
            await asyncio.to_thread(self.parser.warm)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: process what is due, else wait for a wake-up or the poll.

        While there is more to do than one batch, the next batch is claimed and parsed
        (in the parser processes) while this one is tied and saved (here): one parser
        process and this process then work at the same time, instead of in turn: a
        backlog of 3,000 unique DSNs (bench/inbound.py's) was processed at 534-599 a
        second in turn and 798-900 with the overlap, for the same CPU time (one parser
        process, 2 CPUs shared with other work; issue 17)."""
        backoff = self.settings.poll_interval
        ahead: asyncio.Task[_Batch] | None = None
        bell = Doorbell(self.db)
        await self.warm()
        try:
            while not stop.is_set():
                self.wake.clear()  # before the round: a message stored during it wakes the next
                try:
                    if ahead is not None:
                        batch, ahead = await ahead, None
                    else:
                        batch = await self._take()
                    if batch.jobs and len(batch.jobs) >= self.batch:
                        ahead = asyncio.create_task(self._take(retry=False))
                    handled = await self._finish(batch) if batch.jobs else 0
                    backoff = self.settings.poll_interval
                except SQLAlchemyError as exc:
                    if ahead is not None:
                        # Its jobs, if it claimed any, are held: the next round retries
                        # them with this batch's.
                        await asyncio.gather(ahead, return_exceptions=True)
                        ahead = None
                    log.error("processing returned mail failed (retrying in %.0f s): %s",
                              backoff, exc)
                    handled = 0
                    # Jobs held for a retry wait no longer than a few seconds for it: they
                    # are done as soon as the database answers again.
                    backoff = min(backoff * 2, 5.0 if self._held else 60.0)
                if handled >= self.batch or ahead is not None:
                    continue
                # After a round that found work, look again soon: returned mail is
                # arriving, and a batch gathers meanwhile.
                pause = min(backoff, BUSY_POLL) if handled else backoff
                await self._wait(stop, bell, pause, gathering=bool(handled))
        finally:
            bell.close()
            if ahead is not None:
                # Claimed and not processed: the service gives its jobs back as it stops
                # (outbox.release); its threads must be done before the database closes.
                await asyncio.gather(ahead, return_exceptions=True)

    async def _wait(self, stop: asyncio.Event, bell: Doorbell, pause: float,
                    gathering: bool) -> None:
        """Wait up to ``pause`` seconds, less when there is work: at stop, at a wake-up (a
        message stored by this process), or at the doorbell (one stored by another
        process: the smtp role of another ``serve`` cannot reach :attr:`wake`).

        Idle, the first ring that finds a job due ends the wait, so a returned message is
        processed within milliseconds, not at the next poll. While ``gathering`` (returned
        mail is arriving and a batch gathers), rings go on at every commit of the sender;
        once they stop for QUIET_SECONDS the burst is over, and what came is processed then
        rather than at the end of the pause."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + pause
        last_ring: float | None = None
        while not stop.is_set() and not self.wake.is_set():
            now = loop.time()
            if now >= deadline:
                return
            if bell.rang():
                last_ring = now
                if not gathering and await asyncio.to_thread(self._due):
                    return
            elif gathering and last_ring is not None and now - last_ring >= QUIET_SECONDS:
                if await asyncio.to_thread(self._due):
                    return
                last_ring = None  # the rings were of other writes: wait for the next
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(LOOK_SECONDS, deadline - now)):
                    await self.wake.wait()

    def _due(self) -> bool:
        """Whether a job is due; True when the database cannot say: the round that follows
        meets the error, logs it and backs off (run), rather than the wait ending the loop."""
        try:
            return outbox.any_due(self.db, [store.PROCESS], self.clock())
        except SQLAlchemyError:
            return True

    def close(self) -> None:
        """Stop the parser processes (if any)."""
        if self.parser is not None:
            self.parser.close()


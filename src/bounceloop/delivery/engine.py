"""The delivery engine: take due messages from the outbox and deliver them, steps 1 to 4.

One round (:meth:`Engine.run_once`)::

    claim up to N due "deliver" jobs (leased: another worker cannot take them)
      -> messages already final: settle the job (a job run twice after a lost lease)
      -> messages a killed worker may have sent (marked "sending", or its job taken over):
         delivered, unconfirmed, unless its journal shows the final dot never left
         (then delivered again; see delivery.journal)
      -> suppressed addresses and messages past their deadline: fail at once
      -> the rest, by recipient domain, concurrently:
           route (MX, step 1) -> lanes: up to max_connections_per_domain connections, each
           taking transactions from the domain's queue in turn (RSET between, a fresh
           connection after max_messages_per_connection); messages that share an
           envelope and mailing go in one transaction with many RCPTs, each RCPT
           answered on its own
      -> every result becomes an outcome (delivered / deferred to the next retry / failed),
         recorded in batches, each batch one database transaction that also settles its jobs

:meth:`Engine.run` and :meth:`Engine.drain` run rounds back to back: a full round claims
the next while it delivers, and does not wait for its own outcomes to be written. The
claims, reads and writes run in order in one database worker (delivery.database: a
thread, or a process of its own); a round whose suppression check may predate a failure
still being written checks again once it is written.

Concurrency is bounded by ``max_connections`` overall. Database calls are synchronous and
short (see storage.engine); the in-flight mark before each final dot (journal line, and on
PostgreSQL a group-committed database mark) is what makes a kill safe.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection as DBConnection
from sqlalchemy import Engine as Database
from sqlalchemy.exc import SQLAlchemyError

from bounceloop.config import Settings
from bounceloop.core import signed
from bounceloop.core.address import domain_of
from bounceloop.delivery.database import (
    INDOUBT,
    Lost,
    Round,
    Side,
    entry,
    in_doubt,
    outcome,
    worker_for,
)
from bounceloop.delivery.journal import Journal
from bounceloop.delivery.resolver import Resolver, Target
from bounceloop.delivery.result import StepResult
from bounceloop.delivery.session import Connection, Next, Timeouts, prepare
from bounceloop.observability.logs import fields
from bounceloop.observability.metrics import Metrics
from bounceloop.storage import messages as store
from bounceloop.storage.engine import is_sqlite, utcnow

if TYPE_CHECKING:
    from bounceloop.storage.inflight import Marks

log = logging.getLogger(__name__)
#: Outcomes per recording transaction: each commit is a sync (synchronous=FULL), and
#: bench/send.py measured 3,143-3,575 messages/s at 100, 3,820-3,941 at 250. A kill
#: leaves fewer than three batches "in doubt" (see _send).
RECORD_BATCH = 250


@dataclass(slots=True)
class _Transaction:
    envelope: str
    mailing_id: int
    members: list[store.Pending]


@dataclass(slots=True)
class _Copy:
    """A transaction as it goes on the wire: its signed copy and its recipients."""

    tx: _Transaction
    wire: Next
    by_rcpt: dict[str, list[store.Pending]]


def worker_name() -> str:
    """host:pid:random - unique per process start, even when a restarted container's
    service gets the same host name and pid 1 again (its journal must not be mistaken for
    the dead one's)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class Engine:
    """Delivers due messages. Build one per process; call :meth:`run` or :meth:`run_once`."""

    def __init__(self, settings: Settings, db: Database, *, resolver: Resolver | None = None,
                 worker: str | None = None, clock: Callable[[], datetime] = utcnow,
                 batch: int = 500, metrics: Metrics | None = None,
                 stop: asyncio.Event | None = None, journal: Journal | None = None,
                 database_process: bool = False) -> None:
        self.settings = settings
        self.db = db
        self.resolver = resolver or Resolver(settings)
        self.worker = worker or worker_name()
        self.clock = clock
        self.batch = batch
        self.metrics = metrics or Metrics()
        self.stop = stop or asyncio.Event()
        """Set: finish the transactions under way, start no new one (their jobs stay claimed
        until released or their lease runs out)."""
        self.journal = journal
        """Where this worker notes each final dot it writes (see delivery.journal); without
        one, a message found in flight after a crash counts as delivered, unconfirmed."""
        self._journals_dir = journal.directory if journal is not None else None
        self.database = worker_for(db, settings, self.worker, batch, self._journals_dir,
                                   database_process)
        """Where the claims, reads and records run (delivery.database): a thread, or with
        ``database_process`` a process of its own."""
        self.timeouts = Timeouts.of(settings)
        self._slots = asyncio.Semaphore(max(1, settings.max_connections))
        self._mailings: dict[int, store.Mailing] = {}
        self._content: dict[int, bytes] = {}
        self._message_id_domain: dict[int, str] = {}
        """Mailings whose document has no Message-ID: the domain of the one we add."""
        self._buffer: list[store.Outcome] = []
        self._unwritten: list[list[store.Outcome]] = []
        self._writer: asyncio.Task[None] | None = None
        self._progress = asyncio.Event()  # set by the writer after each batch
        self._marks: list[tuple[list[str], list[str], Callable[[], None],
                                asyncio.Future[None]]] = []
        self._mark_in_db = journal is None or not is_sqlite(db)
        self._mark_conn: DBConnection | None = None
        self._inflight: Marks | None = None
        """PostgreSQL's marks go from the loop itself (storage.inflight); SQLite's, where
        the database keeps them (no journal), from a thread."""
        if self._mark_in_db and db.dialect.name == "postgresql":
            from bounceloop.storage.inflight import Marks  # psycopg: PostgreSQL's alone
            self._inflight = Marks(db.url)
        self._marking: asyncio.Task[None] | None = None
        self._flushed = time.monotonic()
        self._batches = 0  # outcome batches handed to the writer
        self._failed: list[tuple[int, str]] = []
        """(batch, recipient or @domain) of each failure not yet known to be written before
        the last round's suppression check."""

    # ------------------------------------------------------------------ the loop

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set; sleep ``poll_interval`` when there is nothing due."""
        stop = self.stop = stop or self.stop
        pause = self.settings.poll_interval
        try:
            while not stop.is_set():
                try:
                    done = await self._rounds()
                    pause = self.settings.poll_interval
                except (SQLAlchemyError, Lost) as exc:
                    # The database (or the process that works on it) is away: say so and
                    # try again, waiting longer each time (up to a minute). Jobs of the
                    # broken round stay leased until their lease ends; messages whose dot
                    # went out are in the journal.
                    log.error("delivery round failed, retrying in %.0f s: %s", pause, exc)
                    self.close()
                    done = 0
                    pause = min(60.0, max(pause, 0.5) * 2)
                if done == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), pause)
        finally:
            self.close()

    def start(self) -> None:
        """Start the database process now, where there is one (it takes a few tenths of a
        second, which a caller may spend queueing meanwhile)."""
        self.database.start()

    async def ready(self) -> None:
        """Start the database process, where there is one, and wait until it runs."""
        await self.database.ready()

    def close(self) -> None:
        """Give back the connections kept for in-flight marks and the database worker (the
        engine may run again)."""
        self._drop_marks()
        self.database.close()

    def _drop_marks(self) -> None:
        """Close the connections kept for in-flight marks (the next mark opens another)."""
        conn, self._mark_conn = self._mark_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                store.close_mark_connection(conn)
        if self._inflight is not None:
            self._inflight.close()

    async def drain(self) -> None:
        """Deliver until nothing is due now (deferred messages wait for their retry)."""
        try:
            while await self._rounds():
                pass
        finally:
            self.close()

    async def run_once(self) -> int:
        """One round: claim, deliver, record. Returns how many jobs it took."""
        fetched = await self._fetch()
        if not fetched.claimed:
            return 0
        try:
            await self._deliver(fetched)
        finally:
            self._flush()
            await self._written()
        return fetched.claimed

    async def _rounds(self) -> int:
        """Rounds back to back, each full one claiming the next while it delivers, and
        none waiting for the last one's outcomes to be written; returns the jobs taken.

        bench/send.py, 5,000 messages in rounds of 500 one after the other: of 1.43 s,
        the claim and the reads of each round took 0.25 s and the wait for the writes
        0.19 s, every lane idle meanwhile. The claim, the reads and the writes all run in
        one database worker, in order (on SQLite never two writers of ours at once)."""
        taken = 0
        fetch: asyncio.Task[Round] | None = asyncio.create_task(self._fetch())
        try:
            while fetch is not None:
                fetched = await fetch
                fetch = None
                if not fetched.claimed:
                    break
                if self.stop.is_set():
                    await self._give_back(fetched)
                    break
                taken += fetched.claimed
                if fetched.claimed >= self.batch:
                    fetch = asyncio.create_task(self._fetch())
                await self._deliver(fetched)
                self._flush()
        finally:
            if fetch is not None:
                # Claimed, not delivered (a stop, or an error): back to the other workers
                # now, not after the lease.
                with contextlib.suppress(Exception):
                    await self._give_back(await fetch)
            self._flush()
            await self._written()
        return taken

    async def _fetch(self) -> Round:
        """Claim a round's jobs and read what it needs, in the database worker; the jobs'
        lease is kept from then on."""
        fetched = await self.database.call(Side.read_round, set(self._mailings),
                                           self.clock())
        for o in fetched.settled:
            self.metrics.count(o.result.state, o.result.result, o.verdict.status)
            if log.isEnabledFor(logging.INFO):
                _log_outcome(o)
        if fetched.jobs:
            fetched.heartbeat = asyncio.create_task(
                self._heartbeat([j.id for j in fetched.jobs]))
        return fetched

    async def _give_back(self, fetched: Round) -> None:
        if fetched.heartbeat is not None:
            fetched.heartbeat.cancel()
        if fetched.jobs:
            await self.database.call(Side.release, [j.id for j in fetched.jobs])

    async def _deliver(self, fetched: Round) -> None:
        try:
            await self._deliver_jobs(fetched)
        finally:
            if fetched.heartbeat is not None:
                fetched.heartbeat.cancel()

    async def _heartbeat(self, job_ids: list[int]) -> None:
        # Keep the lease while a long round is still working on its jobs.
        interval = max(1.0, self.settings.job_lease / 3)
        while True:
            await asyncio.sleep(interval)
            await self.database.call(Side.extend, job_ids)

    async def _deliver_jobs(self, fetched: Round) -> None:
        now = self.clock()
        jobs, items, blocked = fetched.jobs, fetched.items, fetched.blocked
        found = {p.id for p in items}
        lost = [j.id for j in jobs if j.ref not in found]
        for mailing_id, mailing in fetched.mailings.items():
            if mailing_id in self._mailings:
                continue
            self._mailings[mailing_id] = mailing
            self._content[mailing_id] = prepare(mailing.mime)
            if store.header_message_id(mailing.mime) is None:
                # RFC 5322 3.6.4: every message SHOULD have a Message-ID; the document
                # has none, so each copy gets a signed one of ours.
                self._message_id_domain[mailing_id] = (
                    self.settings.bounce_domain or domain_of(mailing.sender)
                    or self.settings.hostname)
        # The suppression check ran before the last round's outcomes were all written: a
        # failure among them may have suppressed a recipient of this round (or its
        # domain) since. Then check again once they are written.
        suspects = {key for batch, key in self._failed if batch >= fetched.seen}
        self._failed = [(batch, key) for batch, key in self._failed if batch >= fetched.seen]
        if suspects and any(p.recipient.lower() in suspects or f"@{p.domain}" in suspects
                            for p in items):
            self._flush()
            await self._written()
            blocked = await self.database.call(Side.check, items, now)
        closed = [p.job_id for p in items if p.status not in store.OPEN]
        if lost or closed:
            await self.database.call(Side.settle_closed, lost + closed)
        due: dict[str, list[store.Pending]] = {}
        journals: dict[str, set[str] | None] = {}
        taken = {j.id: j.taken_from for j in jobs if j.taken_from}
        for p in items:
            if p.status not in store.OPEN:
                continue
            if in_doubt(self._journals_dir, p, taken.get(p.job_id), journals):
                self._emit(p, INDOUBT, now, 0)
            elif (p.recipient.lower(), p.sender.lower()) in blocked:
                s = blocked[(p.recipient.lower(), p.sender.lower())]
                text = s.description or f"{s.value} is on the suppression list"
                self._emit(p, StepResult("suppression", "suppressed", s.code, s.extended,
                                         f"{s.code} {s.extended} {text}".strip()), now, 0)
            elif p.expires_at <= now:
                self._emit(p, StepResult("process", "expired", "", "4.4.7",
                                         "delivery time expired before an attempt"), now, 0)
            else:
                due.setdefault(p.domain, []).append(p)
        await asyncio.gather(*(self._domain(domain, batch) for domain, batch in due.items()))

    # ------------------------------------------------------------------ one domain

    async def _domain(self, domain: str, batch: list[store.Pending]) -> None:
        started = self.clock()
        t0 = time.monotonic()
        route = await self.resolver.route(domain)
        if isinstance(route, StepResult):
            ms = int((time.monotonic() - t0) * 1000)
            for p in batch:
                self._emit(p, route, started, ms)
            return
        txs = collections.deque(self._transactions(batch))
        lanes = max(1, min(self.settings.max_connections_per_domain, len(txs)))
        live = [lanes]
        await asyncio.gather(*(self._lane(route, txs, live) for _ in range(lanes)))

    def _transactions(self, batch: list[store.Pending]) -> list[_Transaction]:
        # Messages that share an envelope (no VERP) and a mailing can share a transaction.
        groups: dict[tuple[str, int], list[store.Pending]] = {}
        for p in batch:
            groups.setdefault((p.envelope, p.mailing_id), []).append(p)
        size = max(1, self.settings.max_rcpts_per_transaction)
        out = []
        for (envelope, mailing_id), members in groups.items():
            for i in range(0, len(members), size):
                out.append(_Transaction(envelope, mailing_id, members[i:i + size]))
        return out

    async def _lane(self, targets: list[Target], txs: collections.deque[_Transaction],
                    live: list[int]) -> None:
        """One connection at a time, taking transactions from the domain's shared queue.

        A lane that cannot open a connection leaves its transaction to the lanes still
        running (a server may refuse connections beyond its own limit); the last lane to
        give up fails whatever is left with its result.
        """
        conn: Connection | None = None
        ahead: _Copy | None = None  # its commands went out with the last final dot
        limit = self.settings.max_messages_per_connection
        async with self._slots:
            try:
                while ahead is not None or (txs and not self.stop.is_set()):
                    if ahead is not None and self.stop.is_set():
                        # Its commands are out but not its content: a stop starts no new
                        # message, so it goes back with the rest; closing the connection
                        # (an abort, see Connection.close) voids it at the server.
                        txs.appendleft(ahead.tx)
                        break
                    if ahead is not None:
                        copy, ahead, failure = ahead, None, None
                    else:
                        copy = self._copy(txs.popleft())
                        conn, failure = await self._ready(conn, targets)
                    if failure is None:
                        assert conn is not None
                        then = None
                        if (txs and conn.pipelining and not self.stop.is_set()
                                and conn.transactions + 1 < limit):
                            then = self._copy(txs.popleft())
                        await self._send(conn, copy, then)
                        if then is not None:
                            if conn.ahead is not None:
                                ahead = then
                            else:
                                txs.appendleft(then.tx)
                        continue
                    txs.appendleft(copy.tx)
                    if live[0] == 1:
                        now = self.clock()
                        while txs:
                            for p in txs.popleft().members:
                                self._emit(p, failure, now, 0)
                    return
            finally:
                live[0] -= 1
                if conn is not None:
                    await conn.close()

    async def _ready(self, conn: Connection | None,
                     targets: list[Target]) -> tuple[Connection | None, StepResult | None]:
        """A connection ready for the next transaction: this one after RSET, or a new one."""
        if conn is not None and conn.alive:
            if conn.transactions < self.settings.max_messages_per_connection and (
                    await conn.reset()):
                return conn, None
            await conn.close()
        best: StepResult | None = None
        for target in targets:
            fresh = Connection(target, self.settings.hostname, self.timeouts, self.settings.tls)
            failure = await fresh.open()
            if failure is None:
                return fresh, None
            # Report the attempt that got furthest (a 554 greeting says more than a refusal).
            if best is None or failure.step >= best.step:
                best = failure
        return None, best

    def _copy(self, tx: _Transaction) -> _Copy:
        # Signed references to this copy (core.signed): what lets a returned message that
        # lost its VERP envelope still be tied, and nothing forged be.
        envid, head = signed.stamp(
            secret=self.settings.verp_secret.get_secret_value(),
            recipients=[(p.id, p.recipient) for p in tx.members], mailing_id=tx.mailing_id,
            message_id_domain=self._message_id_domain.get(tx.mailing_id, ""))
        by_rcpt: dict[str, list[store.Pending]] = {}
        for p in tx.members:
            by_rcpt.setdefault(p.recipient, []).append(p)
        return _Copy(tx, Next(tx.envelope, list(by_rcpt), head + self._content[tx.mailing_id],
                              envid), by_rcpt)

    async def _send(self, conn: Connection, copy: _Copy, then: _Copy | None) -> None:
        started = self.clock()
        t0 = time.monotonic()
        tx, wire = copy.tx, copy.wire
        ids = [p.id for p in tx.members]
        entries = [entry(p) for p in tx.members]

        async def in_flight(dot: Callable[[], None]) -> None:
            await self._mark_sending(ids, entries, dot)

        results = await conn.transaction(wire.envelope, wire.recipients, wire.content,
                                         envid=wire.envid, on_final_dot=in_flight,
                                         then=then.wire if then is not None else None)
        elapsed = time.monotonic() - t0
        self.metrics.transaction_seconds.observe(elapsed)
        ms = int(elapsed * 1000)
        for rcpt, members in copy.by_rcpt.items():
            for p in members:
                self._emit(p, results[rcpt], started, ms)
        # A writer that falls behind holds the lanes: no more than the batch being written
        # and one more wait, so a kill leaves fewer than three batches (with the one
        # filling) "in doubt".
        while len(self._unwritten) > 1 and self._writer is not None:
            self._progress.clear()
            await self._progress.wait()

    async def _mark_sending(self, ids: list[str], entries: list[str],
                            dot: Callable[[], None]) -> None:
        """Mark messages in flight, then write their final dot.

        With a journal on SQLite (one host by construction) the journal line is the mark:
        written, then the dot, no database write. Otherwise the database is marked too
        (workers on other hosts cannot read this one's journal). The marks are group
        committed: lanes that reach their final dot while a commit is under way share the
        next one (one write transaction per message would cost more than the SMTP
        dialogue). The commit runs in a thread, so the other lanes' SMTP dialogues go on
        meanwhile (measured by bench/soak.py: done in the event loop, a worker spent a
        third of its time waiting for these commits, and two workers were no faster than
        one). Each dot follows its batch's commit, just after its journal line (see
        delivery.journal for what a kill at any point leads to).
        """
        if not self._mark_in_db:
            self._journal_and_dot(entries, dot)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._marks.append((ids, entries, dot, future))
        if self._marking is None:
            self._marking = asyncio.create_task(self._mark_all())
        await future

    def _journal_and_dot(self, entries: list[str], dot: Callable[[], None]) -> None:
        """The journal line just before the dot (see delivery.journal); taken back when
        the dot cannot be written (the connection had broken)."""
        if self.journal is not None:
            self.journal.append(entries)
        try:
            dot()
        except Exception:
            if self.journal is not None:
                self.journal.retract(entries)
            raise

    async def _mark_all(self) -> None:
        """Commit the waiting marks, a batch at a time, until none is waiting."""
        try:
            await asyncio.sleep(0)  # the lanes that reach their dot in this turn join in
            while self._marks:
                marks, self._marks = self._marks, []
                await self._mark_batch(marks)
        finally:
            self._marking = None

    async def _mark_batch(self, marks: list[tuple[list[str], list[str], Callable[[], None],
                                                  asyncio.Future[None]]]) -> None:
        ids = [i for batch, _, _, _ in marks for i in batch]
        try:
            if self._inflight is not None:
                await self._inflight.mark(ids, self.clock(), self.worker)
            else:
                await asyncio.to_thread(self._commit_marks, ids)
        except Exception as exc:  # the database: no dot was written
            self._drop_marks()  # not the database worker: its records go on
            for _, _, _, future in marks:
                if not future.done():
                    future.set_exception(exc)
            return
        for _, entries, dot, future in marks:
            if future.done():  # its lane was cancelled: no dot
                continue
            try:
                self._journal_and_dot(entries, dot)
            except Exception as exc:  # that connection broke; its lane will see it
                future.set_exception(exc)
            else:
                future.set_result(None)

    def _commit_marks(self, ids: list[str]) -> None:
        # In a thread, for SQLite without a journal (PostgreSQL's marks: storage.inflight);
        # one batch at a time (see _mark_all), so the kept connection is never used by two
        # at once. flushed=False is what a kept connection takes; SQLite syncs every
        # commit regardless (see storage.messages.mark_sending for PostgreSQL's).
        if self._mark_conn is None:
            self._mark_conn = store.mark_connection(self.db)
        store.mark_sending(self._mark_conn, ids, self.clock(), self.worker, flushed=False)

    # ------------------------------------------------------------------ outcomes

    def _outcome(self, p: store.Pending, result: StepResult, started: datetime, ms: int
                 ) -> store.Outcome:
        o = outcome(self.settings, p, result, started, ms, self._mailings.get(p.mailing_id),
                    self.clock())
        self.metrics.count(result.state, result.result, o.verdict.status)
        return o

    def _emit(self, p: store.Pending, result: StepResult, started: datetime, ms: int) -> None:
        outcome = self._outcome(p, result, started, ms)
        v = outcome.verdict
        self._buffer.append(outcome)
        if v.status == "failed":
            self._failed += [(self._batches, p.recipient.lower()),
                             (self._batches, f"@{p.domain}")]
        # Batched for speed, but never held long: a delivery is visible within a second,
        # and a kill leaves few deliveries to be found "in doubt" (see storage.messages).
        if len(self._buffer) >= RECORD_BATCH or time.monotonic() - self._flushed >= 1.0:
            self._flush()

    def _flush(self) -> None:
        """Hand the buffered outcomes to the writer: recorded by the database worker, a batch
        at a time and in order, while the lanes go on (measured by bench/soak.py: recording
        in the event loop stalled every lane for its transaction)."""
        self._flushed = time.monotonic()
        batch, self._buffer = self._buffer, []
        if batch:
            self._batches += 1
            self._unwritten.append(batch)
            if self._writer is None:
                self._progress = asyncio.Event()  # of this loop (an engine may run again)
                self._writer = asyncio.get_running_loop().create_task(self._write_all())

    async def _write_all(self) -> None:
        try:
            while self._unwritten:
                batch = self._unwritten[0]
                await self.database.call(Side.record, batch, self.clock())
                self._unwritten.pop(0)
                self._progress.set()
                if self.journal is not None:
                    self.journal.settled(entry(o.message) for o in batch)
                if log.isEnabledFor(logging.INFO):
                    for o in batch:
                        _log_outcome(o)
        except BaseException:
            # Not recorded: their jobs stay leased, and whoever takes them over tells
            # from the in-flight marks which final dots went out (see in_doubt), as
            # after a kill.
            self._unwritten.clear()
            raise
        finally:
            self._writer = None
            self._progress.set()

    async def _written(self) -> None:
        """Wait until every outcome handed to the writer is recorded (raising what the
        writer raised)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)


def _log_outcome(o: store.Outcome) -> None:
    """The delivery log: one line per recorded attempt, after its commit."""
    p, r, v = o.message, o.result, o.verdict
    log.info(v.status, extra=fields(
        message_id=p.id, recipient=p.recipient, mailing_id=p.mailing_id,
        attempt=p.attempts + 1, status=v.status, step=r.step, state=r.state,
        result=r.result, code=r.code or None, extended=r.extended or None,
        reason=v.reason or None, severity=v.severity or None, mx=r.mx or None,
        ip=r.ip or None, ms=o.duration_ms,
        next_attempt=v.next_attempt_at.isoformat() if v.next_attempt_at else None,
        text=r.description if v.status != "delivered" else None))


__all__ = ["Engine", "entry", "worker_name"]

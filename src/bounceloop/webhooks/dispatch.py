"""The webhook worker: claims ``webhook`` jobs from the outbox and POSTs their events.

One lane per active webhook: a local queue of claimed jobs and up to the webhook's
``concurrency`` calls at once. A lane claims (``outbox.claim`` with ``refs``, under a lease)
when its queue runs low, a few calls' worth ahead, so a slow receiver holds only its own
lane. Each call:

1. vets the URL again (webhooks.guard: DNS may have changed since the webhook was added)
   and connects to an address it vetted (webhooks.http);
2. sends the event's body (webhooks.wire) with ``X-Bounceloop-Event`` (the event's id: the
   same on every retry, for de-duplication), ``X-Bounceloop-Attempt`` and the signature;
3. turns the result into done, retry, dead or gone (webhooks.retry).

Results are written in batches (a flush every few milliseconds under load): jobs
completed, rescheduled or dead-lettered, failed calls logged, the webhooks' failing state
updated (pausing one that failed for days), in one transaction. A crash loses no event:
an unsettled job's lease runs out and another worker (or this one, restarted) calls again:
at-least-once, with the same event id. On a graceful stop, calls in flight finish and the
jobs not started are released at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, or_, select

from bounceloop.config import Settings
from bounceloop.core.network import networks
from bounceloop.delivery.resolver import Resolver
from bounceloop.observability.logs import fields
from bounceloop.observability.metrics import Metrics
from bounceloop.storage import outbox
from bounceloop.storage import webhooks as store
from bounceloop.storage.engine import utcnow
from bounceloop.storage.tables import jobs
from bounceloop.webhooks import guard, retry, signature, wire
from bounceloop.webhooks.http import Client, Failed, Reply

log = logging.getLogger(__name__)

#: Seconds a vetted DNS answer is reused before the URL's host is resolved and vetted again.
VET_SECONDS = 5.0
#: A lane claims when its queue is below this many calls' worth, up to twice that.
AHEAD = 2
#: Results written per transaction at most; a flush happens at least every FLUSH_SECONDS.
FLUSH_MAX = 500
FLUSH_SECONDS = 0.02
#: Seconds between reloads of the webhooks (a change or pause is seen within this).
REFRESH_SECONDS = 0.5


@dataclass(slots=True)
class Lane:
    hook: store.Webhook
    queue: deque[outbox.Job] = field(default_factory=deque)
    inflight: int = 0
    gone_at: datetime | None = None
    """The receiver answered 410 (the webhook's updated_at then): no more calls until the
    pause is written and lifted (which changes updated_at)."""

    @property
    def gone(self) -> bool:
        return self.gone_at is not None


@dataclass(frozen=True, slots=True)
class Result:
    job: outbox.Job
    hook: store.Webhook
    event: store.Event | None
    outcome: str  # retry.DONE | RETRY | GONE (DEAD is decided at the flush)
    answer: Reply | Failed | guard.Refused | None


def request(hook: store.Webhook, event: store.Event, attempt: int, now: datetime,
            extras: bool) -> tuple[list[tuple[str, str]], bytes]:
    """The headers (besides Host and Content-Length) and body of one call."""
    content_type, body = wire.body(event.type, event.time, event.data,
                                   extras=extras and hook.extras, format=hook.format)
    t = int(now.timestamp())
    return [
        ("Content-Type", content_type),
        ("X-Bounceloop-Event", str(event.id)),
        ("X-Bounceloop-Attempt", str(attempt)),
        ("X-Bounceloop-Webhook", str(hook.id)),
        ("X-Bounceloop-Trigger", event.type),
        (signature.HEADER, signature.sign(hook.signing_secrets(now), t, body)),
    ], body



def _log_failed_call(r: Result, outcome: str) -> None:
    """A webhook call that did not succeed (a 2xx is counted, not logged: the webhook-errors
    log and the metrics cover the rest)."""
    data = r.event.data if r.event is not None else {}
    answer = r.answer
    said = (f"HTTP {answer.status}" if isinstance(answer, Reply)
            else f"{answer.error}: {answer.description}" if isinstance(answer, Failed)
            else str(answer) if answer is not None else "no event")
    log.info("webhook call %s", outcome, extra=fields(
        webhook_id=r.hook.id, event_id=r.event.id if r.event else None,
        event=r.event.type if r.event else None, message_id=data.get("id"),
        recipient=data.get("recipient"), attempt=r.job.attempts + 1, answer=said))


class Dispatcher:
    """Delivers webhook jobs until stopped; see the module doc."""

    def __init__(self, settings: Settings, db: Engine, worker: str, *,
                 metrics: Metrics | None = None, resolver: Resolver | None = None,
                 client: Client | None = None, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.db = db
        self.worker = worker
        self.metrics = metrics or Metrics()
        self.resolver = resolver or Resolver(settings)
        self.client = client or Client(
            cafile=str(settings.webhook_ca_file) if settings.webhook_ca_file else None)
        self.rng = rng or random.Random()
        self.policy = retry.Policy(settings.webhook_retry_period, settings.webhook_retry_base,
                                   settings.webhook_retry_max_delay)
        self.allowed = networks(settings.allowed_target_networks)
        self.lanes: dict[int, Lane] = {}
        self.results: list[Result] = []
        self.wake = asyncio.Event()
        self._flushed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._vetted: dict[str, tuple[float, list[str] | guard.Refused]] = {}
        self._stopping = False
        self._busy = False
        self._refreshed = 0.0
        self._events: dict[int, store.Event | None] = {}
        """The event of each claimed job not started yet (by job id), loaded with the
        claim; None: the event is gone."""

    # -- the loop ---------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        flusher = asyncio.create_task(self._flush_loop(stop))
        try:
            while not stop.is_set():
                try:
                    busy = await self.round()
                except Exception:  # the database went away: log, wait, try again
                    log.exception("webhook round failed")
                    busy = False
                if busy:
                    await asyncio.sleep(0)
                    continue
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.webhook_poll_interval):
                        await _first(stop.wait(), self.wake.wait())
        finally:
            self._stopping = True
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            self.flush()
            self._release_queued()
            await self.client.aclose()

    async def round(self) -> bool:
        """Refresh the lanes now and then, claim for those running low, start calls. True
        when it claimed anything (more may be due at once).

        The database work runs in a thread: a claim or a read waiting for SQLite's lock (the
        writers of events hold it) must not stop the calls in flight from being answered
        and the next ones sent (bench/webhooks.py)."""
        if time.monotonic() - self._refreshed > REFRESH_SECONDS:
            await self._refresh()
        low = [lane for lane in self.lanes.values() if not lane.gone
               and len(lane.queue) + lane.inflight < lane.hook.concurrency * AHEAD]
        claimed = False
        # While claims find work, claim straight away; once idle, a read first, so an idle
        # worker takes no write lock (SQLite) every poll.
        if low and (self._busy or await asyncio.to_thread(self._due)):
            for lane in low:
                want = lane.hook.concurrency * AHEAD * 2 - len(lane.queue) - lane.inflight
                got, found = await asyncio.to_thread(self._claim, lane.hook.id, want)
                for job in got:
                    self._events[job.id] = found.get(_event_id(job))
                lane.queue.extend(got)
                self._start(lane)
                claimed = claimed or bool(got)
            self._busy = claimed
        for lane in self.lanes.values():
            self._start(lane)
        return claimed and not self._stopping

    def _claim(self, hook_id: int, want: int
               ) -> tuple[list[outbox.Job], dict[int, store.Event]]:
        """Claim up to ``want`` due jobs of one webhook, with their events (a thread)."""
        got = outbox.claim(self.db, [store.KIND], self.worker, want,
                           self.settings.job_lease, refs=[str(hook_id)])
        return got, self._load([_event_id(j) for j in got]) if got else {}

    async def _refresh(self) -> None:
        self._refreshed = time.monotonic()
        hooks = await asyncio.to_thread(self._active_hooks)
        for hook_id in list(self.lanes):
            lane = self.lanes[hook_id]
            if hook_id not in hooks and not lane.inflight:
                await self._retire(lane)
                del self.lanes[hook_id]
        for hook_id, hook in hooks.items():
            if hook_id in self.lanes:
                lane = self.lanes[hook_id]
                lane.hook = hook
                if lane.gone_at is not None and hook.updated_at != lane.gone_at:
                    lane.gone_at = None  # paused and resumed since the 410
            else:
                self.lanes[hook_id] = Lane(hook)

    def _active_hooks(self) -> dict[int, store.Webhook]:
        with self.db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            return {h.id: h for h in store.listing(conn) if h.status == store.ACTIVE}

    def _due(self) -> bool:
        """Any webhook job due (a read, so an idle worker takes no write lock)."""
        now = utcnow()
        stmt = select(jobs.c.id).where(jobs.c.kind == store.KIND, or_(
            and_(jobs.c.status == outbox.PENDING, jobs.c.run_at <= now),
            and_(jobs.c.status == outbox.RUNNING, jobs.c.locked_until < now))).limit(1)
        with self.db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            return conn.execute(stmt).first() is not None

    def _start(self, lane: Lane) -> None:
        if lane.queue and lane.hook.id in self.lanes and not self._stopping and not lane.gone:
            batch: list[outbox.Job] = []
            while lane.queue and lane.inflight + len(batch) < lane.hook.concurrency:
                batch.append(lane.queue.popleft())
            for job in batch:
                lane.inflight += 1
                event = self._events.pop(job.id, None)
                task = asyncio.create_task(self._call(lane, job, event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _load(self, ids: list[int]) -> dict[int, store.Event]:
        with self.db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            return store.events_for(conn, ids)

    # -- one call ---------------------------------------------------------------------

    async def _call(self, lane: Lane, job: outbox.Job, event: store.Event | None) -> None:
        hook = lane.hook
        try:
            if event is None:  # the event was deleted: nothing to send
                self._done(Result(job, hook, None, retry.DONE, None))
                return
            vetted = await self._vet(hook.url)
            if isinstance(vetted, guard.Refused):
                self._done(Result(job, hook, event, retry.RETRY, vetted))
                return
            ip = vetted[(job.attempts - 1) % len(vetted)]
            headers, body = request(hook, event, job.attempts, utcnow(),
                                    self.settings.webhook_extras)
            answer = await self.client.post(hook.url, ip, headers, body, hook.timeout)
            status = answer.status if isinstance(answer, Reply) else None
            outcome = retry.verdict(status)
            if outcome == retry.GONE and lane.gone_at is None:
                lane.gone_at = hook.updated_at
            self._done(Result(job, hook, event, outcome, answer))
        except Exception as exc:  # a bug must not lose the job: it is retried
            log.exception("webhook call failed")
            self._done(Result(job, hook, event, retry.RETRY,
                              Failed("protocol", f"internal error: {exc}", "", 0)))
        finally:
            lane.inflight -= 1
            self._start(lane)
            if len(lane.queue) + lane.inflight < lane.hook.concurrency * AHEAD:
                self.wake.set()

    async def _vet(self, url: str) -> list[str] | guard.Refused:
        now = time.monotonic()
        cached = self._vetted.get(url)
        if cached is not None and now - cached[0] < VET_SECONDS:
            return cached[1]
        found = await guard.addresses(url, self.resolver, self.allowed)
        self._vetted[url] = (now, found)
        return found

    def _done(self, result: Result) -> None:
        self.results.append(result)
        if len(self.results) >= FLUSH_MAX:
            self._flushed.set()

    # -- writing results --------------------------------------------------------------

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_SECONDS):
                    await self._flushed.wait()
            self._flushed.clear()
            if not self.results:
                continue
            results, self.results = self.results, []
            try:
                # In a thread: the calls go on while the results are written.
                changed = await asyncio.to_thread(self._write, results)
            except Exception:  # keep the results; the next flush tries again
                self.results[:0] = results
                log.exception("webhook results not written")
                await asyncio.sleep(1.0)
                continue
            self._written(results, changed)

    def flush(self) -> None:
        """Write the results gathered so far (see the module doc)."""
        if not self.results:
            return
        results, self.results = self.results, []
        try:
            changed = self._write(results)
        except Exception:
            self.results[:0] = results
            raise
        self._written(results, changed)

    def _written(self, results: list[Result], changed: bool) -> None:
        """After a write, in the event loop: count the calls; a webhook paused or gone has
        its lane retired at the next round, not in REFRESH_SECONDS."""
        self._count(results)
        if changed:
            self._refreshed = 0.0
            self.wake.set()

    def _write(self, results: list[Result]) -> bool:
        """Write the results in one transaction (a thread may run it); whether a webhook
        was paused or is gone."""
        now = utcnow()
        done: list[int] = []
        later: list[tuple[int, datetime, str]] = []
        dead: list[tuple[int, str]] = []
        gone: dict[int, str] = {}
        failures: list[dict[str, Any]] = []
        ok: set[int] = set()
        failed: set[int] = set()
        for r in results:
            if r.outcome == retry.DONE:
                done.append(r.job.id)
                if r.event is not None:
                    ok.add(r.hook.id)
                continue
            failed.add(r.hook.id)
            failures.append(_failure(r, now))
            why = failures[-1]["description"]
            if r.outcome == retry.GONE:
                gone[r.hook.id] = why
                later.append((r.job.id, now, why))
                continue
            when = retry.next_try(r.job.attempts, r.job.created_at, now, self.policy, self.rng)
            if when is None:
                dead.append((r.job.id, why))
            else:
                later.append((r.job.id, when, why))
        with self.db.begin() as conn:
            outbox.complete_many(conn, done, self.worker)
            outbox.reschedule_many(conn, later, self.worker)
            for job_id, why in dead:
                outbox.fail(conn, job_id, self.worker, why)
            store.log_failures(conn, failures)
            paused = store.called(conn, ok, failed, now, self.settings.webhook_pause_after)
            for hook_id, why in gone.items():
                store.pause(conn, hook_id, f"the receiver answered 410 Gone: {why}",
                            flagged=True, now=now)
        return bool(paused or gone)

    def _count(self, results: list[Result]) -> None:
        now = time.time()
        for r in results:
            outcome = r.outcome
            if isinstance(r.answer, guard.Refused):
                outcome = "refused-address"
            self.metrics.webhook_calls.labels(outcome).inc()
            if r.outcome == retry.DONE and r.event is not None:
                self.metrics.webhook_latency.observe(max(0.0, now - r.event.time.timestamp()))
            elif log.isEnabledFor(logging.INFO):
                _log_failed_call(r, outcome)

    async def _retire(self, lane: Lane) -> None:
        """Give back the queue of a lane whose webhook is no longer active: pending, then
        held again by its pause (a removed webhook's jobs are gone already)."""
        ids = [j.id for j in lane.queue]
        lane.queue.clear()
        for job_id in ids:
            self._events.pop(job_id, None)  # keyed by job
        if ids:
            await asyncio.to_thread(self._give_back, ids, lane.hook.id)

    def _give_back(self, ids: list[int], hook_id: int) -> None:
        with self.db.begin() as conn:
            outbox.release(conn, self.worker, ids)
            store.hold(conn, [hook_id])

    def _release_queued(self) -> None:
        ids = [j.id for lane in self.lanes.values() for j in lane.queue]
        for lane in self.lanes.values():
            lane.queue.clear()
        self._events.clear()
        if ids:
            with self.db.begin() as conn:
                outbox.release(conn, self.worker, ids)


def _event_id(job: outbox.Job) -> int:
    return int(job.payload.get("event") or 0)


def _failure(r: Result, now: datetime) -> dict[str, Any]:
    a = r.answer
    row: dict[str, Any] = {
        "time": now, "webhook_id": r.hook.id, "event_id": r.event.id if r.event else None,
        "job_id": r.job.id, "attempt": r.job.attempts, "url": r.hook.url, "ip": "",
        "status": None, "error": "", "description": "", "headers": "[]", "body": "",
        "duration_ms": 0}
    if isinstance(a, Reply):
        row.update(ip=a.ip, status=a.status, error="http", duration_ms=a.duration_ms,
                   description=f"HTTP {a.status}",
                   headers=json.dumps(a.headers, ensure_ascii=False),
                   body=a.body.decode("utf-8", "replace"))
    elif isinstance(a, Failed):
        row.update(ip=a.ip, error=a.error, description=a.description,
                   duration_ms=a.duration_ms)
    elif isinstance(a, guard.Refused):
        row.update(error="refused-address", description=a.reason)
    return row


async def _first(*aws: Any) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()

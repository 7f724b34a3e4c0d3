"""The webhook worker: claims ``webhook`` jobs from the outbox and POSTs their events.

One lane per active webhook: a local queue of claimed jobs and up to the webhook's
``concurrency`` calls at once, so a slow receiver holds only its own lane. Each call:

1. vets the URL again (webhooks.guard: DNS may have changed since the webhook was added)
   and connects to an address it vetted (webhooks.http);
2. sends the event's body (webhooks.wire) with ``X-Bounceloop-Event`` (the event's id: the
   same on every retry, for de-duplication), ``X-Bounceloop-Attempt`` and the signature;
3. turns the result into done, retry, dead or gone (webhooks.retry).

The database work is one transaction at a time (a *sync*): the results gathered since the
last sync are written (jobs completed, rescheduled or dead-lettered, failed calls logged,
the webhooks' failing state updated, pausing one that failed for days) and the lanes
running low claim their next jobs (``outbox.claim_in``, under a lease) with their events,
in one transaction: one commit, and on SQLite one sync of the WAL, for a batch of calls.
Results wait for a sync at most FLUSH_SECONDS. Syncs are at least SYNC_GAP apart, so
SQLite's write lock is free between them for the writers of events; back to back, those
waited out SQLite's busy handler, up to 130 ms a commit, and paced calls had a p99
latency of 117-238 ms where it is 48-64 ms with the gap (bench/webhooks.py). A lane
claims ahead, a few calls' worth per connection (AHEAD), so its connections do not wait
for a sync; fewer where a call may take long, so a claimed job is called well within its
lease (``job_lease``).

Syncs run on the event loop, and SQLite's write lock (which the writers of events hold
in turn) is waited for with ``asyncio.sleep`` (storage.engine.begin_soon), so calls in
flight are answered and the next sent meanwhile. Not in a thread: a thread's every SQLite
step gives up the interpreter lock and must take it back from a busy loop, waiting up to
the switch interval (5 ms) each time; so measured, a claim of 75 jobs took 45-78 ms and
the lanes stood empty half the time.

Idle, the worker asks a doorbell (storage.doorbell) every LOOK_SECONDS whether anyone
committed (SQLite) or rang (PostgreSQL, from storage.webhooks.fan_out), and looks for due
jobs at once when so: a new event is called about within milliseconds. Retries falling due
are found by a look every ``webhook_poll_interval``.

A crash loses no event: an unsettled job's lease runs out and another worker (or this
one, restarted) calls again: at-least-once, with the same event id (a result not written
yet is such an unsettled job). On a graceful stop, calls in flight finish, their results
are written and the jobs not started are released at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from bounceloop.config import Settings
from bounceloop.core.network import networks
from bounceloop.delivery.resolver import Resolver
from bounceloop.observability.logs import fields
from bounceloop.observability.metrics import Metrics
from bounceloop.storage import outbox
from bounceloop.storage import webhooks as store
from bounceloop.storage.doorbell import LOOK_SECONDS, Doorbell
from bounceloop.storage.engine import begin_soon, utcnow
from bounceloop.webhooks import guard, retry, signature, wire
from bounceloop.webhooks.http import Client, Failed, Reply

log = logging.getLogger(__name__)

#: Seconds a vetted DNS answer is reused before the URL's host is resolved and vetted again.
VET_SECONDS = 5.0
#: A lane claims when its queue is below this many calls' worth per connection, up to
#: twice that; fewer when ``job_lease`` would not cover the calls of a full queue at the
#: webhook's timeout (see :func:`ahead`).
AHEAD = 8
#: Results written per sync at most; results wait at most FLUSH_SECONDS for one.
FLUSH_MAX = 500
FLUSH_SECONDS = 0.02
#: Seconds at least between one sync's end and the next one's start: SQLite's write lock
#: is then free for the other writers (the event writers first of all) between the
#: worker's transactions, which otherwise can follow each other within a millisecond.
SYNC_GAP = 0.005
#: Seconds between reloads of the webhooks (a change or pause is seen within this).
REFRESH_SECONDS = 0.5


def ahead(hook: store.Webhook, lease: float) -> int:
    """Calls' worth per connection a lane keeps claimed: AHEAD, or fewer so that a full
    queue (twice this, ``concurrency`` at a time, each within the webhook's timeout) is
    called within half the lease; at least 1."""
    return max(1, min(AHEAD, int(lease / (4 * hook.timeout))))


@dataclass(slots=True)
class Lane:
    hook: store.Webhook
    queue: deque[outbox.Job] = field(default_factory=deque)
    inflight: int = 0
    gone_at: datetime | None = None
    """The receiver answered 410 (the webhook's updated_at then): no more calls until the
    pause is written and lifted (which changes updated_at)."""
    low: int = 2
    """Claim when queued and in-flight calls are fewer than this."""

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


@dataclass(slots=True)
class Synced:
    """What a sync did: jobs claimed per webhook (with their events), and whether a
    webhook was paused or is gone."""

    claimed: dict[int, list[outbox.Job]] = field(default_factory=dict)
    events: dict[int, store.Event] = field(default_factory=dict)
    changed: bool = False


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
        """Set when the loop has something to do: a lane ran low, results piled up, stop."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._vetted: dict[str, tuple[float, list[str] | guard.Refused]] = {}
        self._stopping = False
        self._busy = False
        """The last claim found jobs: claim again without looking first."""
        self._look = True
        """Look for due jobs (a read) before claiming: the doorbell rang or the poll
        interval passed."""
        self._look_at = 0.0
        self._refreshed = 0.0
        self._first_result = 0.0
        """When the oldest result not written yet came (monotonic)."""
        self._synced_at = 0.0
        """When the last sync ended (monotonic): the next waits SYNC_GAP after it."""
        self._events: dict[int, store.Event | None] = {}
        """The event of each claimed job not started yet (by job id), loaded with the
        claim; None: the event is gone."""

    # -- the loop ---------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        bell = Doorbell(self.db)
        stopper = asyncio.create_task(_set_when(stop, self.wake))
        try:
            while not stop.is_set():
                try:
                    worked = await self.round()
                except Exception:  # the database went away: log, wait, try again
                    log.exception("webhook round failed")
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(1.0):
                            await stop.wait()
                    continue
                if worked:
                    await asyncio.sleep(0)  # let the calls just started go out
                else:
                    await self._idle(stop, bell)
        finally:
            self._stopping = True
            stopper.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            try:
                await self._final()
            finally:
                bell.close()
                await self.client.aclose()

    async def _idle(self, stop: asyncio.Event, bell: Doorbell) -> None:
        """Wait until there is something to do: a call settled with its lane low, results
        due to be written, the doorbell, the poll interval, or stop."""
        self.wake.clear()
        while not stop.is_set() and not self.wake.is_set():
            now = time.monotonic()
            # A look owed waits for a lane to run low (which sets wake).
            deadline = min(self._look_at if not self._look else now + 3600.0,
                           self._refreshed + REFRESH_SECONDS)
            if self.results:
                deadline = min(deadline, self._first_result + FLUSH_SECONDS)
            if now >= deadline:
                return
            if not self._busy and not self._look and bell.rang():
                self._look = True
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(LOOK_SECONDS, deadline - now)):
                    await self.wake.wait()

    async def round(self) -> bool:
        """One turn: refresh the lanes now and then; when results are due or lanes run low,
        a sync (see the module doc); then start calls. True when it synced (more may be
        due at once)."""
        now = time.monotonic()
        if now - self._refreshed > REFRESH_SECONDS:
            await self._refresh()
        if now >= self._look_at:
            self._look = True
        wants: dict[int, int] = {}
        if self._busy or self._look:
            for lane in self.lanes.values():
                have = len(lane.queue) + lane.inflight
                if not lane.gone and have < lane.low:
                    wants[lane.hook.id] = 2 * lane.low - have
        results: list[Result] = []
        if self.results and (wants or len(self.results) >= FLUSH_MAX
                             or now - self._first_result >= FLUSH_SECONDS):
            results, self.results = self.results, []
        if not results and not wants:
            self._start_all()
            return False
        look = self._look and not self._busy
        if self._look:
            self._look = False
            self._look_at = now + self.settings.webhook_poll_interval
        gap = self._synced_at + SYNC_GAP - time.monotonic()
        if gap > 0:
            await asyncio.sleep(gap)
        try:
            synced = await self._sync(results, wants, look)
            self._synced_at = time.monotonic()
        except Exception:
            self.results[:0] = results  # kept: the next sync writes them
            raise
        self._count(results)
        if synced.changed:
            self._refreshed = 0.0  # a paused or gone webhook's lane retires at once
        found = False
        for hook_id, got in synced.claimed.items():
            for job in got:
                self._events[job.id] = synced.events.get(_event_id(job))
            into = self.lanes.get(hook_id)
            if into is None:  # cannot happen: lanes go only in _refresh, not meanwhile
                await self._give_back([j.id for j in got], hook_id)
                continue
            into.queue.extend(got)
            found = found or bool(got)
        if wants:
            self._busy = found
        self._start_all()
        return not self._stopping

    async def _sync(self, results: list[Result], wants: dict[int, int], look: bool
                    ) -> Synced:
        """Write ``results`` and claim ``wants`` (jobs per webhook) in one transaction;
        ``look``: claim only if a read finds jobs due."""
        out = Synced()
        if look and not results and wants and not self._due():
            return out  # an idle worker takes no write lock (SQLite)
        async with begin_soon(self.db) as conn:
            if results:
                out.changed = self._write(conn, results)
            for hook_id, want in wants.items():
                out.claimed[hook_id] = outbox.claim_in(
                    conn, [store.KIND], self.worker, want, self.settings.job_lease,
                    refs=[str(hook_id)])
            ids = [_event_id(j) for got in out.claimed.values() for j in got]
            if ids:
                out.events = store.events_for(conn, ids)
        return out

    async def _refresh(self) -> None:
        self._refreshed = time.monotonic()
        hooks = self._active_hooks()
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
                lane = self.lanes[hook_id] = Lane(hook)
            lane.low = hook.concurrency * ahead(hook, self.settings.job_lease)

    def _active_hooks(self) -> dict[int, store.Webhook]:
        with self.db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            return {h.id: h for h in store.listing(conn) if h.status == store.ACTIVE}

    def _due(self) -> bool:
        """Any webhook job due (a read, so an idle worker takes no write lock)."""
        return outbox.any_due(self.db, [store.KIND])

    def _start_all(self) -> None:
        for lane in self.lanes.values():
            self._start(lane)

    def _start(self, lane: Lane) -> None:
        if lane.queue and lane.hook.id in self.lanes and not self._stopping and not lane.gone:
            while lane.queue and lane.inflight < lane.hook.concurrency:
                job = lane.queue.popleft()
                lane.inflight += 1
                event = self._events.pop(job.id, None)
                task = asyncio.create_task(self._call(lane, job, event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

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
            if len(lane.queue) + lane.inflight < lane.low:
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
        if not self.results:
            self._first_result = time.monotonic()
        self.results.append(result)
        if len(self.results) >= FLUSH_MAX:
            self.wake.set()

    # -- writing results --------------------------------------------------------------

    def _write(self, conn: Connection, results: list[Result]) -> bool:
        """Write the results in the caller's transaction; whether a webhook was paused or
        is gone."""
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
        if not results:
            return
        now = time.time()
        outcomes: Counter[str] = Counter()
        for r in results:
            outcome = r.outcome
            if isinstance(r.answer, guard.Refused):
                outcome = "refused-address"
            outcomes[outcome] += 1
            if r.outcome == retry.DONE and r.event is not None:
                self.metrics.webhook_latency.observe(max(0.0, now - r.event.time.timestamp()))
            elif log.isEnabledFor(logging.INFO):
                _log_failed_call(r, outcome)
        for outcome, n in outcomes.items():
            self.metrics.webhook_calls.labels(outcome).inc(n)

    async def _retire(self, lane: Lane) -> None:
        """Give back the queue of a lane whose webhook is no longer active: pending, then
        held again by its pause (a removed webhook's jobs are gone already)."""
        ids = [j.id for j in lane.queue]
        lane.queue.clear()
        for job_id in ids:
            self._events.pop(job_id, None)  # keyed by job
        if ids:
            await self._give_back(ids, lane.hook.id)

    async def _give_back(self, ids: list[int], hook_id: int) -> None:
        async with begin_soon(self.db) as conn:
            outbox.release(conn, self.worker, ids)
            store.hold(conn, [hook_id])

    async def _final(self) -> None:
        """At stop: write the results and give back the jobs not started, in one
        transaction."""
        results, self.results = self.results, []
        ids = [j.id for lane in self.lanes.values() for j in lane.queue]
        for lane in self.lanes.values():
            lane.queue.clear()
        self._events.clear()
        if results or ids:
            async with begin_soon(self.db) as conn:
                if results:
                    self._write(conn, results)
                if ids:
                    outbox.release(conn, self.worker, ids)
        self._count(results)


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


async def _set_when(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()

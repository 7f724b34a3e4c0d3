"""The suppression rules over sequences of events in time, through the real writers.

Each case is a script of steps on a clock the test moves (day N, hour H): messages are
queued and their outcomes recorded by storage.messages.record (synchronous results,
classified by delivery.outcome), returned mail is stored and processed by the inbound
pipeline (DSNs, ARF complaints), people add and remove entries; ``expect`` checks what the
delivery engine would see (storage.suppressions.check) at that moment. Both backends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bounceloop.config import Settings
from bounceloop.core.suppression import Decision, Failure, Policy
from bounceloop.delivery.outcome import verdict
from bounceloop.delivery.result import StepResult
from bounceloop.inbound.process import Context, run_batch
from bounceloop.storage import messages as store
from bounceloop.storage import outbox, received, suppressions
from bounceloop.storage.tables import errors, suppression_log
from bounceloop.storage.tables import suppressions as suppressions_table
from bounceloop.testing import bounces

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DOMAIN = "bounces.sender.test"
SECRET = "rules-secret"
NEWS, SHOP = "news@sender.test", "shop@sender.test"
MIME = b"From: news@sender.test\r\nSubject: Hello\r\n\r\nHello.\r\n"
WORKER = "test-worker"

OK = StepResult.reply("data", 250, "2.0.0 queued as 1234")
UNKNOWN = StepResult.reply("rcptto", 550, "5.1.1 <x>: Recipient address rejected: User unknown")
MOVED = StepResult.reply("rcptto", 551, "5.1.6 User has moved; please try <new@dest.test>")
FULL = StepResult.reply("rcptto", 552, "5.2.2 Mailbox full, quota exceeded")
FULL_4XX = StepResult.reply("rcptto", 452, "4.2.2 Mailbox full")
DISABLED = StepResult.reply("rcptto", 550, "5.2.1 This mailbox is disabled (suspended)")
BLOCKED = StepResult.reply("rcptto", 554, "5.7.1 Service unavailable; Client host [192.0.2.1] "
                           "blocked using zen.spamhaus.org")
DMARC = StepResult.reply("data", 550, "5.7.26 Unauthenticated email from sender.test is not "
                         "accepted due to domain's DMARC policy")
NXDOMAIN = StepResult("dns", "error", "", "5.1.2", "dead.test: domain does not exist")
NULL_MX = StepResult("dns", "error", "", "5.1.10", "nomail.test: null MX (RFC 7505)")


@dataclass(frozen=True)
class Step:
    day: float
    """Days after T0 (fractions: hours)."""


@dataclass(frozen=True)
class Send(Step):
    """Queue a message to ``rcpt`` and record this attempt's result for it."""

    rcpt: str
    result: StepResult
    sender: str = NEWS
    expire: bool = False
    """Record the result after the message's deadline (a 4xx becomes "expired")."""


@dataclass(frozen=True)
class Bounce(Step):
    """A DSN for the last message to ``rcpt`` arrives (it was accepted before)."""

    rcpt: str
    status: str
    diagnostic: str


@dataclass(frozen=True)
class Complain(Step):
    rcpt: str
    sender: str = NEWS


@dataclass(frozen=True)
class Add(Step):
    value: str
    type: str = "address"
    days: float | None = None
    note: str = "asked by the user"


@dataclass(frozen=True)
class Remove(Step):
    value: str
    type: str = "address"
    note: str = "was a mistake"


@dataclass(frozen=True)
class Expect(Step):
    """What the engine sees at this moment: rcpt -> reason of the entry hitting it, or
    None (not suppressed); per sender."""

    seen: dict[str, str | None]
    sender: str = NEWS


@dataclass(frozen=True)
class Sweep(Step):
    """The service's expiry sweep runs."""

    removed: int


class World:
    def __init__(self, engine: Engine, policy: Policy) -> None:
        self.engine = engine
        self.policy = policy
        self.now = T0
        self.ctx = replace(Context.of(Settings(bounce_domain=DOMAIN, verp_secret=SECRET)),
                           policy=policy)
        self.mailings: dict[str, int] = {}
        self.last: dict[str, str] = {}
        """rcpt -> id of the last message queued to it."""
        self.envelopes: dict[str, str] = {}

    def at(self, day: float) -> None:
        self.now = T0 + timedelta(days=day)

    def mailing(self, sender: str) -> int:
        if sender not in self.mailings:
            with self.engine.begin() as conn:
                self.mailings[sender] = store.create_mailing(
                    conn, name=sender, sender=sender, mime=MIME, tags=[],
                    retry_schedule=None, max_delivery_time=None, now=self.now)
        return self.mailings[sender]

    def send(self, s: Send) -> None:
        mailing = self.mailing(s.sender)
        with self.engine.begin() as conn:
            [mid] = store.queue(conn, mailing, s.sender,
                                [store.NewMessage(s.rcpt)], bounce_domain=DOMAIN,
                                verp_secret=SECRET, max_delivery_time=3600, now=self.now)
        jobs = outbox.claim(self.engine, [store.DELIVER], WORKER, 10, 60, self.now,
                            refs=[mid])
        with self.engine.connect() as conn:
            [p] = store.pending(conn, jobs)
        when = self.now + timedelta(hours=2) if s.expire else self.now
        v = verdict(s.result, p.recipient, 1, when, p.expires_at, [600])
        store.record(self.engine, WORKER, [store.Outcome(p, s.result, v, self.now, 5)],
                     when, self.policy)
        self.last[s.rcpt] = mid
        self.envelopes[s.rcpt] = p.envelope

    def receive(self, raw: bytes, rcpt: str) -> None:
        [rid] = received.store_many(self.engine, [received.Incoming(
            raw=raw, mail_from="", rcpts=(self.envelopes[rcpt],), received_at=self.now)])
        run_batch(self.engine, self.ctx, [rid], clock=lambda: self.now)

    def copy(self, rcpt: str) -> bytes:
        return f"X-Bounceloop-Id: {self.last[rcpt]}\r\nTo: {rcpt}\r\n".encode() + MIME

    def run(self, step: Step) -> None:
        self.at(step.day)
        if isinstance(step, Send):
            self.send(step)
        elif isinstance(step, Bounce):
            self.receive(bounces.dsn(step.rcpt, self.copy(step.rcpt), status=step.status,
                                     diagnostic=step.diagnostic), step.rcpt)
        elif isinstance(step, Complain):
            self.send(Send(step.day, step.rcpt, OK, sender=step.sender))
            self.receive(bounces.arf(step.rcpt, self.copy(step.rcpt), sender=step.sender),
                         step.rcpt)
        elif isinstance(step, Add):
            expires = self.now + timedelta(days=step.days) if step.days else None
            with self.engine.begin() as conn:
                suppressions.put(conn, suppressions.manual(step.type, step.value,
                                                           expires_at=expires),
                                 source="manual", actor="test", note=step.note, now=self.now)
        elif isinstance(step, Remove):
            with self.engine.begin() as conn:
                assert suppressions.remove(conn, step.type, step.value, note=step.note,
                                           actor="test", now=self.now) is not None
        elif isinstance(step, Sweep):
            with self.engine.begin() as conn:
                assert suppressions.expire(conn, self.now) == step.removed
        elif isinstance(step, Expect):
            with self.engine.connect() as conn:
                hits = suppressions.check(conn, [(r, step.sender) for r in step.seen],
                                          self.now)
            seen = {r: (hits[(r.lower(), step.sender)].reason
                        if (r.lower(), step.sender) in hits else None) for r in step.seen}
            assert seen == step.seen, f"day {step.day}"


@dataclass(frozen=True)
class Case:
    name: str
    steps: list[Step]
    policy: Policy = field(default_factory=Policy)


MAILBOX_FULL = "552 5.2.2 <{rcpt}>: Mailbox full"

CASES = [
    Case("hard: user unknown suppresses at once, for ever", [
        Expect(0, {"jo@dest.test": None}),
        Send(0, "jo@dest.test", UNKNOWN),
        Expect(0, {"jo@dest.test": "userunknown", "Jo@Dest.test": "userunknown",
                   "other@dest.test": None}),
        Expect(3650, {"jo@dest.test": "userunknown"}),
    ]),
    Case("hard: has moved", [
        Send(0, "jo@dest.test", MOVED), Expect(0, {"jo@dest.test": "hasmoved"})]),
    Case("hard: an asynchronous bounce (DSN 5.1.1) suppresses the address", [
        Send(0, "jo@dest.test", OK), Expect(0.1, {"jo@dest.test": None}),
        Bounce(0.1, "jo@dest.test", "5.1.1", "550 5.1.1 <{rcpt}>: User unknown"),
        Expect(0.1, {"jo@dest.test": "userunknown"}),
    ]),
    Case("domain: NXDOMAIN from our DNS suppresses the domain, for 90 days", [
        Send(0, "jo@dead.test", NXDOMAIN),
        Expect(0, {"jo@dead.test": "hostunknown", "anyone@dead.test": "hostunknown",
                   "jo@dest.test": None}),
        Expect(89, {"anyone@dead.test": "hostunknown"}),
        Expect(90.1, {"anyone@dead.test": None, "jo@dead.test": None}),
        Sweep(90.1, removed=2),
    ]),
    Case("domain: a null MX (RFC 7505) suppresses the domain", [
        Send(0, "jo@nomail.test", NULL_MX),
        Expect(0, {"jo@nomail.test": "notaccept", "other@nomail.test": "notaccept"}),
    ]),
    Case("domain: a remote 'host unknown' suppresses the address only", [
        Send(0, "jo@relayed.test", OK),
        Bounce(0.1, "jo@relayed.test", "5.1.2",
               "550 5.1.2 Host or domain name not found. Name service error"),
        Expect(0.1, {"jo@relayed.test": "hostunknown", "other@relayed.test": None}),
    ]),
    Case("domain: off by setting", [
        Send(0, "jo@dead.test", NXDOMAIN),
        Expect(0, {"jo@dead.test": "hostunknown", "anyone@dead.test": None}),
    ], Policy(domains=False)),
    Case("soft: mailbox full on three different days suppresses, for 30 days", [
        Send(0, "jo@dest.test", FULL), Expect(0, {"jo@dest.test": None}),
        Send(1, "jo@dest.test", FULL), Expect(1, {"jo@dest.test": None}),
        Send(2, "jo@dest.test", FULL), Expect(2, {"jo@dest.test": "mailboxfull"}),
        Expect(31.9, {"jo@dest.test": "mailboxfull"}),
        Expect(32.1, {"jo@dest.test": None}),
        Sweep(32.1, removed=1),
        # The failures before the suppression do not count again after it.
        Send(33, "jo@dest.test", FULL), Expect(33, {"jo@dest.test": None}),
    ]),
    Case("soft: three on the same day are one day", [
        Send(0, "jo@dest.test", FULL), Send(0.1, "jo@dest.test", FULL),
        Send(0.2, "jo@dest.test", FULL), Expect(0.3, {"jo@dest.test": None}),
        Send(1, "jo@dest.test", FULL), Expect(1, {"jo@dest.test": None}),
        Send(2, "jo@dest.test", FULL), Expect(2, {"jo@dest.test": "mailboxfull"}),
    ]),
    Case("soft: outside the 30-day window they do not add up", [
        Send(0, "jo@dest.test", FULL), Send(20, "jo@dest.test", FULL),
        Send(40, "jo@dest.test", FULL), Expect(40, {"jo@dest.test": None}),
        Send(45, "jo@dest.test", FULL), Expect(45, {"jo@dest.test": "mailboxfull"}),
    ]),
    Case("soft: a delivery in between resets the count", [
        Send(0, "jo@dest.test", FULL), Send(1, "jo@dest.test", FULL),
        Send(1.5, "jo@dest.test", OK),
        Send(2, "jo@dest.test", FULL), Expect(2, {"jo@dest.test": None}),
        Send(3, "jo@dest.test", FULL), Expect(3, {"jo@dest.test": None}),
        Send(4, "jo@dest.test", FULL), Expect(4, {"jo@dest.test": "mailboxfull"}),
    ]),
    Case("soft: an accepted message that bounced later is no delivery", [
        Send(0, "jo@dest.test", OK), Bounce(0.1, "jo@dest.test", "5.2.2", MAILBOX_FULL),
        Send(1, "jo@dest.test", OK), Bounce(1.1, "jo@dest.test", "5.2.2", MAILBOX_FULL),
        Send(2, "jo@dest.test", OK), Expect(2, {"jo@dest.test": None}),
        Bounce(2.1, "jo@dest.test", "5.2.2", MAILBOX_FULL),
        Expect(2.1, {"jo@dest.test": "mailboxfull"}),
    ]),
    Case("soft: suspended and over-limit mix with mailbox full", [
        Send(0, "jo@dest.test", DISABLED), Send(1, "jo@dest.test", FULL),
        Send(2, "jo@dest.test", DISABLED), Expect(2, {"jo@dest.test": "suspend"}),
        Expect(60, {"jo@dest.test": "suspend"}), Expect(92.1, {"jo@dest.test": None}),
    ]),
    Case("soft: the threshold is a setting", [
        Send(0, "jo@dest.test", FULL), Expect(0, {"jo@dest.test": None}),
        Send(1, "jo@dest.test", FULL), Expect(1, {"jo@dest.test": "mailboxfull"}),
    ], Policy(threshold=2)),
    Case("soft: a 4xx retried until it expired is sender-side, never suppresses", [
        Send(0, "jo@dest.test", FULL_4XX, expire=True),
        Send(1, "jo@dest.test", FULL_4XX, expire=True),
        Send(2, "jo@dest.test", FULL_4XX, expire=True),
        Expect(2.5, {"jo@dest.test": None}),
    ]),
    Case("sender side: a blocklisted IP and DMARC never suppress", [
        *[Send(d, "jo@dest.test", BLOCKED) for d in range(6)],
        *[Send(d, "jo@dest.test", DMARC) for d in range(6)],
        Bounce(6, "jo@dest.test", "5.7.1", "550 5.7.1 Message rejected as spam"),
        Expect(7, {"jo@dest.test": None}),
    ]),
    Case("complaint: suppresses the address for that sender only", [
        Complain(0, "jo@dest.test"),
        Expect(0, {"jo@dest.test": "complaint"}),
        Expect(0, {"jo@dest.test": None}, sender=SHOP),
        Expect(3650, {"jo@dest.test": "complaint"}),
    ]),
    Case("complaint: with scope all, for every sender", [
        Complain(0, "jo@dest.test"),
        Expect(0, {"jo@dest.test": "complaint"}, sender=SHOP),
    ], Policy(complaint_scope="all")),
    Case("manual: added with an expiry, then gone", [
        Add(0, "jo@dest.test", days=7), Expect(0, {"jo@dest.test": "manual"}),
        Expect(6.9, {"jo@dest.test": "manual"}), Expect(7.1, {"jo@dest.test": None}),
    ]),
    Case("manual: a domain", [
        Add(0, "dest.test", type="domain"),
        Expect(0, {"jo@dest.test": "manual", "x@other.test": None}),
        Remove(1, "dest.test", type="domain"), Expect(1, {"jo@dest.test": None}),
    ]),
    Case("manual override: removal, and the failures before it do not count again", [
        Send(0, "jo@dest.test", FULL), Send(1, "jo@dest.test", FULL),
        Send(2, "jo@dest.test", FULL), Expect(2, {"jo@dest.test": "mailboxfull"}),
        Remove(3, "jo@dest.test"), Expect(3, {"jo@dest.test": None}),
        Send(4, "jo@dest.test", FULL), Expect(4, {"jo@dest.test": None}),
        Send(5, "jo@dest.test", FULL), Expect(5, {"jo@dest.test": None}),
        Send(6, "jo@dest.test", FULL), Expect(6, {"jo@dest.test": "mailboxfull"}),
    ]),
    Case("manual override: a rule never replaces a person's entry", [
        Add(0, "jo@dest.test", days=7), Send(1, "jo@dest.test", UNKNOWN),
        Expect(1, {"jo@dest.test": "manual"}), Expect(7.1, {"jo@dest.test": None}),
    ]),
    Case("a stronger rule lengthens an entry: user unknown after mailbox full", [
        Send(0, "jo@dest.test", FULL), Send(1, "jo@dest.test", FULL),
        Send(2, "jo@dest.test", FULL), Send(3, "jo@dest.test", UNKNOWN),
        Expect(3, {"jo@dest.test": "userunknown"}), Expect(400, {"jo@dest.test": "userunknown"}),
    ]),
    Case("rules off: nothing is suppressed but by hand", [
        Send(0, "jo@dest.test", UNKNOWN), Complain(1, "ann@dest.test"),
        Expect(1, {"jo@dest.test": None, "ann@dest.test": None}),
    ], Policy(enabled=False)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rules(engine: Engine, case: Case) -> None:
    world = World(engine, case.policy)
    for step in case.steps:
        world.run(step)


def test_an_entry_names_its_error_and_every_change_is_logged(engine: Engine) -> None:
    world = World(engine, Policy())
    for step in [Send(0, "jo@dest.test", FULL), Send(1, "jo@dest.test", FULL),
                 Send(2, "jo@dest.test", FULL), Send(3, "jo@dest.test", UNKNOWN),
                 Remove(4, "jo@dest.test", note="customer called"),
                 Add(5, "jo@dest.test", note="asked again")]:
        world.run(step)
    with engine.connect() as conn:
        entry = suppressions.get(conn, "address", "jo@dest.test")
        log = conn.execute(select(suppression_log).order_by(suppression_log.c.id)).all()
        last_full = conn.execute(select(errors.c.id).where(errors.c.reason == "mailboxfull")
                                 .order_by(errors.c.id.desc())).scalars().first()
        unknown = conn.execute(select(errors.c.id).where(errors.c.reason == "userunknown")
                               ).scalar_one()
    assert entry is not None and (entry.reason, entry.source, entry.note) == (
        "manual", "manual", "asked again")
    assert [(r.action, r.reason, r.source, r.note, r.error_id) for r in log] == [
        ("add", "mailboxfull", "rule", "", last_full),
        ("change", "userunknown", "rule", "", unknown),
        ("remove", "userunknown", "rule", "customer called", unknown),
        ("add", "manual", "manual", "asked again", None),
    ]
    assert log[0].expires_at == T0 + timedelta(days=32)
    assert log[1].expires_at is None
    assert [r.time for r in log] == [T0 + timedelta(days=d) for d in (2, 3, 4, 5)]


def test_sender_side_failures_are_counted_per_domain(engine: Engine) -> None:
    world = World(engine, Policy())
    for d in range(4):
        world.run(Send(d, f"u{d}@dest.test", BLOCKED))
    world.run(Send(4, "jo@other.test", DMARC))
    world.run(Send(4, "jo@dest.test", UNKNOWN))  # recipient-side: not in the report
    with engine.connect() as conn:
        report = suppressions.domain_report(conn, Policy(), T0, T0 + timedelta(days=5))
        none = suppressions.domain_report(conn, Policy(), T0 + timedelta(days=5),
                                          T0 + timedelta(days=6))
    assert [(r["domain"], r["reason"], r["count"]) for r in report] == [
        ("dest.test", "blocked", 4), ("other.test", "authfailure", 1)]
    assert report[0]["first"] == T0.isoformat()
    assert none == []


def test_the_engine_fails_a_suppressed_recipient_with_the_entry(engine: Engine) -> None:
    world = World(engine, Policy())
    world.run(Send(0, "jo@dest.test", FULL_4XX))  # deferred: no failure yet
    world.run(Expect(0, {"jo@dest.test": None}))
    world.run(Send(1, "jo@dest.test", UNKNOWN))
    with engine.connect() as conn:
        hit = suppressions.check(conn, [("JO@dest.test", NEWS)], world.now)
    entry = hit[("jo@dest.test", NEWS)]
    assert (entry.code, entry.extended) == ("550", "5.1.1")
    assert entry.description == "suppressed after userunknown on 2026-01-06 (550 5.1.1)"


def test_concurrent_writers_of_one_entry_keep_one(engine: Engine) -> None:
    """Two transactions deciding the same entry: one row, one log line, no error."""
    d = suppressions.manual("address", "jo@dest.test")
    with engine.begin() as conn:
        first = suppressions.put(conn, d, source="rule", actor="rule", now=T0)
        again = suppressions.put(conn, d, source="rule", actor="rule", now=T0)
    assert first is not None and again is None
    with engine.connect() as conn:
        assert len(conn.execute(select(suppression_log)).all()) == 1


def test_a_batch_of_signals_ends_as_one_signal_at_a_time_would(engine: Engine) -> None:
    """suppressions.apply puts a batch's decisions with a few statements for all of them:
    the list and its log end as putting them one by one leaves them - an entry added and
    changed within the batch, an expired entry replaced, a live one lengthened, a
    person's entry left alone, a repeat that changes nothing, a soft failure between."""
    policy = Policy(threshold=1)  # one soft failure suppresses: a soft decision in the batch
    day = timedelta(days=1)

    def failure(reason: str, extended: str, error_id: int) -> Failure:
        return Failure(T0, reason, "550", extended, 5, f"{reason} {error_id}", error_id)

    signals = [
        suppressions.Signal("a@dest.test", T0, failure("userunknown", "5.1.1", 1)),
        suppressions.Signal("a@dest.test", T0, None, NEWS, "abuse"),
        suppressions.Signal("f@dest.test", T0, failure("mailboxfull", "5.2.2", 2)),
        suppressions.Signal("F@dest.test", T0, failure("userunknown", "5.1.1", 3)),
        suppressions.Signal("b@gone.test", T0, failure("hostunknown", "5.1.2", 4)),
        suppressions.Signal("c@dest.test", T0, failure("userunknown", "5.1.1", 5)),
        suppressions.Signal("d@dest.test", T0, failure("userunknown", "5.1.1", 6)),
        suppressions.Signal("e@dest.test", T0, failure("userunknown", "5.1.1", 7)),
        suppressions.Signal("a@dest.test", T0, failure("userunknown", "5.1.1", 8)),
        suppressions.Signal("g@dest.test", T0, failure("mailboxfull", "5.2.2", 9)),
    ]

    def run(batches: list[list[suppressions.Signal]]
            ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        with engine.connect() as conn:
            transaction = conn.begin()
            for value, reason, expires, source in (
                    ("c@dest.test", "mailboxfull", T0 - day, "rule"),  # expired
                    ("d@dest.test", "manual", None, "manual"),  # a person's
                    ("e@dest.test", "mailboxfull", T0 + day, "rule")):  # live, expiring
                suppressions.put(conn, Decision("address", value, reason, expires),
                                 source=source, actor=source, now=T0 - 2 * day)
            for batch in batches:
                suppressions.apply(conn, batch, policy, T0)
            entries = [tuple(r)[1:] for r in conn.execute(
                select(suppressions_table).order_by(suppressions_table.c.type,
                                                    suppressions_table.c.value,
                                                    suppressions_table.c.sender))]
            log = [tuple(r)[1:] for r in conn.execute(
                select(suppression_log).order_by(suppression_log.c.id))]
            transaction.rollback()
        return entries, log

    together = run([signals])
    alone = run([[s] for s in signals])
    assert together == alone
    entries, log = together
    by_value = {(e[0], e[1], e[2]): e for e in entries}
    assert by_value["address", "d@dest.test", ""][3] == "manual"  # left alone
    assert by_value["address", "f@dest.test", ""][3] == "userunknown"
    assert ("address", "a@dest.test", NEWS) in by_value
    assert [(r[1], r[3]) for r in log[3:]] == [
        ("add", "a@dest.test"), ("add", "a@dest.test"), ("add", "f@dest.test"),
        ("change", "f@dest.test"), ("add", "b@gone.test"),
        ("add", "c@dest.test"), ("change", "e@dest.test"), ("add", "g@dest.test")]

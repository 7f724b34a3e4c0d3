"""Query plans: every lookup of an address (or of a returned message's rows) is served by
that address's index, whatever other index the Errors view or the next issue adds.

A store of 30,000 messages, their error rows (some replaced, some of untied returned mail),
returned messages, events and suppression entries, with every filter value common (as in
production: a few mailings, error types and severities share all the rows). The real
functions run against it, and the plan of each statement they send is asked of the
database itself, with the same parameters (SQLite: EXPLAIN QUERY PLAN; PostgreSQL:
EXPLAIN). Statistics as in production: SQLite has none (bounceloop never runs ANALYZE);
PostgreSQL has those autovacuum gathers (ANALYZE here); and SQLite once more after an
ANALYZE, which an operator may run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, insert, text

from bounceloop.core.addresslist import Row
from bounceloop.core.suppression import Failure, Policy
from bounceloop.inbound.lookup import DatabaseLookup
from bounceloop.storage import errorlist, events, migrate, received, selections, suppressions
from bounceloop.storage.engine import create_engine
from bounceloop.storage.tables import (
    errors,
    mailings,
    messages,
    suppression_log,
)
from bounceloop.storage.tables import events as events_table
from bounceloop.storage.tables import received as received_table
from bounceloop.storage.tables import suppressions as suppressions_table
from bounceloop.testing import postgres

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MESSAGES = 30_000
MAILINGS = 5


def address(n: int) -> str:
    return f"user{n:06d}@domain{n % 500}.test"


# -- the store ------------------------------------------------------------------------------

def _fill(engine: Engine) -> None:
    """Every message has an event; nine in ten failed with an error row (every fifth of
    those from a returned message, some of them complaints and some untied: recipient
    ''); each address has two messages, one in twenty spelt with a capital."""
    with engine.begin() as conn:
        conn.execute(insert(mailings), [
            {"id": m, "name": f"m{m}", "sender": "news@sender.test", "mime": b"x",
             "tags": "[]", "created_at": T0} for m in range(1, MAILINGS + 1)])
    msgs, errs, recs, evs, sups, log = [], [], [], [], [], []
    for i in range(MESSAGES):
        rcpt = address(i // 2)
        if i % 20 == 7:
            rcpt = rcpt.capitalize()
        mailing = 1 + i % MAILINGS
        when = T0 + timedelta(minutes=37 * i % (300 * 24 * 60))
        mid = f"m{i:08d}"
        delivered = i % 10 == 3
        msgs.append({"id": mid, "mailing_id": mailing, "sender": "news@sender.test",
                     "recipient": rcpt, "domain": rcpt.rpartition("@")[2].lower(),
                     "envelope": "b@x.test", "tags": "[]", "fields": "{}",
                     "status": "delivered" if delivered else "failed", "attempts": 1,
                     "created_at": when, "updated_at": when, "expires_at": when,
                     "finished_at": when})
        evs.append({"time": when, "type": "delivery" if delivered else "failure",
                    "message_id": mid, "mailing_id": mailing, "data": "{}",
                    "recipient": rcpt, "key": f"k{i}"})
        if delivered:
            continue
        hard = i % 4 < 2
        bounce = i % 5 == 0
        untied = bounce and i % 50 == 0
        rid = i + 1 if bounce else None
        e_rcpt = "" if untied else rcpt
        if bounce:
            recs.append({"id": rid, "received_at": when, "source": "smtp", "size": 10,
                         "digest": hashlib.sha256(mid.encode()).hexdigest(),
                         "status": "processed", "times_processed": 1,
                         "message_id": None if untied else mid,
                         "mailing_id": None if untied else mailing,
                         "recipient": e_rcpt or None, "tied_by": "" if untied else "verp",
                         "kind": "complaint" if i % 15 == 0 else "failure", "raw": b"x"})
        errs.append({"id": i + 1, "timestamp": when, "message_id": None if untied else mid,
                     "mailing_id": None if untied else mailing, "recipient": e_rcpt,
                     "domain": e_rcpt.rpartition("@")[2].lower() or None,
                     "code": "550" if hard else "452", "extended": "5.1.1" if hard else "4.2.2",
                     "description": "x", "errortype": "mailerror" if i % 3 else "nohost",
                     "step": 5 if bounce else 4, "state": "bounce" if bounce else "rcptto",
                     "severity": "hard" if hard else "soft",
                     "reason": "userunknown" if hard else "mailboxfull", "hardbounce": hard,
                     "received_id": rid, "current": i % 33 != 1, "tied": not untied})
        if hard and not untied and i % 2 == 0:
            entry = {"type": "address", "value": rcpt.lower(), "sender": "",
                     "reason": "userunknown", "source": "rule", "code": "550", "note": "",
                     "error_id": i + 1, "expires_at": None}
            sups.append({**entry, "created_at": when, "updated_at": when})
            log.append({**entry, "time": when, "action": "add", "actor": "rule"})
    with engine.begin() as conn:
        for table, rows in ((messages, msgs), (received_table, recs), (errors, errs),
                            (events_table, evs), (suppressions_table, sups),
                            (suppression_log, log)):
            for start in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[start:start + 5000])
        if engine.dialect.name == "postgresql":
            # The rows above were given their ids: new rows' ids start after them.
            for table in ("errors", "received"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                                  f" (SELECT max(id) FROM {table}))"))


@dataclass(frozen=True)
class Store:
    engine: Engine
    name: str


@pytest.fixture(scope="module", params=[
    "sqlite", "sqlite-analyzed", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Store]:
    if request.param == "postgres":
        server: postgres.Server = request.getfixturevalue("postgres_server")
        url = server.create_database("plans")
        request.addfinalizer(lambda: server.drop_database("plans"))
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('plans') / 'store.db'}"
    engine = create_engine(url)
    migrate.upgrade(engine)
    _fill(engine)
    if request.param != "sqlite":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    try:
        yield Store(engine, request.param)
    finally:
        engine.dispose()


# -- plans ----------------------------------------------------------------------------------

_INDEX = re.compile(r"\b((?:ix|uq|pk)_\w+|sqlite_autoindex_\w+)")
# SQLite: "SCAN errors" (every row, or every entry of a covering index); PostgreSQL: "Seq
# Scan on errors".
_SCAN = re.compile(r"(?:\bSCAN|Seq Scan on) (\w+)")


def reads(plan: str) -> set[str]:
    """The indexes a plan searches, and ``scan:TABLE`` for each table it reads through."""
    return set(_INDEX.findall(plan)) | {f"scan:{t}" for t in _SCAN.findall(plan)}


def plans(conn: Connection, work: Callable[[], object]) -> list[tuple[str, str]]:
    """(statement, its plan) of every SELECT that ``work`` sends through ``conn``, the plan
    asked with the same parameters just before the statement runs."""
    seen: list[tuple[str, str]] = []
    postgresql = conn.dialect.name == "postgresql"

    def explain(c: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        if executemany or not statement.lstrip().upper().startswith("SELECT"):
            return
        probe = c.connection.dbapi_connection.cursor()
        try:
            if postgresql:
                probe.execute("EXPLAIN " + statement, parameters)
                plan = "\n".join(r[0] for r in probe.fetchall())
            else:
                probe.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = "\n".join(r[3] for r in probe.fetchall())
        finally:
            probe.close()
        seen.append((" ".join(statement.split()), plan))

    event.listen(conn, "before_cursor_execute", explain)
    try:
        work()
    finally:
        event.remove(conn, "before_cursor_execute", explain)
    return seen


def check(seen: list[tuple[str, str]], expected: dict[str, set[str]]) -> None:
    """Each statement containing a key of ``expected`` ran, and its plan reads exactly
    that set of indexes (and no table through)."""
    for fragment, indexes in expected.items():
        matching = [(sql, plan) for sql, plan in seen if fragment in sql]
        assert matching, f"no statement with {fragment!r} ran: {[s for s, _ in seen]}"
        for sql, plan in matching:
            assert reads(plan) == indexes, f"{sql[:300]}\n--- plan ---\n{plan}"


@pytest.fixture
def conn(store: Store) -> Iterator[Connection]:
    """A connection whose work is rolled back (some of the functions write)."""
    with store.engine.connect() as c:
        try:
            yield c
        finally:
            c.rollback()


# -- selections -----------------------------------------------------------------------------

SINCE = T0 + timedelta(days=100)
CRITERIA = {
    "no-errors": selections.Criteria(),
    "since": selections.Criteria(since=SINCE),
    "window, mailing": selections.Criteria(since=SINCE, until=SINCE + timedelta(days=90),
                                           mailing=2),
    "errortype, final": selections.Criteria(mode=selections.ERRORS, errortypes=("nohost",),
                                            severity="final", count=("=", 1)),
    "codes": selections.Criteria(codes=("5.1.1", "452")),
    "not suppressed": selections.Criteria(not_suppressed=True),
}


def chunk(store: Store) -> int:
    """The addresses a selection asks for at once. SQLite, without statistics, plans a
    chunk by its length alone: the chunk a list is read in (2,000 values took it to
    (current, timestamp)). PostgreSQL weighs the share of the store a chunk asks for, and
    for a seventh of these 27,000 rows a scan is its right plan: the share of a chunk of
    2,000 in the store of 1,000,000 errors that bench/selections.py measures (there
    PostgreSQL 15 read the chunk by the recipient index, 2.5 ms)."""
    return selections.CHUNK if store.name.startswith("sqlite") else \
        selections.CHUNK * 27_000 // 1_000_000


@pytest.mark.parametrize("name", CRITERIA)
def test_a_selection_finds_its_addresses_by_the_recipient_index(conn: Connection,
                                                                 store: Store,
                                                                 name: str) -> None:
    # One chunk, half of its addresses with errors.
    size = chunk(store)
    listed = [Row(n, [address(n * 3)], address(n * 3)) for n in range(size)]
    kept: list[object] = []
    seen = plans(conn, lambda: kept.extend(selections.run(conn, listed, CRITERIA[name], T0,
                                                          chunk=size)))
    check(seen, {"FROM errors": {"ix_errors_recipient_lower"}})
    assert kept  # the selection ran and kept rows: its plan is the one that counted


def test_untied_returned_mail_never_counts_for_a_selection(conn: Connection) -> None:
    # Evidence against no address is stored with recipient ''; even a row that named an
    # address (a hand edit, an older processing) must not count while it is untied.
    conn.execute(insert(errors).values(
        timestamp=T0, recipient="nobody@untied.test", domain="untied.test", code="550",
        extended="5.1.1", description="x", errortype="mailerror", step=5, state="bounce",
        severity="hard", reason="userunknown", hardbounce=True, current=True, tied=False))
    listed = [Row(2, ["nobody@untied.test"], "nobody@untied.test")]
    assert list(selections.run(conn, listed, selections.Criteria(), T0)) == listed


# -- the suppression rules, reprocessing ----------------------------------------------------

def test_the_soft_rule_reads_an_address_history_by_its_indexes(conn: Connection) -> None:
    rcpt = address(4321)
    failure = Failure(T0 + timedelta(days=200), "mailboxfull", "452", "4.2.2", 4)
    seen = plans(conn, lambda: suppressions.apply(conn, [suppressions.Signal(
        rcpt, failure.time, failure)], Policy(), T0 + timedelta(days=200)))
    check(seen, {
        "FROM errors WHERE lower(errors.recipient) =": {"ix_errors_recipient_lower"},
        "FROM messages WHERE messages.recipient IN": {"ix_messages_recipient",
                                                      "ix_errors_message_id"},
        "FROM suppression_log": {"ix_suppression_log_value"},
    })


def test_reprocessing_reads_a_message_rows_by_its_indexes(conn: Connection,
                                                          store: Store) -> None:
    # Returned messages whose errors held suppression entries, processed again into no
    # error: their rows are read by received_id, the entries lifted, and each address's
    # remaining failures read by its index to weigh it again.
    ids = [i + 1 for i in range(0, 6000, 20) if i % 50][:100]
    batch = [received.Processed(id=i, status="processed", message_id=None, mailing_id=None,
                                recipient=None, tied_by="", detector="", kind="", error=None)
             for i in ids]
    seen = plans(conn, lambda: received.save_many(conn, batch, T0 + timedelta(days=400),
                                                  Policy()))
    check(seen, {
        "FROM errors WHERE errors.received_id IN": {"ix_errors_received_id"},
        "FROM errors WHERE lower(errors.recipient) =": {"ix_errors_recipient_lower"},
    })


# -- the Errors view, correlation, the event list -------------------------------------------

RECIPIENT_QUERIES = {
    "recipient": errorlist.Query(recipient=address(777)),
    "recipient, tied": errorlist.Query(recipient=address(777), tied=True),
    "recipient, errortype, since": errorlist.Query(recipient=address(777).upper(),
                                                   errortypes=("mailerror",), since=T0),
    "recipient, mailing, oldest first": errorlist.Query(recipient=address(777), mailing=5,
                                                        descending=False),
}


@pytest.mark.parametrize("name", RECIPIENT_QUERIES)
def test_the_errors_of_an_address_are_read_by_its_index(conn: Connection, name: str
                                                        ) -> None:
    q = RECIPIENT_QUERIES[name]
    seen = plans(conn, lambda: (errorlist.page(conn, q), list(errorlist.stream(conn, q,
                                                                                batch=1))))
    check(seen, {"FROM errors": {"ix_errors_recipient_lower"}})
    # The page, its count, and the export: keyset batches (newest first) or one read.
    assert sum(1 for sql, _ in seen if "FROM errors" in sql) >= 3


def test_correlation_finds_the_message_of_a_mailing_by_its_recipient(conn: Connection
                                                                     ) -> None:
    lookup = DatabaseLookup(conn)
    found: list[object] = []
    seen = plans(conn, lambda: found.extend((lookup.in_mailing(3, address(1001)),
                                             lookup.latest_to(address(1001)))))
    check(seen, {"FROM messages": {"ix_messages_recipient"}})
    assert len(seen) == 2 and all(found)


def test_the_events_of_an_address_are_read_by_its_index(conn: Connection) -> None:
    f = events.Filters(recipient=address(1001), mailing=3, since=T0, type="failure")
    seen = plans(conn, lambda: list(events.listing(conn, f)))
    check(seen, {"FROM events": {"ix_events_recipient"}})


def test_the_store_is_what_the_planner_weighs(store: Store) -> None:
    # The figures the plans above were made for (a smaller store would make a scan the
    # right plan on PostgreSQL, and prove nothing).
    with store.engine.connect() as c:
        counts = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("messages", "errors", "received", "events", "suppressions")}
    assert counts == {"messages": 30_000, "errors": 27_000, "received": 6_000,
                      "events": 30_000, "suppressions": 7_200}


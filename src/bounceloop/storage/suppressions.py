"""The suppression list: addresses and domains never to be mailed, and its audit history.

An entry is (type, value, sender): an address or a domain (lower-cased), for every sender
('') or for one (a complaint). It says why (``reason``: the rule's reason, ``complaint``,
``manual``), by what (``source``: rule, manual, import), which error caused it, until when
(``expires_at``; None: for ever), and what a suppressed message fails with (code, extended,
description). Every change is a row of ``suppression_log``::

    add      a new entry (or one replacing an expired entry)
    change   an entry's reason or expiry replaced (a stronger rule, a manual edit, import)
    remove   taken off by hand (CLI, API) - its note says why
    expire   taken off by :func:`expire` once its time passed

:func:`apply` runs the rules (core.suppression) on the failures and complaints a writer
has just stored, in the writer's transaction: a failure that suppresses is on the list when
its error row is, so the next message to that address fails at once (:func:`check`).
Rules never overrule a person: an entry added by hand or imported is left as it is.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from bounceloop.core.address import AddressError, domain_of, normalize
from bounceloop.core.csvcell import restore
from bounceloop.core.frozen import by_fields
from bounceloop.core.suppression import (
    MANUAL,
    Decision,
    Failure,
    Policy,
    Side,
    on_complaint,
    on_failure,
)
from bounceloop.storage.engine import chunks, conflict_insert
from bounceloop.storage.plan import unindexed
from bounceloop.storage.prepared import Prepared, timestamps
from bounceloop.storage.tables import errors, messages, suppression_log, suppressions

TYPES = ("address", "domain")
SOURCES = ("rule", "manual", "import")
RULE = "rule"


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    type: str
    value: str
    sender: str
    reason: str
    source: str
    code: str
    extended: str
    description: str
    note: str
    error_id: int | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None

    def live(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("created_at", "updated_at", "expires_at"):
            out[name] = out[name].isoformat() if out[name] else None
        return out

    __reduce__ = by_fields  # to the delivery database process (core.frozen)


def _entry(r: Row[Any]) -> Entry:
    return _as_entry(r._mapping, r.id)


@dataclass(frozen=True, slots=True)
class Signal:
    """A final failure or a complaint of one recipient, just stored by a writer."""

    recipient: str
    time: datetime
    failure: Failure | None = None
    """None: a complaint."""
    sender: str = ""
    """The sender of the message it is about (a complaint's scope)."""
    feedback_type: str = ""


# -- reading ------------------------------------------------------------------------------

def check(conn: Connection, pairs: Iterable[tuple[str, str]], now: datetime
          ) -> dict[tuple[str, str], Entry]:
    """Which (recipient, sender) pairs are suppressed, keyed by both lower-cased: an
    address entry first (for any sender or this one), else the domain's."""
    wanted = {(r.lower(), s.lower()) for r, s in pairs}
    if not wanted:
        return {}
    addresses = sorted({r for r, _ in wanted})
    domains = sorted({domain_of(r) for r in addresses})
    found: dict[tuple[str, str, str], Entry] = {}
    for kind, values in (("address", addresses), ("domain", domains)):
        for chunk in chunks(values):
            for r in conn.execute(select(suppressions).where(
                    (suppressions.c.type == kind) & suppressions.c.value.in_(chunk))):
                e = _entry(r)
                if e.live(now):
                    found[(e.type, e.value, e.sender)] = e
    out: dict[tuple[str, str], Entry] = {}
    for rcpt, sender in wanted:
        domain = domain_of(rcpt)
        hit = (found.get(("address", rcpt, "")) or found.get(("address", rcpt, sender))
               or found.get(("domain", domain, "")) or found.get(("domain", domain, sender)))
        if hit is not None:
            out[(rcpt, sender)] = hit
    return out


def entries_of(conn: Connection, value: str) -> list[Entry]:
    """Every entry (any type, any sender, expired or not) of one address or domain."""
    return [_entry(r) for r in conn.execute(select(suppressions).where(
        suppressions.c.value == value.lower()).order_by(suppressions.c.id))]


def get(conn: Connection, type: str, value: str, sender: str = "") -> Entry | None:
    r = conn.execute(select(suppressions).where(
        (suppressions.c.type == type) & (suppressions.c.value == value.lower())
        & (suppressions.c.sender == sender.lower()))).first()
    return _entry(r) if r is not None else None


@dataclass(frozen=True, slots=True)
class Query:
    """What the list is searched by (empty: everything live)."""

    search: str = ""
    """A part of the value (address or domain)."""
    type: str = ""
    reason: str = ""
    source: str = ""
    sender: str | None = None
    expired: bool = False
    """Also entries whose time has passed but :func:`expire` has not removed yet."""
    start: int = 0
    limit: int | None = 100


def _where(q: Query, now: datetime) -> list[Any]:
    cond: list[Any] = []
    if q.search:
        pattern = "%" + q.search.lower().replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        cond.append(suppressions.c.value.like(pattern, escape="\\"))
    for name in ("type", "reason", "source"):
        if getattr(q, name):
            cond.append(suppressions.c[name] == getattr(q, name))
    if q.sender is not None:
        cond.append(suppressions.c.sender == q.sender.lower())
    if not q.expired:
        cond.append(or_(suppressions.c.expires_at.is_(None), suppressions.c.expires_at > now))
    return cond


def listing(conn: Connection, q: Query, now: datetime) -> tuple[list[Entry], int]:
    """A page of entries (newest first) and how many match in all."""
    cond = _where(q, now)
    total = conn.execute(select(func.count()).select_from(suppressions).where(*cond)).scalar()
    stmt = select(suppressions).where(*cond).order_by(suppressions.c.id.desc()).offset(q.start)
    if q.limit is not None:
        stmt = stmt.limit(q.limit)
    return [_entry(r) for r in conn.execute(stmt)], int(total or 0)


def every(conn: Connection, now: datetime, batch: int = 5000) -> Iterator[Entry]:
    """Every live entry in id order, read in batches (the CSV export)."""
    last = 0
    while True:
        rows = conn.execute(select(suppressions).where(
            suppressions.c.id > last,
            or_(suppressions.c.expires_at.is_(None), suppressions.c.expires_at > now),
        ).order_by(suppressions.c.id).limit(batch)).all()
        if not rows:
            return
        for r in rows:
            yield _entry(r)
        last = rows[-1].id


def history(conn: Connection, value: str = "", *, start: int = 0, limit: int = 100
            ) -> list[dict[str, Any]]:
    """Changes, newest first; of one address or domain when ``value`` is given."""
    stmt = select(suppression_log).order_by(suppression_log.c.id.desc())
    if value:
        stmt = stmt.where(suppression_log.c.value == value.lower())
    out = []
    for r in conn.execute(stmt.offset(start).limit(limit)):
        row = dict(r._mapping)
        for name in ("time", "expires_at"):
            row[name] = row[name].isoformat() if row[name] else None
        out.append(row)
    return out


def domain_report(conn: Connection, policy: Policy, since: datetime, until: datetime,
                  limit: int = 100) -> list[dict[str, Any]]:
    """Sender-side failures (which never suppress) per destination domain and reason,
    most first: where the sender has a problem (a blocklisted IP, DMARC, rate limits)."""
    rows = conn.execute(select(
        errors.c.domain, errors.c.reason, func.count().label("n"),
        func.min(errors.c.timestamp).label("first"), func.max(errors.c.timestamp).label("last"),
    ).where(
        errors.c.current.is_(True), errors.c.timestamp >= since, errors.c.timestamp < until,
        errors.c.reason != "", errors.c.reason.is_not(None),
        # Untied returned mail is about no address of ours, so about no domain we mail.
        errors.c.tied.is_(True),
    ).group_by(errors.c.domain, errors.c.reason))
    out = [{"domain": r.domain or "", "reason": r.reason, "count": int(r.n),
            "first": _iso(r.first), "last": _iso(r.last)}
           for r in rows if policy.side(r.reason) is Side.SENDER]
    out.sort(key=lambda d: (-d["count"], d["domain"], d["reason"]))
    return out[:limit]


def _iso(value: datetime | None) -> str:
    # Aggregates keep the column's type (UTCDateTime): aware datetimes on both backends.
    return value.isoformat() if value else ""


# -- writing ------------------------------------------------------------------------------

def _log_row(action: str, e: Mapping[str, Any], *, actor: str, note: str, now: datetime
             ) -> dict[str, Any]:
    return {"time": now, "action": action, "type": e["type"], "value": e["value"],
            "sender": e["sender"], "reason": e["reason"], "source": e["source"],
            "actor": actor, "code": e["code"], "extended": e["extended"],
            "description": e["description"], "note": note, "error_id": e["error_id"],
            "expires_at": e["expires_at"]}


_LOG = Prepared(insert(suppression_log).values(
    {c.name: bindparam(c.name) for c in suppression_log.columns if c.name != "id"}))


def _log(conn: Connection, action: str, e: Mapping[str, Any], *, actor: str, note: str,
         now: datetime) -> None:
    _insert_log(conn, [_log_row(action, e, actor=actor, note=note, now=now)])


def _insert_log(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Log rows (:func:`_log_row`) as raw rows (storage.prepared): SQLAlchemy's executemany
    built each row's parameters through the compiled statement, about 6 us a row of a
    worker's batch."""
    when = timestamps(conn.dialect)
    _LOG.many(conn, [{**r, "time": when(r["time"]), "expires_at": when(r["expires_at"])}
                     for r in rows])


def _insert(conn: Connection, values: dict[str, Any]) -> bool:
    """Insert unless the (type, value, sender) is there already (a concurrent writer)."""
    ins = conflict_insert(conn, suppressions)
    stmt = ins.values(**values).on_conflict_do_nothing(
        index_elements=["type", "value", "sender"]).returning(suppressions.c.id)
    return conn.execute(stmt).first() is not None


def _longer(new: datetime | None, old: datetime | None) -> bool:
    return old is not None and (new is None or new > old)


def _same(old: Entry, values: Mapping[str, Any]) -> bool:
    return all(getattr(old, k) == (values[k] or ("" if k in ("extended", "description")
                                                 else values[k]))
               for k in ("reason", "source", "code", "extended", "description", "note",
                         "expires_at"))


def _change(old: Entry | None, d: Decision, *, source: str, now: datetime, note: str
            ) -> tuple[str, dict[str, Any]] | None:
    """What putting ``d`` on the list does to the entry there (``old``): ("add" or
    "change", the row's new values), or None when nothing changes (see :func:`put`)."""
    values = {"type": d.type, "value": d.value.lower(), "sender": d.sender.lower(),
              "reason": d.reason, "source": source, "code": d.code,
              "extended": d.extended or None, "description": d.description or None,
              "note": note, "error_id": d.error_id, "updated_at": now,
              "expires_at": d.expires_at}
    if old is None:
        return "add", {**values, "created_at": now}
    live = old.live(now)
    if source == RULE and live and (old.source != RULE
                                    or not _longer(d.expires_at, old.expires_at)):
        return None
    if live and _same(old, values):
        return None  # a re-import or a repeated request: nothing to log
    if not live:
        values["created_at"] = now
    return ("change" if live else "add"), values


def put(conn: Connection, d: Decision, *, source: str, actor: str, now: datetime,
        note: str = "") -> Entry | None:
    """Put an entry on the list; the entry, or None when nothing changed.

    A rule (``source`` rule) adds, replaces an expired entry, or lengthens a live entry of
    another rule (userunknown after mailboxfull: for ever); it never touches an entry a
    person made. A person (manual, import) replaces whatever is there.
    """
    old = get(conn, d.type, d.value, d.sender)
    change = _change(old, d, source=source, now=now, note=note)
    if change is None:
        return None
    action, values = change
    if old is None:
        if not _insert(conn, values):
            return None  # another writer put it there a moment ago
    else:
        conn.execute(update(suppressions).where(suppressions.c.id == old.id).values(**values))
    _log(conn, action, values, actor=actor, note=note, now=now)
    return get(conn, d.type, d.value, d.sender)


def _put_rules(conn: Connection, decisions: Sequence[Decision], now: datetime) -> None:
    """:func:`put` of each decision of the rules, in order, with a few statements for all
    of them instead of four each: the entries there read in one query, the new ones
    inserted and every change logged in one statement each. A burst of returned mail puts
    thousands of addresses on the list at once (bench/inbound.py: four statements per
    address were 60% of a worker's time)."""
    if not decisions:
        return
    keys = {(d.type, d.value.lower(), d.sender.lower()) for d in decisions}
    there: dict[tuple[str, str, str], Entry | None] = dict.fromkeys(keys)
    types = sorted({k[0] for k in keys})
    for chunk in chunks(sorted({k[1] for k in keys})):
        # (type, value) IN ...: the unique index on (type, value, sender) finds each.
        for r in conn.execute(select(suppressions).where(
                suppressions.c.type.in_(types), suppressions.c.value.in_(chunk))):
            if (r.type, r.value, r.sender) in there:
                there[r.type, r.value, r.sender] = _entry(r)
    new: dict[tuple[str, str, str], dict[str, Any]] = {}
    """Entries to insert (none was there), as the last decision about each leaves them."""
    changed: dict[int, dict[str, Any]] = {}
    """Entries to update, by id."""
    logs: list[tuple[tuple[str, str, str], dict[str, Any]]] = []
    for d in decisions:
        key = (d.type, d.value.lower(), d.sender.lower())
        old = there[key]
        change = _change(old, d, source=RULE, now=now, note="")
        if change is None:
            continue
        action, values = change
        if old is None or key in new:
            if key in new:  # the entry this batch adds, changed again before its insert
                values = {**values, "created_at": new[key]["created_at"]}
            new[key] = values
        else:
            changed[old.id] = values
        there[key] = _as_entry(values, old.id if old is not None else 0)
        logs.append((key, {**values, "action": action}))
    lost: set[tuple[str, str, str]] = set()
    if new:
        stmt = conflict_insert(conn, suppressions).on_conflict_do_nothing(
            index_elements=["type", "value", "sender"]).returning(
                suppressions.c.type, suppressions.c.value, suppressions.c.sender)
        made = {(r.type, r.value, r.sender) for r in conn.execute(stmt, list(new.values()))}
        # Put there by another writer since it was read (PostgreSQL; SQLite's writers take
        # turns): those decisions are put again one by one, against what is there now.
        lost = set(new) - made
    for entry_id, values in changed.items():
        conn.execute(update(suppressions).where(suppressions.c.id == entry_id).values(**values))
    rows = [_log_row(v.pop("action"), v, actor=RULE, note="", now=now)
            for key, v in logs if key not in lost]
    _insert_log(conn, rows)
    for d in decisions:
        if (d.type, d.value.lower(), d.sender.lower()) in lost:
            put(conn, d, source=RULE, actor=RULE, now=now)


def _as_entry(values: Mapping[Any, Any], entry_id: int) -> Entry:
    """The entry of a row's values (a row of the table, or the values about to be written:
    an entry that changes keeps its ``created_at``, which they then leave out)."""
    return Entry(entry_id, values["type"], values["value"], values["sender"],
                 values["reason"], values["source"], values["code"],
                 values["extended"] or "", values["description"] or "", values["note"],
                 values["error_id"], values.get("created_at", values["updated_at"]),
                 values["updated_at"], values["expires_at"])


def remove(conn: Connection, type: str, value: str, sender: str = "", *, note: str = "",
           actor: str, now: datetime) -> Entry | None:
    """Take an entry off the list (logged with ``note``); the entry, or None if absent."""
    old = get(conn, type, value, sender)
    if old is None:
        return None
    conn.execute(delete(suppressions).where(suppressions.c.id == old.id))
    _log(conn, "remove", asdict(old) | {"extended": old.extended or None}, actor=actor,
         note=note, now=now)
    return old


def expire(conn: Connection, now: datetime, batch: int = 1000) -> int:
    """Take entries whose time has passed off the list, logging each; the number."""
    rows = conn.execute(select(suppressions).where(
        suppressions.c.expires_at.is_not(None), suppressions.c.expires_at <= now,
    ).order_by(suppressions.c.id).limit(batch)).all()
    for r in rows:
        e = _entry(r)
        _log(conn, "expire", asdict(e) | {"extended": e.extended or None}, actor="expiry",
             note="", now=now)
    for chunk in chunks([r.id for r in rows]):
        conn.execute(delete(suppressions).where(suppressions.c.id.in_(chunk)))
    return len(rows)


# -- the rules ----------------------------------------------------------------------------

def apply(conn: Connection, signals: Sequence[Signal], policy: Policy, now: datetime) -> None:
    """Run the rules on just-stored failures and complaints (see module doc), in order:
    the list then reads as if each signal's decisions had been put before the next was
    weighed (a soft failure's history reads the list's log, so what waits is put first)."""
    if not policy.enabled:
        return
    waiting: list[Decision] = []
    for s in signals:
        if s.failure is None:
            decisions = on_complaint(policy, s.recipient, s.sender, s.time, s.feedback_type)
        else:
            side = policy.side(s.failure.reason, s.failure.code, s.failure.extended)
            if side is Side.SOFT:
                _put_rules(conn, waiting, now)
                waiting = []
                earlier, reset = _soft_history(conn, s.recipient, s.failure, policy)
                decisions = on_failure(policy, s.recipient, s.failure, earlier, reset)
            elif side is Side.HARD:
                decisions = on_failure(policy, s.recipient, s.failure)
            else:
                continue
        waiting += decisions
    _put_rules(conn, waiting, now)


def _variants(recipient: str) -> list[str]:
    # Messages keep the recipient as the user gave it; a bounce may spell it in lower case.
    return sorted({recipient, recipient.lower()})


def _soft_history(conn: Connection, recipient: str, f: Failure, policy: Policy
                  ) -> tuple[list[Failure], datetime | None]:
    """The recipient's other failures in the window, and the last sign it works: a
    delivered message with no error of its own, or any change of its list entry."""
    start = f.time - policy.window
    names = _variants(recipient)
    # Each lookup is by the address's own index; the other terms are unindexed
    # (storage.plan): SQLite without statistics took (current, timestamp) for the first,
    # which holds every current row of the window (0.4 s on 1,000,000 errors, per soft
    # failure written), and messages by status with (current, timestamp) for its errors.
    e, m = errors.c, messages.c
    earlier = [Failure(r.timestamp, r.reason, r.code or "", r.extended or "", r.step)
               for r in conn.execute(select(
                   e.timestamp, e.reason, e.code, e.extended, e.step).where(
                   func.lower(e.recipient) == recipient.lower(),
                   unindexed(e.current).is_(True),
                   unindexed(e.timestamp) > start, unindexed(e.timestamp) <= f.time,
                   e.id != (f.error_id or -1)))]
    delivered = conn.execute(select(func.max(m.finished_at)).where(
        m.recipient.in_(names), unindexed(m.status) == "delivered",
        unindexed(m.finished_at) > start, unindexed(m.finished_at) <= f.time,
        ~exists().where(and_(e.message_id == m.id, unindexed(e.current).is_(True))),
    )).scalar()
    changed = conn.execute(select(func.max(suppression_log.c.time)).where(
        suppression_log.c.type == "address", suppression_log.c.value == recipient.lower(),
        unindexed(suppression_log.c.time) <= f.time)).scalar()
    # max() keeps the column's type (UTCDateTime): aware datetimes on both backends.
    stamps = [t for t in (delivered, changed) if t is not None]
    return earlier, max(stamps) if stamps else None


def target(value: str, kind: str = "") -> tuple[str, str]:
    """(type, value) of an entry a person names: an address (normalized) when it has an @
    or ``kind`` says so, else a domain; lower-cased. ValueError says what is wrong."""
    value = value.strip()
    kind = kind or ("address" if "@" in value else "domain")
    if kind not in TYPES:
        raise ValueError(f"type is address or domain, not {kind!r}")
    if kind == "address":
        try:
            return kind, normalize(value).lower()
        except AddressError as exc:
            raise ValueError(str(exc)) from None
    if "@" in value or "." not in value or " " in value:
        raise ValueError(f"not a domain: {value!r}")
    return kind, value.lower()


def manual(type: str, value: str, *, sender: str = "", reason: str = MANUAL,
           code: str = "550", extended: str = "5.7.1", description: str = "",
           expires_at: datetime | None = None) -> Decision:
    """A decision made by a person (CLI, API, import)."""
    return Decision(type, value.lower(), reason or MANUAL, expires_at, code=code,
                    extended=extended, description=description, sender=sender.lower())


# -- CSV ----------------------------------------------------------------------------------

#: The export's columns; an import reads the same (only ``value`` is required).
CSV_COLUMNS = ("type", "value", "sender", "reason", "source", "code", "extended",
               "description", "note", "created_at", "expires_at", "error_id")


@dataclass
class Imported:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    """(line, why) of each row not imported."""

    def public(self) -> dict[str, Any]:
        return {"added": self.added, "changed": self.changed, "unchanged": self.unchanged,
                "bad": [{"line": n, "error": e} for n, e in self.bad]}


def decision_of(row: Mapping[str, str], now: datetime) -> Decision:
    """An import row as a decision, or ValueError saying what is wrong with it."""
    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    value = get("value") or get("email") or get("address") or get("domain")
    if not value:
        raise ValueError("no value (address or domain)")
    kind, value = target(value, get("type"))
    code = get("code") or "550"
    if not (len(code) == 3 and code.isdigit() and code[0] in "45"):
        raise ValueError(f"code is a 4xx or 5xx reply code, not {code!r}")
    expires: datetime | None = None
    if get("expires_at"):
        try:
            expires = datetime.fromisoformat(get("expires_at"))
        except ValueError:
            raise ValueError(f"expires_at is not a date-time: {get('expires_at')!r}") from None
        expires = expires.replace(tzinfo=UTC) if expires.tzinfo is None else expires
        if expires <= now:
            raise ValueError(f"expired already ({expires.isoformat()})")
    return manual(kind, value, sender=get("sender"), reason=get("reason") or MANUAL,
                  code=code, extended=get("extended") or "5.7.1",
                  description=get("description"), expires_at=expires)


def load_csv(conn: Connection, lines: Iterable[str], *, actor: str, now: datetime,
             note: str = "") -> Imported:
    """Import a CSV list (the export's columns, or just a ``value`` or ``email`` column)
    in the caller's transaction; bad rows are listed with their line, the rest imported.
    A cell of quotes and then ``= + - @``, tab or CR loses one quote
    (core.csvcell.restore)."""
    out = Imported()
    reader = csv.DictReader(lines)
    try:
        names = [(f or "").strip().lower().lstrip("\ufeff") for f in reader.fieldnames or []]
    except csv.Error as exc:
        raise ValueError(f"line 1: the header cannot be read: {exc}") from None
    if not {"value", "email", "address", "domain"} & set(names):
        raise ValueError("the header has no value (or email, address, domain) column: "
                         + ", ".join(reader.fieldnames or ["(empty)"]))
    reader.fieldnames = names
    start = 2
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            out.bad.append((start, f"cannot be read as CSV: {exc}"))
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if None in row or any(v is None for v in row.values()):
            out.bad.append((line, f"not {len(names)} fields, as the header has"))
            continue
        # Our CSV exports quote cells a spreadsheet would run (core.csvcell): undone
        # here, so an export imports as it was.
        row = {k: restore(v) for k, v in row.items()}
        try:
            d = decision_of(row, now)
        except ValueError as exc:
            out.bad.append((line, str(exc)))
            continue
        old = get(conn, d.type, d.value, d.sender)
        entry = put(conn, d, source="import", actor=actor, now=now,
                    note=(row.get("note") or "").strip() or note)
        if entry is None:
            out.unchanged += 1
        elif old is not None and old.live(now):
            out.changed += 1
        else:
            out.added += 1
    return out


def csv_row(e: Entry) -> dict[str, Any]:
    values = e.public()
    return {k: ("" if values[k] is None else values[k]) for k in CSV_COLUMNS}

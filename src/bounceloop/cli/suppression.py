"""``bounceloop suppression``: the suppression list, from the shell.

    bounceloop suppression add VALUE [--domain] [--sender S] [--note TEXT] [--days N |
                                     --expires DATE] [--reason R] [--code C --extended X]
                                     [--description TEXT]
    bounceloop suppression remove VALUE [--domain] [--sender S] --note TEXT
    bounceloop suppression list [--search TEXT] [--type T] [--reason R] [--source S]
                                [--expired] [--limit N] [--format table|jsonl|csv]
    bounceloop suppression show VALUE           the entries of an address/domain + history
    bounceloop suppression check ADDRESS [--sender S]   exit 1 if the engine would refuse it
    bounceloop suppression history [VALUE] [--limit N] [--format ...]
    bounceloop suppression export [FILE]        CSV (storage.suppressions.CSV_COLUMNS)
    bounceloop suppression import FILE [--note TEXT]    bad rows listed with their lines
    bounceloop suppression domains [--days N]   sender-side failures per destination domain
    bounceloop suppression expire               take expired entries off now (serve does it)

A VALUE with an @ is an address, else a domain (``--domain`` says so explicitly).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import click
from sqlalchemy import Connection

from bounceloop.cli.listing import FORMATS, parse_since, write_rows
from bounceloop.cli.select import open_list
from bounceloop.cli.send import _die, database, in_transaction
from bounceloop.core.address import AddressError, normalize
from bounceloop.storage import suppressions as store
from bounceloop.storage.engine import utcnow

ACTOR = "cli"
COLUMNS = ("type", "value", "sender", "reason", "source", "code", "extended", "created_at",
           "expires_at", "note", "description")
TABLE = ("type", "value", "sender", "reason", "source", "created_at", "expires_at", "note")
HISTORY = ("time", "action", "type", "value", "sender", "reason", "source", "actor",
           "expires_at", "note")


def _target(value: str, domain: bool) -> tuple[str, str]:
    try:
        return store.target(value, "domain" if domain else "")
    except ValueError as exc:
        _die(str(exc))


@click.group("suppression")
def suppression_command() -> None:
    """The suppression list: addresses and domains never to be mailed."""


@suppression_command.command("add")
@click.argument("value")
@click.option("--domain", is_flag=True, help="VALUE is a domain.")
@click.option("--sender", default="", help="Only for mail from this sender.")
@click.option("--note", default="", help="Why (kept in the history).")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Expires after N days (default: never).")
@click.option("--expires", default=None, help="Expires at this UTC date/time.")
@click.option("--reason", default="manual", show_default=True)
@click.option("--code", default="550", show_default=True,
              help="The reply code suppressed mail fails with.")
@click.option("--extended", default="5.7.1", show_default=True)
@click.option("--description", default="", help="The text suppressed mail fails with.")
def add(value: str, domain: bool, sender: str, note: str, days: float | None,
        expires: str | None, reason: str, code: str, extended: str, description: str) -> None:
    """Put an address or a domain on the list (replacing its entry, if any)."""
    kind, value = _target(value, domain)
    now = utcnow()
    if days is not None and expires is not None:
        raise click.UsageError("give --days or --expires, not both")
    until = now + timedelta(days=days) if days is not None else parse_since(expires,
                                                                             "--expires")
    if until is not None and until <= now:
        raise click.BadParameter("that time has passed", param_hint="--expires")
    if not (len(code) == 3 and code.isdigit() and code[0] in "45"):
        raise click.BadParameter("a 4xx or 5xx reply code", param_hint="--code")
    d = store.manual(kind, value, sender=sender, reason=reason, code=code, extended=extended,
                     description=description, expires_at=until)
    with database() as (_, db):
        entry = in_transaction(db, lambda conn: store.put(
            conn, d, source="manual", actor=ACTOR, now=now, note=note))
    if entry is None:
        click.echo(f"{kind} {value}: already on the list, unchanged")
    else:
        click.echo(f"{kind} {value}: suppressed" + (
            f" until {entry.expires_at.isoformat()}" if entry.expires_at else ""))


@suppression_command.command("remove")
@click.argument("value")
@click.option("--domain", is_flag=True, help="VALUE is a domain.")
@click.option("--sender", default="", help="The entry for this sender.")
@click.option("--note", required=True, help="Why (kept in the history).")
def remove(value: str, domain: bool, sender: str, note: str) -> None:
    """Take an address or a domain off the list."""
    kind, value = _target(value, domain)
    with database() as (_, db):
        old = in_transaction(db, lambda conn: store.remove(
            conn, kind, value, sender, note=note, actor=ACTOR, now=utcnow()))
    if old is None:
        _die(f"{kind} {value}" + (f" (sender {sender})" if sender else "")
             + " is not on the list")
    click.echo(f"{kind} {value}: removed ({old.reason}, since "
               f"{old.created_at:%Y-%m-%d %H:%M:%S})")


def _format(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "jsonl")


@suppression_command.command("list")
@click.option("--search", default="", help="A part of the address or domain.")
@click.option("--type", "kind", type=click.Choice(store.TYPES), default=None)
@click.option("--reason", default="")
@click.option("--source", type=click.Choice(store.SOURCES), default=None)
@click.option("--expired", is_flag=True, help="Also entries whose time has passed.")
@click.option("--start", type=click.IntRange(min=0), default=0)
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="At most N entries (default: all).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Default: a table on a terminal, else jsonl.")
def list_(search: str, kind: str | None, reason: str, source: str | None, expired: bool,
          start: int, limit: int | None, fmt: str | None) -> None:
    """The entries, newest first."""
    q = store.Query(search=search, type=kind or "", reason=reason, source=source or "",
                    expired=expired, start=start, limit=limit)
    with database() as (_, db):
        entries, total = in_transaction(db, lambda conn: store.listing(conn, q, utcnow()))
    write_rows((e.public() for e in entries), _format(fmt), COLUMNS, TABLE, sys.stdout)
    if _format(fmt) == "table":
        click.echo(f"{len(entries)} of {total}", err=True)


@suppression_command.command("show")
@click.argument("value")
def show(value: str) -> None:
    """An address's or domain's entries (any sender) and its history."""
    value = value.strip().lower()

    def work(conn: Connection) -> tuple[list[store.Entry], list[dict[str, Any]]]:
        return store.entries_of(conn, value), store.history(conn, value, limit=1000)

    with database() as (_, db):
        entries, log = in_transaction(db, work)
    if not entries and not log:
        _die(f"{value}: never on the list")
    for e in entries:
        click.echo(f"{e.type} {e.value}" + (f" (sender {e.sender})" if e.sender else "")
                   + f": {e.reason} by {e.source} since {e.created_at:%Y-%m-%d %H:%M:%S}, "
                   + (f"until {e.expires_at:%Y-%m-%d %H:%M:%S}" if e.expires_at
                      else "for ever")
                   + (f"; note: {e.note}" if e.note else ""))
    if not entries:
        click.echo(f"{value}: not on the list")
    click.echo("history:")
    for row in log:
        click.echo(f"  {row['time']} {row['action']} {row['reason']} ({row['source']}, "
                   f"{row['actor']})" + (f" note: {row['note']}" if row["note"] else ""))


@suppression_command.command("check")
@click.argument("address")
@click.option("--sender", default="", help="Mail from this sender.")
def check(address: str, sender: str) -> None:
    """Whether mail to ADDRESS would be refused: prints why; exit 1 if it would."""
    try:
        address = normalize(address)
    except AddressError as exc:
        _die(str(exc))
    with database() as (_, db):
        hits = in_transaction(db, lambda conn: store.check(conn, [(address, sender)],
                                                           utcnow()))
    hit = hits.get((address.lower(), sender.lower()))
    if hit is None:
        click.echo(f"{address}: not suppressed")
        return
    click.echo(f"{address}: suppressed by {hit.type} {hit.value} ({hit.reason}, "
               f"{hit.code} {hit.extended} {hit.description})".rstrip())
    sys.exit(1)


@suppression_command.command("history")
@click.argument("value", default="")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None)
def history(value: str, limit: int, fmt: str | None) -> None:
    """Changes to the list, newest first (of VALUE only, if given)."""
    with database() as (_, db):
        rows = in_transaction(db, lambda conn: store.history(conn, value, limit=limit))
    write_rows(rows, _format(fmt), tuple(rows[0]) if rows else HISTORY, HISTORY, sys.stdout)


@suppression_command.command("export")
@click.argument("path", default="-")
def export(path: str) -> None:
    """Every live entry as CSV, to PATH (default stdout)."""
    with database() as (_, db), db.connect() as conn:
        rows = (store.csv_row(e) for e in store.every(conn, utcnow()))
        if path == "-":
            n = write_rows(rows, "csv", store.CSV_COLUMNS, (), sys.stdout)
        else:
            with open(path, "w", encoding="utf-8", newline="") as f:
                n = write_rows(rows, "csv", store.CSV_COLUMNS, (), f)
    click.echo(f"exported {n} entries", err=True)


@suppression_command.command("import")
@click.argument("path")
@click.option("--note", default="", help="A note for rows without one.")
def import_(path: str, note: str) -> None:
    """Add the entries of a CSV file (the export's columns, or only value/email).
    Bad rows are listed with their lines; the others are imported."""
    with open_list(path) as lines, database() as (_, db):
        try:
            result = in_transaction(db, lambda conn: store.load_csv(
                conn, lines, actor="import", now=utcnow(), note=note))
        except ValueError as exc:
            _die(str(exc))
    for line, error in result.bad:
        click.echo(f"line {line}: {error}", err=True)
    click.echo(f"imported: {result.added} added, {result.changed} changed, "
               f"{result.unchanged} unchanged, {len(result.bad)} bad")
    if result.bad:
        sys.exit(1)


@suppression_command.command("domains")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, help="Over the last N days.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None)
def domains(days: float, limit: int, fmt: str | None) -> None:
    """Sender-side failures (blocked, DMARC, rate limits, expired, ...) per destination
    domain: problems of the sender, which never suppress a recipient."""
    now = utcnow()
    with database() as (settings, db):
        rows = in_transaction(db, lambda conn: store.domain_report(
            conn, settings.suppression_policy(), now - timedelta(days=days), now, limit))
    write_rows(rows, _format(fmt), ("domain", "reason", "count", "first", "last"),
               ("domain", "reason", "count", "first", "last"), sys.stdout)


@suppression_command.command("expire")
def expire() -> None:
    """Take the entries whose time has passed off the list now (logged)."""
    total = 0
    with database() as (_, db):
        while n := in_transaction(db, lambda conn: store.expire(conn, utcnow())):
            total += n
    click.echo(f"expired {total} entries")

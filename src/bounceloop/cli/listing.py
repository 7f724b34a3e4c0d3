"""``bounceloop errors`` and ``bounceloop events``: the store, inspected and scripted.

    bounceloop errors [--format table|jsonl|csv] [--mailing M] [--recipient R]
                      [--since DATE] [--type ERRORTYPE] [--history] [--limit N]
    bounceloop events [--format table|jsonl|csv] [--mailing M] [--recipient R]
                      [--since DATE] [--type TYPE] [--limit N]

Rows stream in id order (oldest first), so ``--since`` plus the last id seen is an
incremental sync. Times are UTC, ISO 8601. ``--since`` takes a date (``2026-11-22``) or a
date and time (``2026-11-22T10:00``, UTC unless it names an offset).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import IO, Any

import click
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from bounceloop.cli.send import _die, load_settings
from bounceloop.core.csvcell import cell
from bounceloop.service import DatabaseError, open_database, reason
from bounceloop.storage import errorlist
from bounceloop.storage import events as event_store

FORMATS = ("table", "jsonl", "csv")


def parse_since(value: str | None, hint: str = "--since") -> datetime | None:
    """A UTC date or date-time option (naive: UTC)."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"not a date or date-time: {value!r} (try 2026-11-22 or "
                                 "2026-11-22T10:00)", param_hint=hint) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def write_rows(rows: Iterable[dict[str, Any]], fmt: str, columns: tuple[str, ...],
               table_columns: tuple[str, ...], stream: IO[str]) -> int:
    """Stream rows as jsonl (values as they are) or csv (cells neutralised for
    spreadsheets, core.csvcell); a table is printed at the end. The row count."""
    count = 0
    if fmt == "table":
        from rich import box
        from rich.console import Console
        from rich.table import Table

        console = Console(file=stream, width=None if stream.isatty() else 200)
        table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
        for name in table_columns:
            table.add_column(name, overflow="ellipsis",
                             no_wrap=name not in ("description", "data"))
        for row in rows:
            count += 1
            table.add_row(*(_cell(row.get(c)) for c in table_columns))
        console.print(table)
        return count
    writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore") \
        if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    for row in rows:
        count += 1
        if writer is not None:
            writer.writerow({k: cell(v) for k, v in row.items()})
        else:
            stream.write(json.dumps({k: _plain(v) for k, v in row.items()},
                                    ensure_ascii=False) + "\n")
    stream.flush()
    return count


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items()
                        if v not in ("", None, [], {}) and k not in ("id", "recipient"))
    return str(value)


def _run(query: Callable[[Connection], Iterator[dict[str, Any]]], fmt: str | None,
         columns: tuple[str, ...], table_columns: tuple[str, ...]) -> None:
    settings = load_settings()
    try:
        db = open_database(settings)
    except DatabaseError as exc:
        _die(str(exc))
    out = sys.stdout
    try:
        with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            write_rows(query(conn), fmt or ("table" if out.isatty() else "jsonl"), columns,
                       table_columns, out)
    except SQLAlchemyError as exc:
        _die(f"cannot read the database: {reason(exc)}")
    finally:
        db.dispose()


def _common(f: Callable[..., None]) -> Callable[..., None]:
    for option in reversed([
        click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                     help="Output format (default: table on a terminal, jsonl otherwise)."),
        click.option("--mailing", type=int, default=None, help="Only this mailing (id)."),
        click.option("--recipient", default="", help="Only this recipient address."),
        click.option("--since", default=None, help="Only rows at or after this UTC date/time."),
        click.option("--limit", type=click.IntRange(min=1), default=None,
                     help="At most this many rows."),
    ]):
        f = option(f)
    return f


#: --tied / --untied: returned mail tied to a message we sent, or not (inbound.correlate).
_tied_option = click.option(
    "--tied/--untied", "tied", default=None,
    help="Only rows of mail we sent (--tied), or only returned mail tied to no message of "
         "ours, kept as evidence (--untied). Default: both.")


@click.command("errors")
@_common
@click.option("--type", "errortype", default="",
              help="Only this error type (nohost, unreachable, error, mailerror, ...).")
@click.option("--history", is_flag=True,
              help="Also rows a reprocessing replaced (current=false).")
@_tied_option
def errors_command(fmt: str | None, mailing: int | None, recipient: str, since: str | None,
                   limit: int | None, errortype: str, history: bool, tied: bool | None) -> None:
    """List error rows: synchronous (steps 1-4) and bounces (step 5)."""
    try:
        q = errorlist.Query(mailing=mailing, recipient=recipient, since=parse_since(since),
                            errortypes=(errortype,) if errortype else (), history=history,
                            tied=tied, sort="id", descending=False)
    except errorlist.QueryError as exc:
        raise click.BadParameter(str(exc)) from None
    _run(lambda conn: islice(errorlist.stream(conn, q), limit), fmt, errorlist.FIELDS,
         ("id", "timestamp", "recipient", "step", "state", "code", "extended", "errortype",
          "severity", "reason", "tied", "reported_recipient", "description"))


@click.command("events")
@_common
@click.option("--type", "kind", type=click.Choice(event_store.TYPES), default=None,
              help="Only events of this type.")
@_tied_option
def events_command(fmt: str | None, mailing: int | None, recipient: str, since: str | None,
                   limit: int | None, kind: str | None, tied: bool | None) -> None:
    """List events: delivery, retry, failure, bounce, complaint, delay, ..."""
    filters = event_store.Filters(mailing=mailing, recipient=recipient,
                                  since=parse_since(since), type=kind or "", limit=limit,
                                  tied=tied)
    _run(lambda conn: event_store.listing(conn, filters), fmt,
         ("id", "time", "type", "message_id", "mailing_id", "recipient", "data"),
         ("id", "time", "type", "message_id", "recipient", "data"))

"""``bounceloop select``: keep the addresses of a CSV list with (or without) errors.

    bounceloop select --no-errors [filters] IN.csv > OUT.csv
    bounceloop select --errors --count '>2' --final --since 2026-01-01 IN.csv > OUT.csv

Every input column is kept; rows come out in input order. Bad rows are reported on stderr
with their line numbers (and written to ``--rejects FILE`` as they were, if asked), and a
summary line says how many rows were read, kept, removed and bad. The semantics of the
filters are storage.selections'.
"""

from __future__ import annotations

import csv
import sys
from datetime import timedelta
from typing import IO

import click

from bounceloop.cli.listing import parse_since
from bounceloop.cli.send import _die, database
from bounceloop.core.addresslist import AddressList, Bad, ListError
from bounceloop.storage import selections
from bounceloop.storage.engine import utcnow


def open_list(path: str) -> IO[str]:
    """A CSV list as text: UTF-8 (a BOM is dropped), bytes that are not UTF-8 kept as
    surrogates so the row can be reported, not the file refused."""
    if path == "-":
        return open(sys.stdin.fileno(), encoding="utf-8-sig", errors="surrogateescape",
                    newline="", closefd=False)
    try:
        return open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        _die(f"cannot read {path}: {exc.strerror or exc}")


def criteria(mode: str, since: str | None, until: str | None, days: float | None,
             mailing: int | None, errortypes: tuple[str, ...], codes: tuple[str, ...],
             severity: str, count: str | None, not_suppressed: bool,
             sender: str) -> selections.Criteria:
    start = parse_since(since)
    if days is not None:
        if start is not None:
            raise click.UsageError("give --since or --days, not both")
        start = utcnow() - timedelta(days=days)
    try:
        return selections.Criteria(
            mode=mode, since=start, until=parse_since(until, "--until"), mailing=mailing,
            errortypes=errortypes, codes=tuple(selections.check_code(c) for c in codes),
            severity=severity, count=selections.parse_count(count) if count else (">", 0),
            not_suppressed=not_suppressed, sender=sender)
    except selections.CriteriaError as exc:
        raise click.UsageError(str(exc)) from None


@click.command("select")
@click.option("--errors", "mode", flag_value=selections.ERRORS,
              help="Keep addresses with matching errors (\"an error must have been "
                   "registered\").")
@click.option("--no-errors", "mode", flag_value=selections.NO_ERRORS,
              help="Keep addresses without (\"no error must have been registered\").")
@click.option("--since", default=None, help="Errors at or after this UTC date/time.")
@click.option("--until", default=None, help="Errors before this UTC date/time.")
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Errors of the last N days (instead of --since).")
@click.option("--mailing", type=int, default=None, help="Errors of this mailing only.")
@click.option("--errortype", "errortypes", multiple=True,
              help="Errors of this type (repeat for any of several).")
@click.option("--code", "codes", multiple=True,
              help="Errors with this reply code (550) or enhanced status (5.1.1); repeatable.")
@click.option("--temporary", "severity", flag_value="temporary", default="",
              help="Temporary (soft) errors only.")
@click.option("--final", "severity", flag_value="final", help="Final (hard) errors only.")
@click.option("--count", default=None,
              help="How many matching errors: =N, <N, >N, <=N, >=N (default >0).")
@click.option("--not-suppressed", is_flag=True,
              help="Also drop addresses on the suppression list.")
@click.option("--sender", default="",
              help="With --not-suppressed: entries for this sender count too.")
@click.option("--column", default="", help="The address column: its name, or its number.")
@click.option("--no-header", is_flag=True, help="The list has no header row.")
@click.option("--rejects", "rejects_path", default=None, type=click.Path(dir_okay=False),
              help="Write bad rows here as they were, with their line and error.")
@click.option("--strict", is_flag=True, help="Exit with status 1 if any row was bad.")
@click.argument("path", default="-")
def select_command(mode: str | None, since: str | None, until: str | None,
                   days: float | None, mailing: int | None, errortypes: tuple[str, ...],
                   codes: tuple[str, ...], severity: str, count: str | None,
                   not_suppressed: bool, sender: str, column: str, no_header: bool,
                   rejects_path: str | None, strict: bool, path: str) -> None:
    """Keep the rows of the CSV list PATH (- = stdin) whose address has no error
    (--no-errors) or has errors (--errors) matching the filters; write them to stdout."""
    if mode is None:
        raise click.UsageError("say which: --errors or --no-errors")
    c = criteria(mode, since, until, days, mailing, errortypes, codes, severity, count,
                 not_suppressed, sender)
    with open_list(path) as source:
        _select(c, source, column, no_header, rejects_path, strict)


def _select(c: selections.Criteria, source: IO[str], column: str, no_header: bool,
            rejects_path: str | None, strict: bool) -> None:
    try:
        items = AddressList(source, column=column, header=not no_header)
    except ListError as exc:
        _die(str(exc))
    out = csv.writer(sys.stdout, delimiter=items.delimiter, lineterminator="\r\n")
    if items.header is not None:
        out.writerow(items.header)
    rejects = None
    if rejects_path:
        rejects_file = open(rejects_path, "w", encoding="utf-8", newline="",  # noqa: SIM115
                            errors="surrogateescape")
        rejects = csv.writer(rejects_file, delimiter=items.delimiter)
        rejects.writerow(["line", "error", *(items.header or [])])
    tally = selections.Tally()
    with database() as (_, db), db.connect().execution_options(
            sqlite_begin="DEFERRED") as conn:
        for item in selections.run(conn, items, c, utcnow(), tally):
            if isinstance(item, Bad):
                click.echo(f"line {item.line}: {item.error}", err=True)
                if rejects is not None:
                    rejects.writerow([item.line, item.error, *item.fields])
            else:
                out.writerow(item.fields)
    sys.stdout.flush()
    if rejects is not None:
        rejects_file.close()
    t = tally
    click.echo(f"select: {t.read} rows read, {t.kept} kept, {t.removed} removed"
               + (f" ({t.suppressed} suppressed)" if c.not_suppressed else "")
               + f", {t.bad} bad", err=True)
    if strict and t.bad:
        sys.exit(1)

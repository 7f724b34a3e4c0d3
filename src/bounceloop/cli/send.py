"""``bounceloop send``: queue one MIME message to every recipient of a CSV file.

    bounceloop send --from ADDR --mime FILE.eml --recipients FILE.csv [--tag T]...
                    [--mailing NAME] [--retry-schedule 600,1800] [--max-delivery-time S]
                    [--wait]

Each recipient becomes a message with its own VERP envelope (when a bounce domain is set).
Without ``--wait`` the messages are queued for the service (``bounceloop serve``) and one
JSON line per message says so; with ``--wait`` this process delivers them itself until each
is delivered, failed, or waiting for a retry, and prints one JSON line per message::

    {"id", "recipient", "envelope", "status", "step", "state", "code", "extended",
     "description", "errortype", "severity", "attempts"}

Bad CSV rows are reported on stderr with their line numbers and skipped. A ``--mime`` file
that is not a message (header fields first: core.headerblock) cannot be used. Exit status:
0 when messages were queued, 1 when none could be (or the files or database cannot be
used), 2 for bad usage.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click

# The database, the delivery engine and the settings are imported by the functions that use
# them: this module's helpers serve the other commands too, and `send --help` needs none.
if TYPE_CHECKING:
    import sqlalchemy
    from sqlalchemy import Connection

    from bounceloop.config import Settings

#: Fewest messages for which ``send --wait`` starts a database process (see delivery.database):
#: starting it costs 0.3-0.4 s, more than it saves on fewer. bench/send.py's command, thread
#: against process, interleaved: 1,393 against 1,134 messages/s for 2,000 messages, 2,023
#: against 2,420 for 5,000, 2,508 against 2,693 for 8,000.
PROCESS_FROM = 3000


def _die(message: str, status: int = 1) -> NoReturn:
    click.echo(f"bounceloop: {message}", err=True)
    sys.exit(status)


def load_settings() -> Settings:
    from pydantic import ValidationError

    from bounceloop.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
                             for e in exc.errors())
        _die(f"bad settings: {problems}")


T = TypeVar("T")


@contextmanager
def database() -> Iterator[tuple[Settings, sqlalchemy.Engine]]:
    """The settings and an open database for a command; a database that cannot be opened
    or used ends the command with the reason."""
    from sqlalchemy.exc import SQLAlchemyError

    from bounceloop.service import DatabaseError, open_database, reason

    settings = load_settings()
    try:
        db = open_database(settings)
    except DatabaseError as exc:
        _die(str(exc))
    try:
        yield settings, db
    except SQLAlchemyError as exc:
        _die(f"cannot use the database: {reason(exc)}")
    finally:
        db.dispose()


def in_transaction(db: sqlalchemy.Engine, work: Callable[[Connection], T]) -> T:
    """``work`` in a transaction of its own, committed when it returns."""
    with db.begin() as conn:
        return work(conn)


@click.command("send")
@click.option("--from", "sender", required=True, help="The sender address (envelope and From).")
@click.option("--mime", "mime_path", required=True, help="The message, as a MIME file.")
@click.option("--recipients", "recipients_path", required=True,
              help="CSV with a header: email, optional tags (;-separated), other fields.")
@click.option("--tag", "tags", multiple=True, help="A tag for every message (repeatable).")
@click.option("--mailing", "name", default="", help="A name for this mailing.")
@click.option("--retry-schedule", "schedule", default=None,
              help="Seconds between retries for this mailing, e.g. 600,1800 (last repeats).")
@click.option("--max-delivery-time", "max_time", type=click.IntRange(min=1), default=None,
              help="Give up on a message this many seconds after it was queued.")
@click.option("--wait", is_flag=True,
              help="Deliver in this process and print each message's outcome.")
def send_command(sender: str, mime_path: str, recipients_path: str, tags: tuple[str, ...],
                 name: str, schedule: str | None, max_time: int | None, wait: bool) -> None:
    """Queue a message to every recipient of a CSV file (and deliver it with --wait)."""
    from bounceloop.cli.main import loading

    with loading():
        import asyncio

        from bounceloop.core import headerblock
        from bounceloop.core.address import AddressError, normalize
        from bounceloop.core.retry import parse_schedule
        from bounceloop.delivery.engine import Engine, worker_name
        from bounceloop.recipients import RecipientsError, read
        from bounceloop.service import DatabaseError, StartError, open_database, open_journal
        from bounceloop.storage import messages as store
        from bounceloop.storage.engine import utcnow

    try:
        sender = normalize(sender)
    except AddressError as exc:
        _die(f"--from: {exc}", 2)
    retry = None
    if schedule is not None:
        try:
            retry = parse_schedule(schedule)
        except ValueError as exc:
            _die(f"--retry-schedule: {exc}", 2)
    settings = load_settings()
    try:
        mime = Path(mime_path).read_bytes()
        csv_data = Path(recipients_path).read_bytes()
    except OSError as exc:
        _die(f"cannot read {exc.filename}: {exc.strerror}")
    why = headerblock.problem(mime)
    if why is not None:
        _die(f"{mime_path}: {why}")
    try:
        recipients, problems = read(csv_data)
    except RecipientsError as exc:
        _die(f"{recipients_path}: {exc}")
    for p in problems:
        click.echo(f"bounceloop: {recipients_path}:{p.line}: {p.message}; skipped", err=True)
    if not recipients:
        _die(f"{recipients_path}: no valid recipients")
    recipients = [replace(m, tags=tuple(dict.fromkeys((*tags, *m.tags)))) for m in recipients]
    try:
        db = open_database(settings)
    except DatabaseError as exc:
        _die(str(exc))
    if wait:
        worker = worker_name()
        try:
            journal = open_journal(settings, worker)
        except StartError as exc:
            _die(str(exc))
        engine = Engine(settings, db, worker=worker, journal=journal,
                        database_process=(settings.delivery_database_process
                                          and len(recipients) >= PROCESS_FROM))
        engine.start()  # its database process starts while the list is queued
    now = utcnow()
    max_delivery = max_time or settings.max_delivery_time
    with db.begin() as conn:
        mailing_id = store.create_mailing(
            conn, name=name, sender=sender, mime=mime, tags=list(tags), retry_schedule=retry,
            max_delivery_time=max_time, now=now)
        ids: list[str] = []
        for start in range(0, len(recipients), 1000):
            ids += store.queue(conn, mailing_id, sender, recipients[start:start + 1000],
                               bounce_domain=settings.bounce_domain,
                               verp_secret=settings.verp_secret.get_secret_value(),
                               max_delivery_time=max_delivery, now=now)
    click.echo(f"bounceloop: queued {len(ids)} messages in mailing {mailing_id}"
               + (f" ({len(problems)} rows skipped)" if problems else ""), err=True)
    if wait:
        try:
            asyncio.run(engine.drain())
        finally:
            journal.close()
    with db.connect() as conn:
        rows = store.summaries(conn, ids)
    out = sys.stdout
    for row in rows:
        if not wait:
            row = {k: row[k] for k in ("id", "recipient", "envelope")} | {"status": "queued"}
        out.write(json.dumps(row) + "\n")
    out.flush()
    db.dispose()

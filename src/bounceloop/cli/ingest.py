"""``bounceloop ingest`` and ``bounceloop reprocess``: the inbound pipeline without SMTP.

    bounceloop ingest PATH...            eml files, mbox files, directories (maildir), -
    bounceloop reprocess [--since DATE]  parse every stored message again

``ingest`` stores each message as the inbound server would (raw bytes and a processing job
in one transaction; the envelope taken from the message's Delivered-To / X-Original-To /
Envelope-To headers, so a mailbox of bounces collected elsewhere still ties by VERP), then
processes what is due and prints one JSON line::

    {"received": N, "tied": T, "unrecognised": U, "failed": F}

``failed`` counts paths that could not be read and messages the parser failed on; they are
named on stderr. ``reprocess`` runs the current parser over stored messages (all, or those
received since DATE) and prints ``{"processed": N, "changed": C}``: changed messages keep
their old error rows as history (``bounceloop errors --history``) and get a
``reclassified`` event. Exit status 0, or 1 when anything failed.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

import click
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from bounceloop.cli.listing import parse_since
from bounceloop.cli.parse import Bar
from bounceloop.cli.send import _die, load_settings
from bounceloop.config import Settings
from bounceloop.delivery.engine import worker_name
from bounceloop.inbound.parser import ParserPool
from bounceloop.inbound.process import Context, Processor, run_batch
from bounceloop.service import DatabaseError, open_database, reason
from bounceloop.sources import SourceError, expand, load
from bounceloop.storage import received as store
from bounceloop.storage.engine import chunks, utcnow
from bounceloop.storage.tables import received

BATCH = 200
_ENVELOPE_HEADERS = (b"delivered-to", b"x-original-to", b"envelope-to", b"x-envelope-to")
_HEADER = re.compile(rb"^([A-Za-z0-9-]+):[ \t]*(.*?)\r?$", re.M)
_ADDRESS = re.compile(rb"<?([^\s<>\"]+@[^\s<>\"]+)>?")


def envelope_of(raw: bytes) -> tuple[bytes, str, tuple[str, ...]]:
    """The message without an mbox ``From `` line, its envelope sender and recipients
    (as far as the delivering MTA wrote them into the header)."""
    mail_from = ""
    if raw.startswith(b"From "):
        first, _, raw = raw.partition(b"\n")
        parts = first.split()
        if len(parts) > 1 and parts[1] != b"MAILER-DAEMON":
            mail_from = parts[1].decode("utf-8", "replace")
    end = min((i for i in (raw.find(b"\n\n"), raw.find(b"\r\n\r\n")) if i >= 0),
              default=len(raw))
    rcpts: list[str] = []
    for m in _HEADER.finditer(raw[:end]):
        name = m.group(1).lower()
        address = _ADDRESS.search(m.group(2))
        if address is None:
            continue
        value = address.group(1).decode("utf-8", "replace")
        if name in _ENVELOPE_HEADERS and value not in rcpts:
            rcpts.append(value)
        elif name == b"return-path" and not mail_from:
            mail_from = value
    return raw, mail_from, tuple(rcpts)


def _incoming(paths: list[str], problems: list[str]) -> Iterator[store.Incoming]:
    for item in expand(paths):
        if isinstance(item, SourceError):
            problems.append(str(item))
            continue
        try:
            chunks = load(item)
        except SourceError as exc:
            problems.append(str(exc))
            continue
        for chunk in chunks:
            raw, mail_from, rcpts = envelope_of(chunk)
            yield store.Incoming(raw=raw, mail_from=mail_from, rcpts=rcpts,
                                 received_at=utcnow(), source="ingest",
                                 peer=item.label)


def _open(settings: Settings) -> Engine:
    try:
        return open_database(settings)
    except DatabaseError as exc:
        _die(str(exc))


@click.command("ingest")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: on when stderr is a terminal).")
@click.argument("paths", nargs=-1, required=True)
def ingest_command(progress: bool | None, paths: tuple[str, ...]) -> None:
    """Feed returned messages collected elsewhere into the bounce pipeline.

    PATH is an .eml file, an mbox file, a directory (maildirs included) or - for stdin.
    """
    settings = load_settings()
    db = _open(settings)
    problems: list[str] = []
    ids: list[int] = []
    show = sys.stderr.isatty() if progress is None else progress
    bar = Bar(None, "storing") if show else None
    try:
        batch: list[store.Incoming] = []
        for item in _incoming(list(paths), problems):
            batch.append(item)
            if len(batch) >= BATCH:
                ids += store.store_many(db, batch)
                batch = []
                if bar is not None:
                    bar.advance(BATCH)
        ids += store.store_many(db, batch)
        if bar is not None:
            bar.stop()
        summary = _process(settings, db, ids)
    except SQLAlchemyError as exc:
        _die(f"cannot use the database: {reason(exc)}")
    finally:
        db.dispose()
    for problem in problems:
        click.echo(f"bounceloop: {problem}", err=True)
    summary["failed"] += len(problems)
    click.echo(json.dumps(summary))
    sys.exit(1 if summary["failed"] else 0)


def _process(settings: Settings, db: Engine, ids: list[int]) -> dict[str, int]:
    """Process what is due (ours, and anything else waiting), then count ours."""
    # Parsed as the service parses: in parser processes, each message within its budget.
    processor = Processor(settings, db, worker_name(), batch=BATCH,
                          parse_processes=settings.parse_processes)
    try:
        while processor.run_once():
            pass
        # Another worker (a running service) may hold some of ours: wait for it, a while.
        deadline = time.monotonic() + max(settings.job_lease, 30.0)
        while True:
            rows: list[Any] = []
            with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                for chunk in chunks(ids):
                    rows += conn.execute(select(
                        received.c.id, received.c.status, received.c.message_id,
                        received.c.kind, received.c.error, received.c.peer)
                        .where(received.c.id.in_(chunk))).all()
            if all(r.status != "pending" for r in rows) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
            processor.run_once()
    finally:
        processor.close()
    for r in rows:
        if r.status == "failed":
            click.echo(f"bounceloop: {r.peer}: {r.error}", err=True)
    return {
        "received": len(ids),
        "tied": sum(1 for r in rows if r.message_id),
        "unrecognised": sum(1 for r in rows if r.kind == "unrecognized"),
        "failed": sum(1 for r in rows if r.status == "failed"),
    }


@click.command("reprocess")
@click.option("--since", default=None,
              help="Only messages received at or after this UTC date/time.")
def reprocess_command(since: str | None) -> None:
    """Parse stored returned messages again (after a parser upgrade); keeps history."""
    when = parse_since(since)
    settings = load_settings()
    db = _open(settings)
    ctx = Context.of(settings)
    processed = changed = 0
    parser = (ParserPool(settings.parse_processes, ctx.convention, ctx.parse_timeout)
              if settings.parse_processes > 0 else None)
    try:
        with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            ids = store.ids_since(conn, when)
        bar = Bar(len(ids), "reprocessing") if sys.stderr.isatty() and ids else None
        for chunk in chunks(ids, BATCH):
            result = run_batch(db, ctx, chunk, parser=parser)
            processed += result.processed
            changed += result.changed
            if bar is not None:
                bar.advance(result.processed)
        if bar is not None:
            bar.stop()
    except SQLAlchemyError as exc:
        _die(f"cannot use the database: {reason(exc)}")
    finally:
        if parser is not None:
            parser.close()
        db.dispose()
    click.echo(json.dumps({"processed": processed, "changed": changed}))

"""``bounceloop webhook``: the feedback loops, managed from the shell.

    bounceloop webhook add URL --trigger failure|bounce|delivery|complaint [--trigger ...]
                           [--tag T ...] [--mailing M] [--format form|json] [--no-extras]
                           [--concurrency N] [--timeout S] [--verify] [--description D]
    bounceloop webhook list [--json]
    bounceloop webhook show ID [--json]
    bounceloop webhook change ID [--url U] [--trigger T ...] [--tag T ... | --any-tag]
                              [--mailing M | --any-mailing] [--format F]
                              [--extras/--no-extras] [--concurrency N] [--timeout S]
    bounceloop webhook pause ID [--reason TEXT] | resume ID | rm ID
    bounceloop webhook test ID          POST a sample event now; exit 1 unless 2xx
    bounceloop webhook verify ID        the ownership check (see webhooks.manage)
    bounceloop webhook rotate-secret ID [--overlap SECONDS]
    bounceloop webhook failures [ID] [--since DATE] [--limit N] [--json]
    bounceloop webhook dead ID [--json]
    bounceloop webhook replay ID (--job N ... | --all)

``add`` and ``rotate-secret`` print the secret on their last line, for scripts.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click
from sqlalchemy import Engine

from bounceloop.cli.listing import parse_since, write_rows
from bounceloop.cli.send import _die, database, in_transaction
from bounceloop.storage import webhooks as store
from bounceloop.webhooks import guard, manage


def _hook(db: Engine, webhook_id: int) -> store.Webhook:
    hook = in_transaction(db, lambda conn: store.get(conn, webhook_id))
    if hook is None:
        _die(f"no webhook {webhook_id}")
    return hook


def _show(values: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(values, ensure_ascii=False))
        return
    for key, value in values.items():
        if isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False)
        click.echo(f"{key}: {'' if value is None else value}")


def _called(what: str, called: manage.Called) -> None:
    info = called.describe()
    if called.ok:
        click.echo(f"{what}: ok, HTTP {info['status']} from {info['ip']} in "
                   f"{info['duration_ms']} ms")
        return
    detail = (f"HTTP {info['status']}: {info['body']!r}" if "status" in info
              else f"{info['error']}: {info['description']}")
    _die(f"{what} failed: {detail}")


@click.group("webhook")
def webhook_command() -> None:
    """Feedback loops: POST failures, bounces, deliveries and complaints to your URLs."""


@webhook_command.command("add")
@click.argument("url")
@click.option("--trigger", "triggers", multiple=True, required=True,
              type=click.Choice(store.TRIGGERS), help="What to send (repeat for more).")
@click.option("--tag", "tags", multiple=True, help="Only messages with this tag (any of).")
@click.option("--mailing", type=int, default=None, help="Only this mailing (id).")
@click.option("--format", "fmt", type=click.Choice(store.FORMATS), default="form",
              help="Body: form (the spec's, PHP-style brackets) or json.")
@click.option("--extras/--no-extras", default=True,
              help="Our fields after the spec's (--no-extras for strict receivers).")
@click.option("--concurrency", type=click.IntRange(1, 100), default=None,
              help="Calls at once (default BOUNCELOOP_WEBHOOK_CONCURRENCY).")
@click.option("--timeout", type=click.IntRange(1, 300), default=None,
              help="Seconds per call (default BOUNCELOOP_WEBHOOK_TIMEOUT).")
@click.option("--verify", is_flag=True,
              help="Hold events until the receiver echoes a verification token.")
@click.option("--description", default="", help="A note for people.")
def add_command(url: str, triggers: tuple[str, ...], tags: tuple[str, ...],
                mailing: int | None, fmt: str, extras: bool, concurrency: int | None,
                timeout: int | None, verify: bool, description: str) -> None:
    """Add a webhook; the URL is checked (http(s), no internal address)."""
    spec = manage.Spec(url=url, triggers=triggers, mailing_id=mailing, tags=tags,
                       format=fmt, extras=extras, concurrency=concurrency, timeout=timeout,
                       verify=verify, description=description)
    with database() as (settings, db):
        made = asyncio.run(manage.add(settings, db, spec))
        if isinstance(made, guard.Refused):
            _die(f"refused {url}: {made.reason}")
        click.echo(f"webhook {made.id} added ({made.status}): {made.url} "
                   f"[{', '.join(made.triggers)}]")
        if verify:
            called = asyncio.run(manage.verify(settings, db, made))
            info = called.describe()
            click.echo("verification: " + ("ok, webhook active" if called.ok else
                       f"not confirmed ({info.get('status') or info.get('error')}); events "
                       f"are held until `bounceloop webhook verify {made.id}` succeeds"))
        click.echo(f"secret: {made.secret}")


@webhook_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_command(as_json: bool) -> None:
    """List webhooks."""
    with database() as (_, db):
        hooks = in_transaction(db, store.listing)
        rows = [h.public() for h in hooks]
        write_rows(iter(rows), "jsonl" if as_json else "table", tuple(rows[0]) if rows else (),
                   ("id", "status", "triggers", "url", "mailing", "tags", "format",
                    "flagged", "failing_since"), sys.stdout)


@webhook_command.command("show")
@click.argument("webhook_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def show_command(webhook_id: int, as_json: bool) -> None:
    """One webhook, with its queue by status."""
    with database() as (_, db):
        hook = _hook(db, webhook_id)
        values = hook.public()
        values["queue"] = in_transaction(db, lambda conn: store.queue(conn, webhook_id))
        _show(values, as_json)


@webhook_command.command("change")
@click.argument("webhook_id", type=int)
@click.option("--url", default=None)
@click.option("--trigger", "triggers", multiple=True, type=click.Choice(store.TRIGGERS))
@click.option("--tag", "tags", multiple=True)
@click.option("--any-tag", is_flag=True, help="Drop the tag filter.")
@click.option("--mailing", type=int, default=None)
@click.option("--any-mailing", is_flag=True, help="Drop the mailing filter.")
@click.option("--format", "fmt", type=click.Choice(store.FORMATS), default=None)
@click.option("--extras/--no-extras", default=None)
@click.option("--concurrency", type=click.IntRange(1, 100), default=None)
@click.option("--timeout", type=click.IntRange(1, 300), default=None)
@click.option("--description", default=None)
def change_command(webhook_id: int, url: str | None, triggers: tuple[str, ...],
                   tags: tuple[str, ...], any_tag: bool, mailing: int | None,
                   any_mailing: bool, fmt: str | None, extras: bool | None,
                   concurrency: int | None, timeout: int | None,
                   description: str | None) -> None:
    """Change a webhook's URL, triggers, filters or call settings."""
    values: dict[str, Any] = {k: v for k, v in {
        "url": url, "format": fmt, "extras": extras, "concurrency": concurrency,
        "timeout": timeout, "description": description}.items() if v is not None}
    if triggers:
        values["triggers"] = list(triggers)
    if tags or any_tag:
        values["tags"] = list(tags)
    if mailing is not None or any_mailing:
        values["mailing_id"] = mailing
    if not values:
        _die("nothing to change (see --help)")
    with database() as (settings, db):
        _hook(db, webhook_id)
        if url is not None:
            vetted = asyncio.run(manage.vet(settings, url))
            if isinstance(vetted, guard.Refused):
                _die(f"refused {url}: {vetted.reason}")
        try:
            hook = in_transaction(db, lambda conn: store.change(conn, webhook_id, values))
        except ValueError as exc:
            _die(str(exc))
        assert hook is not None
        click.echo(f"webhook {hook.id} changed: {', '.join(sorted(values))}")


@webhook_command.command("pause")
@click.argument("webhook_id", type=int)
@click.option("--reason", "why", default="paused by the user")
def pause_command(webhook_id: int, why: str) -> None:
    """Stop calling a webhook; its events are kept (held) until resume."""
    with database() as (_, db):
        _hook(db, webhook_id)
        in_transaction(db, lambda conn: store.pause(conn, webhook_id, why))
        click.echo(f"webhook {webhook_id} paused")


@webhook_command.command("resume")
@click.argument("webhook_id", type=int)
def resume_command(webhook_id: int) -> None:
    """Call a paused webhook again, its held events first due."""
    with database() as (_, db):
        hook = _hook(db, webhook_id)
        if not in_transaction(db, lambda conn: store.resume(conn, webhook_id)):
            _die(f"webhook {webhook_id} is {hook.status}, not paused")
        click.echo(f"webhook {webhook_id} resumed")


@webhook_command.command("rm")
@click.argument("webhook_id", type=int)
def rm_command(webhook_id: int) -> None:
    """Delete a webhook and its queue."""
    with database() as (_, db):
        if not in_transaction(db, lambda conn: store.remove(conn, webhook_id)):
            _die(f"no webhook {webhook_id}")
        click.echo(f"webhook {webhook_id} removed")


@webhook_command.command("test")
@click.argument("webhook_id", type=int)
def test_command(webhook_id: int) -> None:
    """POST a sample event of the webhook's first trigger now; exit 1 unless 2xx."""
    with database() as (settings, db):
        hook = _hook(db, webhook_id)
        _called("test call", asyncio.run(manage.test(settings, hook)))


@webhook_command.command("verify")
@click.argument("webhook_id", type=int)
def verify_command(webhook_id: int) -> None:
    """Run the ownership check: the receiver must answer with the token it is sent."""
    with database() as (settings, db):
        hook = _hook(db, webhook_id)
        if hook.status != store.UNVERIFIED:
            _die(f"webhook {webhook_id} is {hook.status}: nothing to verify")
        # A 2xx without the token fails too: the message shows what came back instead.
        _called("verification", asyncio.run(manage.verify(settings, db, hook)))


@webhook_command.command("rotate-secret")
@click.argument("webhook_id", type=int)
@click.option("--overlap", type=click.FloatRange(min=0), default=86400.0, show_default=True,
              help="Seconds the old secret keeps signing too.")
def rotate_command(webhook_id: int, overlap: float) -> None:
    """A new signing secret; both sign calls during the overlap."""
    with database() as (_, db):
        secret = in_transaction(db, lambda conn: store.rotate(conn, webhook_id, overlap))
        if secret is None:
            _die(f"no webhook {webhook_id}")
        click.echo(f"webhook {webhook_id}: new secret, the old one signs for {overlap:g} s")
        click.echo(f"secret: {secret}")


@webhook_command.command("failures")
@click.argument("webhook_id", type=int, required=False)
@click.option("--since", default=None, help="Only calls at or after this UTC date/time.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def failures_command(webhook_id: int | None, since: str | None, limit: int,
                     as_json: bool) -> None:
    """The failed-call log, newest first: time, status, receiver IP, headers, body start."""
    when = parse_since(since)
    with database() as (_, db):
        rows = in_transaction(db, lambda conn: store.failures(conn, webhook_id, when, limit))
        write_rows(iter(rows), "jsonl" if as_json else "table", store.FAILURE_FIELDS,
                   ("time", "webhook", "event", "attempt", "ip", "status", "error",
                    "description", "body"), sys.stdout)


@webhook_command.command("dead")
@click.argument("webhook_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def dead_command(webhook_id: int, as_json: bool) -> None:
    """Dead-lettered deliveries (retries ran out), newest first."""
    with database() as (_, db):
        _hook(db, webhook_id)
        rows = in_transaction(db, lambda conn: store.dead(conn, webhook_id, limit=10_000))
        write_rows(iter(rows), "jsonl" if as_json else "table",
                   ("job", "event", "attempts", "queued_at", "dead_at", "last_error"),
                   ("job", "event", "attempts", "dead_at", "last_error"), sys.stdout)


@webhook_command.command("replay")
@click.argument("webhook_id", type=int)
@click.option("--job", "job_ids", type=int, multiple=True, help="This dead job (repeat).")
@click.option("--all", "everything", is_flag=True, help="Every dead job of the webhook.")
def replay_command(webhook_id: int, job_ids: tuple[int, ...], everything: bool) -> None:
    """Queue dead-lettered deliveries again, with a fresh retry period."""
    if bool(job_ids) == everything:
        _die("say which: --job N (repeatable) or --all")
    with database() as (_, db):
        _hook(db, webhook_id)
        n = in_transaction(db, lambda conn: store.replay(conn, webhook_id,
                                              None if everything else set(job_ids)))
        click.echo(f"{n} replayed")

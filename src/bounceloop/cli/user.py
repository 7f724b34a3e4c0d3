"""``bounceloop user``: the web UI's accounts.

    bounceloop user add NAME [--password-stdin]
    bounceloop user passwd NAME [--password-stdin]      ends the user's sessions
    bounceloop user list [--json]
    bounceloop user remove NAME                         ends the user's sessions

The password is asked for twice, hidden, or read with ``--password-stdin`` from the first
line of standard input (for scripts: ``printf '%s\\n' "$PW" | bounceloop user add ann
--password-stdin``). Exit status: 1 for a taken name, an unknown user or a short password,
2 for bad usage.
"""

from __future__ import annotations

import sys

import click

from bounceloop.cli.listing import write_rows
from bounceloop.cli.send import _die, database, in_transaction
from bounceloop.storage import users

_STDIN_HELP = "Read the password from the first line of standard input, not a prompt."


def _name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        users.check_name(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _password(from_stdin: bool) -> str:
    """The new password, checked: from stdin's first line or a hidden prompt (twice)."""
    if from_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        password = str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    try:
        users.check_password(password)
    except ValueError as exc:
        _die(str(exc))
    return password


@click.group("user")
def user_command() -> None:
    """Web UI users (their passwords are stored as scrypt hashes)."""


@user_command.command("add")
@click.argument("name", callback=_name)
@click.option("--password-stdin", "from_stdin", is_flag=True, help=_STDIN_HELP)
def add_command(name: str, from_stdin: bool) -> None:
    """Add a user who can log in to the web UI."""
    password = _password(from_stdin)
    with database() as (_, db):
        try:
            in_transaction(db, lambda conn: users.add(conn, name, password))
        except ValueError as exc:
            _die(str(exc))
    click.echo(f"user {name!r} added")


@user_command.command("passwd")
@click.argument("name")
@click.option("--password-stdin", "from_stdin", is_flag=True, help=_STDIN_HELP)
def passwd_command(name: str, from_stdin: bool) -> None:
    """Set a user's password (and lift a lock); the user's sessions end."""
    with database() as (_, db):
        if in_transaction(db, lambda conn: users.get(conn, name)) is None:
            _die(f"no user {name!r}")
        password = _password(from_stdin)
        if not in_transaction(db, lambda conn: users.set_password(conn, name, password)):
            _die(f"no user {name!r}")
    click.echo(f"password of user {name!r} changed; the user's sessions have ended")


@user_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_command(as_json: bool) -> None:
    """List users, when they were made and last logged in."""
    with database() as (_, db):
        rows = [u.public() for u in in_transaction(db, users.listing)]
    write_rows(iter(rows), "jsonl" if as_json else "table",
               ("id", "name", "created_at", "updated_at", "last_login_at", "failed_logins",
                "locked_until"),
               ("name", "created_at", "last_login_at"), sys.stdout)


@user_command.command("remove")
@click.argument("name")
def remove_command(name: str) -> None:
    """Remove a user; the user's sessions end."""
    with database() as (_, db):
        if not in_transaction(db, lambda conn: users.remove(conn, name)):
            _die(f"no user {name!r}")
    click.echo(f"user {name!r} removed")

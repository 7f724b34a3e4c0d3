"""``bounceloop token``: REST API tokens.

    bounceloop token create --scope read|write [--name NAME]   the token is the last line
    bounceloop token list [--json]
    bounceloop token revoke ID
"""

from __future__ import annotations

import sys

import click

from bounceloop.cli.listing import write_rows
from bounceloop.cli.send import _die, database, in_transaction
from bounceloop.storage import tokens


@click.group("token")
def token_command() -> None:
    """API tokens (sent as Authorization: Bearer TOKEN)."""


@token_command.command("create")
@click.option("--scope", type=click.Choice(tokens.SCOPES), required=True,
              help="read: GET only; write: everything.")
@click.option("--name", default="", help="What the token is for.")
def create_command(scope: str, name: str) -> None:
    """Make a token; it is printed once, as the last line, and stored only hashed."""
    with database() as (_, db):
        token_id, token = in_transaction(db, lambda conn: tokens.create(conn, scope, name))
    click.echo(f"token {token_id} ({scope}) created; keep it now, it is not shown again:",
               err=True)
    click.echo(token)


@token_command.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json: bool) -> None:
    """List tokens (never the tokens themselves)."""
    with database() as (_, db):
        rows = in_transaction(db, tokens.listing)
    write_rows(iter(rows), "jsonl" if as_json else "table",
               ("id", "name", "scope", "created_at", "revoked_at"),
               ("id", "name", "scope", "created_at", "revoked_at"), sys.stdout)


@token_command.command("revoke")
@click.argument("token_id", type=int)
def revoke_command(token_id: int) -> None:
    """Revoke a token at once."""
    with database() as (_, db):
        if not in_transaction(db, lambda conn: tokens.revoke(conn, token_id)):
            _die(f"no live token {token_id}")
    click.echo(f"token {token_id} revoked")

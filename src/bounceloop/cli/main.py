"""The ``bounceloop`` command group; each subcommand lives in its own module."""

from __future__ import annotations

import click

from bounceloop import __version__
from bounceloop.cli.db import db_command
from bounceloop.cli.ingest import ingest_command, reprocess_command
from bounceloop.cli.listing import errors_command, events_command
from bounceloop.cli.parse import parse_command
from bounceloop.cli.select import select_command
from bounceloop.cli.send import send_command
from bounceloop.cli.serve import serve_command
from bounceloop.cli.suppression import suppression_command
from bounceloop.cli.token import token_command
from bounceloop.cli.user import user_command
from bounceloop.cli.webhook import webhook_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bounceloop")
def cli() -> None:
    """bounceloop: a self-hosted delivery-error engine for email."""


cli.add_command(parse_command)
cli.add_command(db_command)
cli.add_command(send_command)
cli.add_command(serve_command)
cli.add_command(ingest_command)
cli.add_command(reprocess_command)
cli.add_command(errors_command)
cli.add_command(events_command)
cli.add_command(webhook_command)
cli.add_command(token_command)
cli.add_command(select_command)
cli.add_command(suppression_command)
cli.add_command(user_command)


def main() -> None:
    cli(prog_name="bounceloop")

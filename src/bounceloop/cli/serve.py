"""``bounceloop serve``: the service on its configured database (SQLite by default).

Runs the delivery workers and the HTTP server (``BOUNCELOOP_HTTP_LISTEN``: ``/health``,
``/metrics``) until SIGINT or SIGTERM. An empty database gets its schema first.
"""

from __future__ import annotations

import asyncio

import click

from bounceloop.cli.send import _die, load_settings
from bounceloop.service import StartError, serve


@click.command("serve")
def serve_command() -> None:
    """Run the service: delivery workers and the HTTP server, until stopped."""
    settings = load_settings()
    try:
        asyncio.run(serve(settings))
    except StartError as exc:
        _die(str(exc))
    except OSError as exc:
        _die(f"cannot listen: {exc.strerror or exc}")

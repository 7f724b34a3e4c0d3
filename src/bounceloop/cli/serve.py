"""``bounceloop serve``: the service on its configured database (SQLite by default).

Runs the delivery workers, the inbound server and the HTTP server (``BOUNCELOOP_HTTP_LISTEN``:
``/health``, ``/ready``, ``/metrics``, the API and the UI) until SIGINT or SIGTERM; ``--role``
runs one part (service.ROLES). An empty database gets its schema first.
"""

from __future__ import annotations

import asyncio

import click

from bounceloop.cli.send import _die, load_settings
from bounceloop.observability import logs
from bounceloop.service import ROLES, StartError, serve


@click.command("serve")
@click.option("--role", type=click.Choice(ROLES), default="all", show_default=True,
              help="What this process runs: smtp (the inbound server), worker (delivery, "
                   "bounce processing, webhooks), web (the API and UI), or all of them.")
def serve_command(role: str) -> None:
    """Run the service (or one role of it) until stopped."""
    settings = load_settings()
    handler = logs.setup(settings.log_format, settings.log_level)
    try:
        asyncio.run(serve(settings, role=role))
    except StartError as exc:
        _die(str(exc))
    except OSError as exc:
        _die(f"cannot listen: {exc.strerror or exc}")
    finally:
        logs.teardown(handler)

"""inbound.parser: what a parser process loads."""

from __future__ import annotations

import subprocess
import sys

#: Modules of the service that a parser process has no use for: the database layer, the
#: SMTP server, the web framework, DKIM.
SERVICE_ONLY = ("sqlalchemy", "aiosmtpd", "fastapi", "dkim", "bounceloop.inbound.process",
                "bounceloop.inbound.server")


def test_a_parser_process_loads_the_parser_not_the_service() -> None:
    """A spawned parser process imports bounceloop.inbound.parser to run parse_all: that
    import (the package's too) must not pull in the service (each parser process took
    0.6 s of CPU and 62 MiB to start with it, 0.24 s and 22 MiB without)."""
    code = ("import sys, bounceloop.inbound.parser; "
            f"print(' '.join(m for m in {SERVICE_ONLY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == []

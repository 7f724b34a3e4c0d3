"""Postfix's test tools as the benches use them: smtp-sink (accepts everything, keeps
nothing) and smtp-source (a fast SMTP client). Debian's postfix (``scripts/setup bench``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"


def available() -> bool:
    if shutil.which(SINK) and shutil.which(SOURCE):
        return True
    print(f"{SINK} / {SOURCE} not found: install Debian's postfix (scripts/setup bench)")
    return False


def start_sink(port: int) -> subprocess.Popen[bytes]:
    """smtp-sink on 127.0.0.1:port, once it accepts connections."""
    argv = [SINK]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]  # smtp-sink refuses to run as root without it
    proc = subprocess.Popen([*argv, f"127.0.0.1:{port}", "1024"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"smtp-sink did not listen on 127.0.0.1:{port}")

"""Postfix as the benches use it: smtp-sink (accepts everything, keeps nothing),
smtp-source (a fast SMTP client that does not pipeline) and a throwaway Postfix instance
that queues durably. Debian's postfix (``scripts/setup bench``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

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


#: The throwaway Postfix of the inbound bench: its main.cf, ours. It takes mail for any
#: address from loopback (mynetworks) and puts every message on hold, so what is measured
#: is Postfix accepting mail: smtpd, cleanup writing and fsyncing each queue file before
#: smtpd answers 250 (Postfix's queue is durable), nothing delivered behind it.
MAIN_CF = {
    "compatibility_level": "3.6",
    "queue_directory": "{root}/spool",
    "data_directory": "{root}/data",
    "maillog_file": "{root}/maillog",
    "maillog_file_prefixes": "{root}",
    "myhostname": "mx.postfix-bench.test",
    "mydestination": "",
    "inet_interfaces": "127.0.0.1",
    "inet_protocols": "ipv4",
    "mynetworks": "127.0.0.0/8",
    "alias_maps": "",
    "smtpd_client_restrictions": "check_client_access static:HOLD",
    "smtpd_relay_restrictions": "permit_mynetworks, reject",
    "smtpd_tls_security_level": "none",
    "biff": "no",
}


def postfix_available() -> bool:
    """Whether a throwaway Postfix can run here: its commands, and root (master(8) is)."""
    return bool(shutil.which("postfix") and shutil.which("postconf")) and os.geteuid() == 0


@contextlib.contextmanager
def durable_postfix(root: Path, port: int) -> Iterator[Path]:
    """A Postfix instance with its configuration and queue under ``root``, its SMTP server
    on 127.0.0.1:port, once it answers; yields the hold queue's directory. Debian's
    master.cf is copied and changed with postconf(1): every service out of chroot (the
    queue is ours, not /var/spool/postfix), no port 25, smtpd on ``port``."""
    etc = root / "etc"
    for directory in (etc, root / "spool", root / "data"):
        directory.mkdir(parents=True)
    os.chmod(root, 0o755)  # Postfix's daemons run as the postfix user: they must get in
    # (and through every directory above: the caller's to see to).
    shutil.chown(root / "data", "postfix")
    (etc / "main.cf").write_text("".join(f"{k} = {v.format(root=root)}\n"
                                         for k, v in MAIN_CF.items()))
    shutil.copy("/etc/postfix/master.cf", etc / "master.cf")
    config = ["postconf", "-c", str(etc)]
    subprocess.run([*config, "-F", "*/*/chroot = n"], check=True)
    subprocess.run([*config, "-MX", "smtp/inet"], check=True)
    subprocess.run([*config, "-M", f"127.0.0.1:{port}/inet = 127.0.0.1:{port} inet n - n - - "
                    "smtpd"], check=True)
    started = subprocess.run(["postfix", "-c", str(etc), "start"], capture_output=True,
                             text=True, check=False)
    if started.returncode != 0:
        raise SystemExit(f"postfix start: {started.stdout}{started.stderr}")
    try:
        _wait_banner(port)
        yield root / "spool" / "hold"
    finally:
        subprocess.run(["postfix", "-c", str(etc), "stop"], check=False, capture_output=True)
        pid = root / "spool" / "pid" / "master.pid"
        deadline = time.monotonic() + 30
        while pid.exists() and time.monotonic() < deadline:
            time.sleep(0.1)


def _wait_banner(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                if sock.recv(512).startswith(b"220"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"Postfix did not answer on 127.0.0.1:{port}")

#!/usr/bin/env python3
"""A real Postfix writes the DSN of a forward: the sample tests/data/bounces/postfix-alias/.

``bounceloop send --wait`` sends a message to ``fwd-nx@shop.test``. Postfix (Debian's, run as
a throwaway instance with its own configuration and queue under a temporary directory) is
shop.test's MX; its alias table forwards ``fwd-nx`` to ``someone@nx2.test``, a domain that
does not exist (NXDOMAIN from the fake DNS). Postfix gives up at once and returns an
RFC 3464 DSN to our VERP envelope, with ``Original-Recipient: rfc822;fwd-nx@shop.test``
(the ORCPT we sent) and ``Final-Recipient: rfc822; someone@nx2.test`` (the address it
rewrote ours to). That DSN, as it reached the bounce domain's MX, is written out with the
labels a test needs to recreate the message it answers.

Everything runs in a network namespace of its own with only loopback (``unshare -n -m``,
as root), so the fake DNS serves port 53 and the MX hosts port 25 without touching the
machine's: Postfix's resolver reads a resolv.conf bind-mounted over /etc/resolv.conf inside
the namespace only. Needs Debian's postfix (packages/debian-bench.txt).

    sudo .venv/bin/python bench/dsnfarm/postfix_alias.py tests/data/bounces/postfix-alias
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mtas import POSTFIX_MASTER_CF

from bounceloop.testing import FakeDNS, FakeMX

INSIDE = "BOUNCELOOP_DSNFARM_NETNS"
SECRET = "postfix-alias-sample"
BOUNCE_DOMAIN = "bounces.sender.test"
RECIPIENT = "fwd-nx@shop.test"
FORWARD = "someone@nx2.test"
DOCUMENT = (b"From: News <news@sender.test>\r\nTo: fwd-nx@shop.test\r\n"
            b"Subject: Spring news\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\nHello.\r\n")
POSTFIX_MX = "127.0.0.2"  # shop.test's MX: Postfix
BOUNCE_MX = "127.0.0.1"  # the bounce domain's MX: where the DSN is caught

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.shop.test
mydomain = shop.test
myorigin = shop.test
mydestination = shop.test
inet_interfaces = {mx}
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps = hash:{root}/etc/aliases
alias_database = hash:{root}/etc/aliases
local_recipient_maps = $alias_maps
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_tls_security_level = none
smtpd_tls_security_level = none
maillog_file_prefixes = {root}
maillog_file = {root}/maillog
biff = no
"""

# Debian's master.cf with every service out of chroot: the farm's (mtas.py), beside this.
MASTER_CF = POSTFIX_MASTER_CF


def enter_namespace() -> None:
    """Run this script again inside a new network and mount namespace."""
    if os.environ.get(INSIDE):
        return
    if os.geteuid() != 0:
        sys.exit("postfix_alias: needs root (unshare -n -m)")
    env = {**os.environ, INSIDE: "1"}
    done = subprocess.run(["unshare", "-n", "-m", sys.executable, *sys.argv], env=env,
                          check=False)
    sys.exit(done.returncode)


def isolate(root: Path) -> None:
    """Inside the namespace: loopback up, our resolver file over the machine's."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # Postfix listens only on an address an interface has (inet_interfaces).
    subprocess.run(["ip", "addr", "add", f"{POSTFIX_MX}/8", "dev", "lo"], check=True)
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    resolv = root / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions attempts:1 timeout:2\n")
    subprocess.run(["mount", "--bind", str(resolv), "/etc/resolv.conf"], check=True)


def start_postfix(root: Path) -> None:
    etc = root / "etc"
    etc.mkdir()
    (root / "data").mkdir()
    (root / "spool").mkdir()
    (etc / "main.cf").write_text(MAIN_CF.format(root=root, mx=POSTFIX_MX))
    (etc / "master.cf").write_text(MASTER_CF)
    (etc / "aliases").write_text(f"fwd-nx: {FORWARD}\npostmaster: root\n")
    shutil.chown(root / "data", "postfix")
    subprocess.run(["postalias", "-c", str(etc), str(etc / "aliases")], check=True)
    subprocess.run(["postfix", "-c", str(etc), "start"], check=True)


def stop_postfix(root: Path) -> None:
    subprocess.run(["postfix", "-c", str(root / "etc"), "stop"], check=False)


async def run(out: Path, root: Path) -> None:
    zone = {
        ("shop.test", "MX"): ["10 mx.shop.test."],
        ("mx.shop.test", "A"): [POSTFIX_MX],
        (BOUNCE_DOMAIN, "MX"): [f"10 mx.{BOUNCE_DOMAIN}."],
        (f"mx.{BOUNCE_DOMAIN}", "A"): [BOUNCE_MX],
    }
    async with FakeDNS(zone, port=53), FakeMX(host=BOUNCE_MX, port=25,
                                               hostname=f"mx.{BOUNCE_DOMAIN}") as catch:
        start_postfix(root)
        try:
            (root / "msg.eml").write_bytes(DOCUMENT)
            (root / "list.csv").write_text(f"email\n{RECIPIENT}\n")
            env = {**os.environ, "BOUNCELOOP_DATABASE_URL": f"sqlite:///{root}/send.db",
                   "BOUNCELOOP_BOUNCE_DOMAIN": BOUNCE_DOMAIN,
                   "BOUNCELOOP_VERP_SECRET": SECRET,
                   "BOUNCELOOP_DNS_SERVERS": "127.0.0.1:53",
                   "BOUNCELOOP_ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
                   "BOUNCELOOP_HOSTNAME": "out.sender.test",
                   "BOUNCELOOP_SPOOL_DIR": str(root / "spool-bl")}
            exe = Path(sys.executable).with_name("bounceloop")
            # In a thread: the fake DNS and MX answer from this event loop meanwhile.
            command = [str(exe), "send", "--from", "news@sender.test", "--mime",
                       str(root / "msg.eml"), "--recipients", str(root / "list.csv"),
                       "--wait"]
            sent = await asyncio.to_thread(subprocess.run, command, env=env,
                                           capture_output=True, text=True, check=True)
            message = json.loads(sent.stdout.splitlines()[0])
            if message["status"] != "delivered":
                sys.exit(f"postfix_alias: Postfix did not take the message: {message}")
            deadline = time.monotonic() + 60
            while not catch.messages and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            if not catch.messages:
                log = (root / "maillog").read_text() if (root / "maillog").exists() else ""
                sys.exit(f"postfix_alias: no DSN came back in 60 s\n{log}")
        finally:
            stop_postfix(root)
    [dsn] = catch.messages
    out.mkdir(parents=True, exist_ok=True)
    (out / "dsn.eml").write_bytes(dsn.data)
    (out / "labels.json").write_text(json.dumps({
        "made_by": "bench/dsnfarm/postfix_alias.py",
        "postfix": subprocess.run(["postconf", "-d", "-h", "mail_version"],
                                  capture_output=True, text=True).stdout.strip(),
        "secret": SECRET, "bounce_domain": BOUNCE_DOMAIN,
        "message_id": message["id"], "recipient": RECIPIENT, "envelope": message["envelope"],
        "dsn_mail_from": dsn.mail_from, "dsn_rcpt_to": dsn.rcpt_tos,
        "reported_recipient": FORWARD, "document": DOCUMENT.decode(),
    }, indent=2) + "\n")
    print(f"wrote {out / 'dsn.eml'} ({len(dsn.data)} bytes) and labels.json")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="directory for dsn.eml and labels.json")
    args = ap.parse_args()
    enter_namespace()
    with tempfile.TemporaryDirectory(prefix="dsnfarm-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        isolate(root)
        asyncio.run(run(args.out.resolve(), root))


if __name__ == "__main__":
    main()

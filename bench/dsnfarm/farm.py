#!/usr/bin/env python3
"""The DSN farm (issue 18 item 3): real MTAs write real bounces for scripted failures.

Debian's Postfix, Exim, OpenSMTPD, Sendmail, Courier, chasquid, dma and nullmailer run as
throwaway instances (mtas.py) inside a network namespace with only loopback, beside a fake
DNS (bounceloop.testing.FakeDNS on 127.0.0.1:53, the resolver of everything inside through
a bind-mounted resolv.conf) and remote peers (bounceloop.testing.FakeMX, one per remote
domain, each on its own loopback address) that answer catalogue texts at MAIL, RCPT, DATA
or after the final dot, or defer until the MTA's queue lifetime runs out (scenarios.py).
Each scenario's message goes to every MTA that can play it, over SMTP (chasquid's
submission port, as a user: it relays for no one else) or through the MTA's sendmail
interface (dma and nullmailer, which have no listener), with a return path naming the MTA
and the scenario; the bounce each MTA writes reaches our bounce domain's MX (a FakeMX on
``CATCHER``) and is kept as it arrived: ``OUT/eml/<mta>-<scenario>.eml``. nullmailer relays
everything, its bounces included, to one smarthost, which the farm plays (smarthost.py): it
answers each scenario's reply by the message's return path and keeps the bounces. A bounce's
labels (failed recipients, status, reason, whether it is an expiry) come from the scenario,
never from a parser, and go to ``OUT/labels.jsonl`` in the format of
shared/tools/score_bounces.py, with the sample's half (split.py) and the reply's citation.
Before a sample is written, the farm checks that the MTA wrote what the labels say it wrote
(each recipient, and the ``Status:`` field the MTA's rules give, or none for dma, whose
bounce is plain text): a scenario whose bounce does not match is reported, not written.

The MTA packages are not installed (they conflict with one another and with the installed
postfix): ``apt-get download`` fetches them into a cache and ``dpkg-deb -x`` unpacks them;
the namespace's /usr and /etc are overlays with the unpacked files beneath the machine's,
and /var is a throwaway writable overlay. Needs root, ``unshare`` and overlayfs.

    sudo .venv/bin/python bench/dsnfarm/farm.py tests/data/dsnfarm [--mta exim,postfix]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mtas import FULL_USER, LIFETIME_MINUTES, MTA, MTAS, SMARTHOST_IP, SMARTHOST_NAME
from scenarios import Scenario, Target, scenarios
from smarthost import Route, Smarthost
from split import half

from bounceloop.core.reasons import REASONS, is_hardbounce
from bounceloop.testing import FakeDNS, FakeMX, ReceivedMessage

INSIDE = "BOUNCELOOP_DSNFARM_NETNS"
#: Not under /var: the namespace's /var is an overlay whose lower layers include the cache.
CACHE = Path(os.environ.get("BOUNCELOOP_DSNFARM_CACHE")
             or Path.home() / ".cache" / "bounceloop-dsnfarm")
#: The Debian packages unpacked into the overlay, with the libraries they need that the
#: machine does not have.
PACKAGES = ("exim4-daemon-light", "exim4-base", "exim4-config", "libidn12", "opensmtpd",
            "sendmail-bin", "sendmail-base", "sendmail-cf", "libmilter1.0.1", "libwrap0",
            "liblockfile1", "m4",
            # Courier (courier-mta's and courier-base's dependencies the machine lacks)
            "courier-mta", "courier-base", "courier-authlib", "courier-authdaemon",
            "libcourier-unicode4", "libnet-cidr-perl", "libpcre3", "libgamin0", "libltdl7",
            # chasquid, dma and nullmailer need nothing the machine lacks
            "chasquid", "dma", "nullmailer")
#: System users the unpacked packages' maintainer scripts would have made, and the farm's
#: local user with a full mailbox; added to the namespace's own /etc/passwd only.
USERS = ("Debian-exim", "opensmtpd", "opensmtpq", "smmsp", "courier", FULL_USER)

BOUNCE_DOMAIN = "return.sender.test"
#: Not an address of an interface (the loopback route holds all of 127/8): Courier skips an
#: MX at one of the machine's own interface addresses as a loop (courier/module.esmtp/
#: esmtpclient.C, is_local_or_loopback()), and 127.0.0.1 is one.
CATCHER = "127.10.0.1"
ACCEPTER = "127.30.0.1"  # the MX of domains that take the message (mixes)
REFUSER = "127.0.0.250"  # an MX host where nothing listens: connection refused

#: Neutral names for the remote domains and recipients: nothing in an address may hint at
#: the label.
_WORDS = ("alder", "birch", "cedar", "dune", "ember", "fjord", "grove", "heath", "inlet",
          "juniper", "kestrel", "larch", "maple", "nettle", "osprey", "pine", "quarry",
          "rowan", "sorrel", "thistle", "umber", "vale", "willow", "yarrow", "zephyr")
_PEOPLE = ("anna.berg", "ben.okafor", "chloe.martin", "dev.patel", "elif.yilmaz",
           "femi.adeyemi", "greta.holm", "hiro.tanaka", "ines.costa", "jonas.weber",
           "kai.nielsen", "lena.fischer", "mateo.ruiz", "nora.khan", "oskar.lind",
           "priya.nair", "quinn.obrien", "rosa.silva", "sven.dahl", "tara.walsh")


# -- what each MTA writes in the Status field ---------------------------------------

def status_field(mta: str, target: Target) -> str:
    """The ``Status:`` the MTA writes for a target, by the MTA's own rules.

    Postfix and Sendmail carry the remote reply's RFC 3463 code into the field; Exim and
    OpenSMTPD write a generic ``5.0.0`` for every failure (the reply's code is in the
    Diagnostic-Code). Where a reply has no enhanced code, Postfix writes the class's
    ``X.0.0`` and Sendmail derives one from the reply code (sendmail/savemail.c,
    smtptodsn()). The local and DNS cases are each MTA's own texts (see the table).
    chasquid writes ``5.0.0`` for every permanent failure, like Exim; nullmailer the reply's
    first ``d.d.d`` (:func:`nullmailer_status`); dma writes no DSN, so no field (``""``).
    """
    reply = target.reply
    if mta == "dma":
        return ""
    if mta == "nullmailer":
        return nullmailer_status(reply.text if reply else "")
    if target.fate == "defer" and mta != "postfix":
        return _FIELDS[mta]["expiry"]
    if target.fate in ("reply", "defer") and reply is not None:
        if mta == "sendmail" and target.stage == "DATA":
            # sendmail/usersmtp.c smtpdata(): a refused DATA command is a protocol-level
            # failure of its own, X.5.0, whatever the reply's code says.
            return f"{reply.code[0]}.5.0"
        if mta in ("postfix", "sendmail") and reply.leading:
            return reply.leading
        if target.fate == "defer":
            return _FIELDS[mta]["expiry"]
        if mta == "sendmail":
            if target.stage == "DATA_END" and reply.code == "550":
                return "5.2.0"  # a bare 550 to the content: a mailbox-status failure
            return _SENDMAIL_SMTPTODSN.get(reply.code, f"{reply.code[0]}.0.0")
        return f"{reply.code[0]}.0.0" if mta == "postfix" else "5.0.0"
    return _FIELDS[mta][target.fate]


#: sendmail/savemail.c smtptodsn(): the RFC 3463 code Sendmail gives a bare reply code.
_SENDMAIL_SMTPTODSN = {"421": "4.4.2", "450": "4.2.0", "451": "4.4.0", "452": "4.2.2",
                       "550": "5.1.1", "551": "5.1.6", "552": "5.2.2", "553": "5.1.3",
                       "554": "5.0.0"}

#: The field for the fates that carry no remote reply of their own, per MTA.
_FIELDS: dict[str, dict[str, str]] = {
    # Postfix: src/smtp/smtp_connect.c (4.4.1 connection refused, kept when the message
    # expires), src/smtp/smtp_addr.c (5.4.4 no such domain; 5.1.0 null MX), src/local/
    # (5.1.1 unknown user, 5.2.2 mailbox over mailbox_size_limit).
    "postfix": {"refused": "4.4.1", "nxdomain": "5.4.4", "nullmx": "5.1.0",
                "local-unknown": "5.1.1", "local-full": "5.2.2", "expiry": "4.0.0"},
    # Exim writes 5.0.0 for every failure, expiries included (src/deliver.c).
    "exim": {"refused": "5.0.0", "nxdomain": "5.0.0", "nullmx": "5.0.0",
             "local-unknown": "5.0.0", "local-full": "5.0.0", "expiry": "5.0.0"},
    # OpenSMTPD 6.8 reports an expired envelope as "Action: delayed", "Status: 4.4.7",
    # "Envelope expired", without the last attempt's reply (smtpd/bounce.c): the farm
    # keeps it as an expiry that states no cause.
    "opensmtpd": {"refused": "4.4.7", "nxdomain": "5.0.0", "nullmx": "5.0.0",
                  "expiry": "4.4.7"},
    # Sendmail 8.17 reads a null MX as RFC 7505 says (5.1.10, sendmail/domain.c).
    # Sendmail writes 4.4.7 (delivery time expired) for every expiry, whatever the last
    # attempt said (sendmail/queue.c, Timeout.queuereturn).
    "sendmail": {"refused": "4.4.7", "nxdomain": "5.1.2", "nullmx": "5.1.10",
                 "expiry": "4.4.7"},
    # Courier 1.0 writes "Status: 5.0.0" for every failed recipient, an expiry included
    # (courier/module.dsn/dsn.C: action "failed", status "5.0.0"; the reply goes to the
    # Diagnostic-Code, a connection failure to X-Network-Error).
    "courier": {"refused": "5.0.0", "nxdomain": "5.0.0", "nullmx": "5.0.0",
                "local-unknown": "5.0.0", "expiry": "5.0.0"},
    # chasquid 1.11 writes "Status: 5.0.0" for a recipient that failed permanently and
    # "4.0.0" for one still pending when the queue gives up (internal/queue/dsn.go); the
    # farm plays it no expiry (its lifetime is 20 hours).
    "chasquid": {"expiry": "4.0.0"},
}


def nullmailer_status(text: str) -> str:
    """nullmailer 2.2's Status: the first digit-dot-digit-dot-digit of the reply (each part
    one digit, so 5.7.25 gives 5.7.2), else 5.0.0 (src/send.cc, parse_output())."""
    match = re.search(r"\d\.\d\.\d", text)
    return match.group(0) if match else "5.0.0"


#: MTAs whose expiry report does not carry the last attempt's reply.
_EXPIRY_WITHOUT_CAUSE = frozenset({"opensmtpd"})


def given_up(data: bytes) -> bool:
    """The bounce reports recipients given up on: ``Action: failed`` (RFC 3464 2.3.3), or
    OpenSMTPD 6.8's report of an expired envelope, which it marks ``delayed``, or dma's
    plain-text bounce (mail.c, bounce()), or any report of nullmailer's: nullmailer-send
    writes one only when it gives a message up (src/send.cc, bounce_msg()), and marks it
    ``delayed`` when the last reply was temporary (src/dsn.cc: a 4.x.x status)."""
    return bool(re.search(rb"(?im)^Action:\s*failed", data)
                or re.search(rb"(?im)^\S+: Envelope expired\r?$", data)
                or re.search(rb"(?m)^There was an error delivering your mail to <", data)
                or re.search(rb"(?m)^This is the nullmailer delivery system\.", data))


def refine(field: str, enhanced: str) -> str:
    """Issue 18: the field's class is authoritative; a generic field (``X.0.0``, or an
    ``X.Y.0`` for a code of its subject ``X.Y``) is refined by the remote reply's more
    specific code (RFC 3463 section 3: a detail of 0 is "other or undefined"). A bounce
    with no field (dma's) carries only the remote reply it quotes: its code, if it has one."""
    if not field:
        return enhanced
    if not enhanced or enhanced[0] != field[0]:
        return field
    if field.endswith(".0.0") or (field.endswith(".0") and
                                  enhanced.startswith(field[:-1])):
        return enhanced
    return field


# -- laying out the scenarios --------------------------------------------------------

@dataclass
class Placed:
    """A target with its address, and the remote host (if any) that plays its reply."""

    target: Target
    address: str
    host: str = ""


def place(all_scenarios: list[Scenario], mta: MTA) -> dict[str, list[Placed]]:
    """Addresses for every scenario's targets; remote hosts numbered in scenario order, so
    every MTA meets the same peers at the same addresses."""
    out: dict[str, list[Placed]] = {}
    n = 0
    for number, scenario in enumerate(all_scenarios):
        placed: list[Placed] = []
        for index, target in enumerate(scenario.targets):
            n += 1
            person = _PEOPLE[(number * 3 + index) % len(_PEOPLE)]
            domain = f"{_WORDS[n % len(_WORDS)]}{n}.test"
            if target.fate in ("local-unknown", "local-full"):
                local = FULL_USER if target.fate == "local-full" else person.split(".")[0] + "x"
                placed.append(Placed(target, f"{local}@{mta.local_domain}"))
            elif target.fate in ("reply", "defer"):
                placed.append(Placed(target, f"{person}@{domain}",
                                     f"127.20.{n // 200}.{n % 200 + 1}"))
            else:
                placed.append(Placed(target, f"{person}@{domain}"))
        out[scenario.name] = placed
    return out


def zone_for(placements: dict[str, list[Placed]]) -> dict[tuple[str, str], list[str]]:
    zone: dict[tuple[str, str], list[str]] = {
        (BOUNCE_DOMAIN, "MX"): [f"10 mx.{BOUNCE_DOMAIN}."],
        (f"mx.{BOUNCE_DOMAIN}", "A"): [CATCHER],
    }
    for placed in placements.values():
        for one in placed:
            domain = one.address.split("@")[1]
            fate = one.target.fate
            if fate in ("nxdomain", "local-unknown", "local-full"):
                continue
            if fate == "nullmx":
                zone[(domain, "MX")] = ["0 ."]
                continue
            host = {"accept": ACCEPTER, "refused": REFUSER}.get(fate, one.host)
            zone[(domain, "MX")] = [f"10 mx.{domain}."]
            zone[(f"mx.{domain}", "A")] = [host]
    return zone


def peers_for(placements: dict[str, list[Placed]]) -> list[FakeMX]:
    """One FakeMX per reply or deferral, scripted with its text at its stage."""
    peers: list[FakeMX] = []
    for placed in placements.values():
        for one in placed:
            if one.target.fate not in ("reply", "defer") or one.target.reply is None:
                continue
            domain = one.address.split("@")[1]
            peer = FakeMX(host=one.host, port=25, hostname=f"mx.{domain}")
            text = one.target.reply.text.format(rcpt=one.address, domain=domain)
            peer.override(one.target.stage, text)
            peers.append(peer)
    return peers


# -- the namespace ---------------------------------------------------------------------

def unpack() -> Path:
    """The packages, downloaded once into the cache and unpacked there."""
    root = CACHE / "root"
    stamp = CACHE / "unpacked"
    if stamp.exists() and stamp.read_text().split() == list(PACKAGES):
        return root
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    os.chmod(debs, 0o755)
    # apt-get download writes into the working directory; _apt must be able to write it.
    shutil.chown(debs, "_apt") if _user_exists("_apt") else None
    subprocess.run(["apt-get", "download", *PACKAGES], cwd=debs, check=True)
    shutil.rmtree(root, ignore_errors=True)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    stamp.write_text("\n".join(PACKAGES) + "\n")
    return root


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def enter_namespace() -> None:
    """Run this script again inside new network, mount and UTS namespaces."""
    if os.environ.get(INSIDE):
        return
    if os.geteuid() != 0:
        sys.exit("dsnfarm: needs root (unshare -n -m -u, overlay mounts)")
    unpack()
    env = {**os.environ, INSIDE: "1"}
    done = subprocess.run(["unshare", "-n", "-m", "-u", sys.executable, *sys.argv], env=env,
                          check=False)
    sys.exit(done.returncode)


def isolate(tmp: Path, mtas: list[MTA]) -> None:
    """Inside the namespaces: loopback up with the MTAs' addresses, the farm's /etc, /usr
    and /var overlays, a private /run."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for mta in mtas:
        # Postfix and OpenSMTPD listen only on an address an interface has.
        subprocess.run(["ip", "addr", "add", f"{mta.ip}/8", "dev", "lo"], check=True)
    subprocess.run(["hostname", "farm.test"], check=True)
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    packages = CACHE / "root"
    top = tmp / "etc-top"
    (top / "exim4").mkdir(parents=True)
    (top / "resolv.conf").write_text("nameserver 127.0.0.1\noptions attempts:1 timeout:2\n")
    (top / "hostname").write_text("farm.test\n")
    (top / "mailname").write_text("farm.test\n")
    (top / "hosts").write_text("127.0.0.1 localhost\n")
    passwd = Path("/etc/passwd").read_text()
    group = Path("/etc/group").read_text()
    (tmp / "home").mkdir()
    uid = 2900
    for user in USERS:
        if f"\n{user}:" in f"\n{passwd}":
            continue
        uid += 1
        passwd += f"{user}:x:{uid}:{uid}::{tmp}/home:/usr/sbin/nologin\n"
        group += f"{user}:x:{uid}:\n"
    (top / "passwd").write_text(passwd)
    (top / "group").write_text(group)
    for mta in mtas:
        for relative, text in mta.etc_files().items():
            (top / relative).parent.mkdir(parents=True, exist_ok=True)
            (top / relative).write_text(text)
    for path in (top, *top.rglob("*")):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    _overlay("/etc", f"{top}:/etc:{packages}/etc")
    _overlay("/usr", f"/usr:{packages}/usr")
    for name in ("var-up", "var-work"):
        (tmp / name).mkdir()
    _overlay("/var", f"/var:{packages}/var", tmp / "var-up", tmp / "var-work")
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    os.environ["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"


def _overlay(target: str, lower: str, upper: Path | None = None,
             work: Path | None = None) -> None:
    options = f"lowerdir={lower}"
    if upper is not None and work is not None:
        options += f",upperdir={upper},workdir={work}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, target], check=True)


# -- one run -------------------------------------------------------------------------

def message(mta: str, number: int, scenario: Scenario, rcpts: list[str]) -> bytes:
    return (f"From: Spring News <news@sender.test>\r\nTo: {', '.join(rcpts)}\r\n"
            f"Subject: Spring news, issue {number}\r\nDate: {formatdate(localtime=False)}\r\n"
            f"Message-ID: <farm-{mta}-{number}@sender.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
            "Hello,\r\n\r\nthe spring issue is out.\r\n").encode()


def bounce_address(mta: MTA, number: int) -> str:
    """Where the bounce of scenario ``number``'s message to ``mta`` is to arrive."""
    return f"b{number:03d}-{mta.name}@{BOUNCE_DOMAIN}"


def inject(mta: MTA, number: int, scenario: Scenario, placed: list[Placed]) -> str:
    """Hand one scenario's message to an MTA (mtas.py, MTA.submit); its return path says
    which. Returns the address its bounce is to reach."""
    address = bounce_address(mta, number)
    rcpts = [one.address for one in placed]
    try:
        mta.submit(mta.return_path(address), rcpts, message(mta.name, number, scenario, rcpts))
    except (RuntimeError, smtplib.SMTPException, subprocess.CalledProcessError) as error:
        raise RuntimeError(f"{mta.name} refused {scenario.name}: {error}") from error
    return address


def labels_for(mta: MTA, version: str, scenario: Scenario, placed: list[Placed],
               file: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for one in placed:
        target = one.target
        if target.fate == "accept":
            continue
        reply = target.reply
        field = status_field(mta.name, target)
        status = refine(field, reply.enhanced if reply else "")
        expired = target.fate in ("defer", "refused")
        states_cause = not (expired and mta.name in _EXPIRY_WITHOUT_CAUSE)
        if reply is not None and states_cause:
            reason = reply.reason
        elif expired:
            # A refused connection, or an expiry report without the last reply, states no
            # cause (issue 18 item 7).
            reason = "expired"
        else:
            reason = {"nxdomain": "hostunknown", "nullmx": "notaccept",
                      "local-unknown": "userunknown", "local-full": "mailboxfull"}[target.fate]
        assert reason in REASONS, reason
        code = reply.code if reply and states_cause else ""
        rows.append({
            "file": file, "index": len(rows) + 1, "recipient": one.address,
            "status": status, "status_field": field, "replycode": code, "reason": reason,
            "hardbounce": is_hardbounce(reason, code, status), "expired": expired,
            "source": mta.name, "mta": version, "scenario": scenario.name,
            "kind": scenario.kind, "fate": target.fate, "stage": target.stage,
            "reply": reply.text.format(rcpt=one.address, domain=one.address.split("@")[1])
            if reply else "", "cite": reply.cite if reply else "", "half": half(file),
        })
    return rows


def check(data: bytes, rows: list[dict[str, object]]) -> list[str]:
    """What in the bounce disagrees with its labels (an empty list: nothing)."""
    text = data.decode("latin-1")
    problems: list[str] = []
    fields = set(re.findall(r"(?im)^Status:\s*([245]\.\d{1,3}\.\d{1,3})", text))
    for row in rows:
        if str(row["recipient"]).lower() not in text.lower():
            problems.append(f"{row['recipient']} not in the bounce")
        if not row["status_field"]:
            if fields:
                problems.append(f"{row['recipient']}: no Status expected, the bounce has"
                                f" {sorted(fields)}")
        elif row["status_field"] not in fields:
            problems.append(f"{row['recipient']}: Status {row['status_field']} expected,"
                            f" the bounce has {sorted(fields)}")
    if not given_up(data):
        problems.append("no recipient given up on")
    return problems


async def run(out: Path, tmp: Path, mtas: list[MTA], chosen: list[Scenario],
              wait: float) -> int:
    # Placed and numbered over all scenarios, so a scenario's addresses and return path do
    # not depend on which others run with it.
    every = scenarios()
    placements = {mta.name: place(every, mta) for mta in mtas}
    zone: dict[tuple[str, str], list[str]] = {(SMARTHOST_NAME, "A"): [SMARTHOST_IP]}
    for placement in placements.values():
        zone.update(zone_for(placement))
    peers = peers_for(placements[mtas[0].name])
    accepter = FakeMX(host=ACCEPTER, port=25, hostname="mx.accept.test")
    catch = FakeMX(host=CATCHER, port=25, hostname=f"mx.{BOUNCE_DOMAIN}")
    smarthost = Smarthost(SMARTHOST_IP, SMARTHOST_NAME, BOUNCE_DOMAIN,
                          routes_for(every, mtas, placements))
    for mta in mtas:
        mta.bounce_addresses = [bounce_address(mta, n) for n in range(len(every))]
    expected: dict[str, tuple[MTA, int, Scenario]] = {}

    def caught() -> list[ReceivedMessage]:
        return [*catch.messages, *smarthost.messages]

    async with FakeDNS(zone, port=53), accepter, catch, smarthost:
        for peer in peers:
            await peer.start()
        started: list[MTA] = []
        try:
            for mta in mtas:
                await asyncio.to_thread(mta.start)
                started.append(mta)
            for mta in mtas:
                for number, scenario in enumerate(every):
                    if mta.name in scenario.skip or scenario not in chosen:
                        continue
                    sender = await asyncio.to_thread(inject, mta, number, scenario,
                                                     placements[mta.name][scenario.name])
                    expected[sender.lower()] = (mta, number, scenario)
            print(f"dsnfarm: {len(expected)} messages handed to {len(mtas)} MTAs;"
                  f" waiting up to {wait:.0f} s for their bounces", flush=True)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                got = {r.lower() for m in caught() for r in m.rcpt_tos}
                if set(expected) <= got:
                    break
                await asyncio.sleep(2)
            await asyncio.sleep(5)  # a late duplicate or warning would show up now
        finally:
            for mta in started:
                await asyncio.to_thread(mta.stop)
            for peer in peers:
                await peer.close()
    return write(out, mtas, placements, expected, caught())


def routes_for(every: list[Scenario], mtas: list[MTA],
               placements: dict[str, dict[str, list[Placed]]]) -> dict[str, Route]:
    """The smarthost's script: each smarthost MTA's return path for a scenario, to the
    reply its one target meets (scenarios with several targets are not played there)."""
    routes: dict[str, Route] = {}
    for mta in mtas:
        if not mta.uses_smarthost:
            continue
        for number, scenario in enumerate(every):
            placed = placements[mta.name][scenario.name]
            target = placed[0].target
            if len(placed) != 1 or target.reply is None:
                continue
            address = placed[0].address
            text = target.reply.text.format(rcpt=address, domain=address.split("@")[1])
            routes[mta.return_path(bounce_address(mta, number)).lower()] = Route(
                target.stage, text)
    return routes


def write(out: Path, mtas: list[MTA], placements: dict[str, dict[str, list[Placed]]],
          expected: dict[str, tuple[MTA, int, Scenario]],
          caught: list[ReceivedMessage]) -> int:
    versions = {mta.name: mta.version() for mta in mtas}
    by_sender: dict[str, list[ReceivedMessage]] = {}
    for got in caught:
        for rcpt in got.rcpt_tos:
            by_sender.setdefault(rcpt.lower(), []).append(got)
    (out / "eml").mkdir(parents=True, exist_ok=True)
    labels_path = out / "labels.jsonl"
    old = [json.loads(line) for line in labels_path.read_text().splitlines()
           if line.strip()] if labels_path.exists() else []
    rows_out: dict[str, list[dict[str, object]]] = {}
    for row in old:
        rows_out.setdefault(row["file"], []).append(row)
    failures = 0
    for sender, (mta, _number, scenario) in sorted(expected.items()):
        file = f"{mta.name}-{scenario.name}.eml"
        placed = placements[mta.name][scenario.name]
        rows = labels_for(mta, versions[mta.name], scenario, placed, file)
        bounces = [m for m in by_sender.get(sender, []) if given_up(m.data)]
        if len(bounces) != 1:
            failures += 1
            (out / "rejected").mkdir(exist_ok=True)
            for n, got in enumerate(by_sender.get(sender, [])):
                (out / "rejected" / f"{file}.{n}").write_bytes(got.data)
            print(f"dsnfarm: {file}: {len(bounces)} failure bounces"
                  f" ({len(by_sender.get(sender, []))} messages) came back", flush=True)
            continue
        problems = check(bounces[0].data, rows)
        if problems:
            failures += 1
            print(f"dsnfarm: {file}: the bounce disagrees with its labels: {problems}",
                  flush=True)
            (out / "rejected").mkdir(exist_ok=True)
            (out / "rejected" / file).write_bytes(bounces[0].data)
            continue
        (out / "eml" / file).write_bytes(bounces[0].data)
        rows_out[file] = rows
    with labels_path.open("w") as handle:
        for file in sorted(rows_out):
            for row in rows_out[file]:
                handle.write(json.dumps(row, sort_keys=True) + "\n")
    written = len(expected) - failures
    print(f"dsnfarm: wrote {written} samples, {failures} scenarios failed", flush=True)
    for mta in mtas:
        if failures and os.environ.get("BOUNCELOOP_DSNFARM_LOGS"):
            print(f"--- {mta.name} log ---\n{mta.log()[-20000:]}")
    return 1 if failures else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="directory for eml/ and labels.jsonl")
    ap.add_argument("--mta", default=",".join(MTAS), help="comma-separated MTAs")
    ap.add_argument("--only", default="", help="regular expression of scenario names")
    ap.add_argument("--wait", type=float, default=LIFETIME_MINUTES * 60 + 150,
                    help="seconds to wait for the bounces")
    args = ap.parse_args()
    enter_namespace()
    chosen = [s for s in scenarios() if re.search(args.only, s.name)]
    with tempfile.TemporaryDirectory(prefix="dsnfarm-") as name:
        tmp = Path(name)
        os.chmod(tmp, 0o755)
        mtas = [MTAS[n][0](n, MTAS[n][1], tmp / n) for n in args.mta.split(",")]
        isolate(tmp, mtas)
        sys.exit(asyncio.run(run(args.out.resolve(), tmp, mtas, chosen, args.wait)))


if __name__ == "__main__":
    main()

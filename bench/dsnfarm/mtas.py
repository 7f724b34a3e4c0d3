"""The DSN farm's MTAs: Debian's Postfix, Exim, OpenSMTPD, Sendmail, Courier, chasquid, dma
and nullmailer, each a throwaway instance with its own configuration, spool and logs under
the farm's temporary directory.

They run inside the farm's namespaces (farm.py): a network namespace with only loopback, a
mount namespace where /usr and /etc are overlays holding the unpacked packages
(``apt-get download`` + ``dpkg-deb -x``: Debian's MTA packages conflict with one another,
so none is installed) and /var is a throwaway writable overlay. Each MTA listens on its own
loopback address, takes mail from anyone (the namespace has no one else), relays it by MX
through the fake DNS, and writes its own bounces, which go by MX to the farm's catcher.
Three differ: chasquid relays only for an authenticated user, so the farm submits to it as
one (:meth:`MTA.submit`); dma has no SMTP listener, so the farm hands it each message
through its sendmail interface; nullmailer has none either and relays everything to one
smarthost, which the farm plays (smarthost.py), and its bounces go back through it.

Every MTA gets the same short clocks where it has them, so a temporary failure turns into
an expiry bounce within minutes: a queue lifetime of ``LIFETIME`` and queue runs every
``QUEUE_RUN``. chasquid's and dma's lifetimes are compiled in (20 hours, 5 days): the
farm plays no expiry for them (scenarios.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

#: The queue lifetime every MTA is given (issue 18: "set to minutes"), and the retry pace.
LIFETIME_MINUTES = 3
QUEUE_RUN_SECONDS = 20

#: Local users the farm adds to its own /etc/passwd (farm.py): the owner of a full mailbox.
FULL_USER = "marta"
#: Bytes an MTA may keep in a mailbox, where it has such a limit; the full user's mailbox is
#: filled to just under it.
MAILBOX_LIMIT = 51200


@dataclass
class MTA(ABC):
    """One MTA instance: ``name`` (the samples' prefix), the loopback address it listens
    on, and ``local_domain``, the domain it delivers to local users."""

    name: str
    ip: str
    root: Path
    #: The farm's bounce addresses, one per scenario, set before :meth:`start` (chasquid
    #: forwards its local return paths to them).
    bounce_addresses: list[str] = field(default_factory=list)
    #: Relays everything to the farm's smarthost (smarthost.py) instead of by MX.
    uses_smarthost: ClassVar[bool] = False

    @property
    def local_domain(self) -> str:
        return f"{self.name}.farm.test"

    @property
    def hostname(self) -> str:
        return f"mx.{self.local_domain}"

    @abstractmethod
    def start(self) -> None:
        """Configure and start the instance; return once it listens."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the instance (its files go with the farm's temporary directory)."""

    @abstractmethod
    def version(self) -> str:
        """Package and version, for the labels."""

    def log(self) -> str:
        """The MTA's log, for a report when a bounce does not come."""
        return ""

    def etc_files(self) -> dict[str, str]:
        """Files for the farm's /etc overlay (paths under /etc): for an MTA whose
        configuration path is compiled in."""
        return {}

    def return_path(self, bounce_address: str) -> str:
        """The envelope sender to submit with, so that the bounce reaches
        ``bounce_address``: that address itself, by default."""
        return bounce_address

    def submit(self, sender: str, rcpts: list[str], data: bytes) -> None:
        """Hand one message to the MTA: over SMTP to its port 25, by default."""
        with smtplib.SMTP(self.ip, 25, local_hostname="out.sender.test", timeout=30) as smtp:
            refused = smtp.sendmail(sender, rcpts, data)
        if refused:
            raise RuntimeError(f"{self.name} refused {refused}")

    def fill_mailbox(self, path: Path) -> None:
        """The full user's mailbox: one old message padding it to just under the limit."""
        path.parent.mkdir(parents=True, exist_ok=True)
        head = b"From old@sender.test Mon Jan  1 00:00:00 2024\nSubject: old\n\n"
        pad = MAILBOX_LIMIT - len(head) - 64
        path.write_bytes(head + (b"x" * 75 + b"\n") * (pad // 76) + b"\n")
        shutil.chown(path, FULL_USER, FULL_USER)
        os.chmod(path, 0o600)


def _package_version(package: str) -> str:
    """The version of an unpacked package (its changelog's first line, in the overlay)."""
    for name in ("changelog.Debian.gz", "changelog.gz"):
        path = Path("/usr/share/doc") / package / name
        if path.exists():
            done = subprocess.run(["zcat", str(path)], capture_output=True, text=True,
                                  check=False)
            first = done.stdout.split("\n", 1)[0]
            return f"{package} {first.split('(')[1].split(')')[0]}" if "(" in first else package
    return package


# -- Postfix -------------------------------------------------------------------------

POSTFIX_MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = {hostname}
mydomain = {domain}
myorigin = {domain}
mydestination = {domain}
inet_interfaces = {ip}
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# An empty local_recipient_maps accepts any local part at RCPT: local(8) then finds the
# user missing and bounces (postconf(5), local_recipient_maps).
local_recipient_maps =
alias_maps =
alias_database =
mail_spool_directory = {root}/mail
mailbox_size_limit = {limit}
message_size_limit = {limit}
# postconf(5): maximal_queue_lifetime and bounce_queue_lifetime; the back-off times are kept
# below the lifetime so a deferred message is tried several times before it expires.
maximal_queue_lifetime = {lifetime}m
bounce_queue_lifetime = {lifetime}m
queue_run_delay = {run}s
minimal_backoff_time = {run}s
maximal_backoff_time = {run}s
smtp_connect_timeout = 5s
smtp_tls_security_level = none
smtpd_tls_security_level = none
maillog_file_prefixes = {root}
maillog_file = {root}/maillog
biff = no
"""

# Debian's master.cf with every service out of chroot (the instance's own resolv.conf and
# configuration must be what the daemons read).
POSTFIX_MASTER_CF = """\
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix(MTA):
    def start(self) -> None:
        etc = self.root / "etc"
        for directory in (etc, self.root / "data", self.root / "spool"):
            directory.mkdir(parents=True)
        mail = self.root / "mail"
        mail.mkdir()
        os.chmod(mail, 0o1777)
        (etc / "main.cf").write_text(POSTFIX_MAIN_CF.format(
            root=self.root, hostname=self.hostname, domain=self.local_domain, ip=self.ip,
            limit=MAILBOX_LIMIT, lifetime=LIFETIME_MINUTES, run=QUEUE_RUN_SECONDS))
        (etc / "master.cf").write_text(POSTFIX_MASTER_CF)
        shutil.chown(self.root / "data", "postfix")
        self.fill_mailbox(mail / FULL_USER)
        subprocess.run(["postfix", "-c", str(etc), "start"], check=True,
                       capture_output=True)

    def stop(self) -> None:
        subprocess.run(["postfix", "-c", str(self.root / "etc"), "stop"], check=False,
                       capture_output=True)

    def version(self) -> str:
        done = subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True,
                              text=True, check=False)
        return f"postfix {done.stdout.strip()}"

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""


# -- Exim ----------------------------------------------------------------------------

# Our own configuration, not Debian's split one: Exim reads /etc/exim4/exim4.conf (compiled
# in; the farm's /etc overlay holds this file there). It relays for everyone (the namespace
# has no one else), delivers the local domain to local users with a quota, and retries on
# the farm's short clock.
EXIM_CONF = """\
primary_hostname = {hostname}
qualify_domain = {domain}
domainlist local_domains = {domain}
local_interfaces = {ip}
daemon_smtp_ports = 25
spool_directory = {root}/spool
log_file_path = {root}/log/%slog
pid_file_path = {root}/exim.pid
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
disable_ipv6 = true
keep_environment =
# No delay warnings within a farm run (Exim specification, delay_warning).
delay_warning = 1d
acl_smtp_rcpt = acl_rcpt

begin acl
acl_rcpt:
  accept

begin routers
remote:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  no_more
local_user:
  driver = accept
  check_local_user
  transport = local_mailbox

begin transports
remote_smtp:
  driver = smtp
  hosts_avoid_tls = *
  connect_timeout = 5s
local_mailbox:
  driver = appendfile
  # $local_part_data: the untainted name check_local_user found (Exim 4.94+ taint rules).
  file = {root}/mail/$local_part_data
  # Exim specification, appendfile quota: over it, delivery fails with "mailbox is full".
  quota = {limit}

begin retry
# A rule with no retry times: a quota failure is not retried (Exim specification, ch. 32
# Retry configuration).
*   quota
*   *   F,{lifetime}m,{run}s
"""


class Exim(MTA):
    def etc_files(self) -> dict[str, str]:
        return {"exim4/exim4.conf": self.config()}

    def start(self) -> None:
        for name in ("spool", "log", "mail"):
            (self.root / name).mkdir(parents=True)
        for name in ("spool", "log"):
            shutil.chown(self.root / name, "Debian-exim", "Debian-exim")
        os.chmod(self.root / "mail", 0o1777)
        self.fill_mailbox(self.root / "mail" / FULL_USER)
        subprocess.run(["exim4", "-bd", f"-q{QUEUE_RUN_SECONDS}s"], check=True)
        _wait_port(self.ip)

    def config(self) -> str:
        return EXIM_CONF.format(hostname=self.hostname, domain=self.local_domain, ip=self.ip,
                                root=self.root, limit=MAILBOX_LIMIT,
                                lifetime=LIFETIME_MINUTES, run=QUEUE_RUN_SECONDS)

    def stop(self) -> None:
        _kill_pidfile(self.root / "exim.pid")

    def version(self) -> str:
        return _package_version("exim4-daemon-light").replace("-daemon-light", "")

    def log(self) -> str:
        logs = sorted((self.root / "log").glob("*log"))
        return "".join(path.read_text(errors="replace") for path in logs)


# -- OpenSMTPD -----------------------------------------------------------------------

# smtpd.conf(5) of OpenSMTPD 6.8: relay anything by MX; the queue ttl is the lifetime; no
# delay warnings within a farm run.
SMTPD_CONF = """\
queue ttl {lifetime}m
bounce warn-interval 1h
listen on {ip} port 25 hostname {hostname}
action "out" relay helo {hostname}
match from any for any action "out"
match from local for any action "out"
"""


class OpenSMTPD(MTA):
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self.root / "smtpd.conf"
        conf.write_text(SMTPD_CONF.format(ip=self.ip, hostname=self.hostname,
                                          lifetime=LIFETIME_MINUTES))
        os.chmod(conf, 0o644)
        with (self.root / "smtpd.log").open("wb") as log:
            self.proc = subprocess.Popen(["smtpd", "-d", "-f", str(conf)], stdout=log,
                                         stderr=subprocess.STDOUT)
        _wait_port(self.ip)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def version(self) -> str:
        return _package_version("opensmtpd")

    def log(self) -> str:
        path = self.root / "smtpd.log"
        return path.read_text(errors="replace") if path.exists() else ""


# -- Sendmail ------------------------------------------------------------------------

# A sendmail.mc of our own for sendmail-cf's m4 files (cf/README): relay anything
# (promiscuous_relay: the namespace has no one else), a short queue return time, no
# warnings within a farm run, queue and files under the instance's directory.
SENDMAIL_MC = """\
divert(-1)dnl
include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(`bounceloop dsnfarm')dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `{hostname}')dnl
define(`QUEUE_DIR', `{root}/mqueue')dnl
define(`STATUS_FILE', `{root}/statistics')dnl
define(`ALIAS_FILE', `{root}/aliases')dnl
define(`confPID_FILE', `{root}/sendmail.pid')dnl
define(`confHOST_STATUS_DIRECTORY', `')dnl
define(`confTO_QUEUERETURN', `{lifetime}m')dnl
define(`confTO_QUEUEWARN', `1h')dnl
define(`confTO_CONNECT', `5s')dnl
define(`confMIN_QUEUE_AGE', `0')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confDELIVERY_MODE', `background')dnl
define(`confLOG_LEVEL', `14')dnl
define(`LOCAL_MAILER_PATH', `/usr/libexec/sendmail/mail.local')dnl
FEATURE(`promiscuous_relay')dnl
FEATURE(`accept_unresolvable_domains')dnl
DAEMON_OPTIONS(`Port=smtp, Addr={ip}, Name=MTA')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
"""


class Sendmail(MTA):
    def start(self) -> None:
        (self.root / "mqueue").mkdir(parents=True)
        os.chmod(self.root / "mqueue", 0o700)
        (self.root / "aliases").write_text("postmaster: root\n")
        mc = SENDMAIL_MC.format(hostname=self.hostname, root=self.root, ip=self.ip,
                                lifetime=LIFETIME_MINUTES)
        cf = subprocess.run(["m4"], input=mc, capture_output=True, text=True, check=True)
        (self.root / "sendmail.cf").write_text(cf.stdout)
        subprocess.run(["/usr/libexec/sendmail/sendmail", "-C", str(self.root / "sendmail.cf"),
                        "-bi"], check=False, capture_output=True)
        subprocess.run(["/usr/libexec/sendmail/sendmail", "-C", str(self.root / "sendmail.cf"),
                        "-bd", f"-q{QUEUE_RUN_SECONDS}s"], check=True)
        _wait_port(self.ip)

    def stop(self) -> None:
        _kill_pidfile(self.root / "sendmail.pid")

    def version(self) -> str:
        return _package_version("sendmail-bin").replace("-bin", "")


# -- Courier -------------------------------------------------------------------------

#: Control files of /etc/courier (courier(8), "CONFIGURATION FILES"), one line each. Every
#: instance runs with the farm's clocks: queuetime is the lifetime; retryalpha/retrybeta/
#: retrygamma/retrymaxdelta make the retry schedule "retrybeta attempts retryalpha apart,
#: then a wait of retrygamma*2^n" (at most 2^retrymaxdelta), so one gamma of QUEUE_RUN;
#: esmtpdelay (how long an unreachable host is left alone) is kept below that.
COURIER_CONTROL = {
    "me": "{hostname}",
    "defaultdomain": "{domain}",
    "locals": "localhost\n{domain}",
    "queuetime": "{lifetime}m",
    "warntime": "1h",
    "retryalpha": "{run}s",
    "retrybeta": "2",
    "retrygamma": "{run}s",
    "retrymaxdelta": "0",
    "esmtpdelay": "5",
    "esmtptimeoutconnect": "5",
}

#: Appended to Debian's /etc/courier/esmtpd (a shell file, so a later line wins): listen on
#: the instance's address only, no tarpit and no DNS check of the sender's domain (the
#: farm's senders resolve, but the checks only slow the run), the pid file in the instance.
COURIER_ESMTPD = """
ADDRESS={ip}
PORT=25
TARPIT=0
BOFHCHECKDNS=0
ESMTPDSTART=YES
PIDFILE={root}/esmtpd.pid
TCPDOPTS="-noidentlookup -nodnslookup"
"""

#: Appended to Debian's courierd: no STARTTLS towards the farm's peers (they offer none).
COURIER_COURIERD = "\nESMTP_USE_STARTTLS=0\n"


class Courier(MTA):
    """Courier 1.0: its paths are compiled in (/etc/courier, /var/lib/courier,
    /run/courier), so the instance's own configuration and spool are bind-mounted there
    inside the farm's mount namespace. Local addresses are looked up through authdaemond
    (courier-authlib, authpam: the namespace's /etc/passwd)."""

    def start(self) -> None:
        etc, spool = self.root / "etc", self.root / "spool"
        shutil.copytree("/etc/courier", etc, symlinks=True)
        shutil.copytree("/var/lib/courier", spool, symlinks=True)
        values = {"hostname": self.hostname, "domain": self.local_domain,
                  "lifetime": LIFETIME_MINUTES, "run": QUEUE_RUN_SECONDS}
        for name, text in COURIER_CONTROL.items():
            (etc / name).write_text(text.format(**values) + "\n")
        with (etc / "esmtpd").open("a") as esmtpd:
            esmtpd.write(COURIER_ESMTPD.format(ip=self.ip, root=self.root))
        with (etc / "courierd").open("a") as courierd:
            courierd.write(COURIER_COURIERD)
        # makesmtpaccess(8): RELAYCLIENT for the namespace's loopback, the farm's only
        # client (Debian's default names 127.0.0.1 alone; the farm connects from others).
        (etc / "smtpaccess" / "default").write_text("127\tallow,RELAYCLIENT\n")
        (etc / "esmtpacceptmailfor.dir" / "farm").write_text(f"{self.local_domain}\n")
        subprocess.run(["chown", "-R", "courier:courier", str(spool)], check=True)
        for source, target in ((etc, "/etc/courier"), (spool, "/var/lib/courier")):
            subprocess.run(["mount", "--bind", str(source), target], check=True)
        for directory in ("/run/courier", "/run/courier/authdaemon"):
            Path(directory).mkdir(exist_ok=True)
            shutil.chown(directory, "courier", "courier")
        # What makesmtpaccess and makeacceptmailfor run; Debian installs makedat as
        # makedat.courier behind an alternative its maintainer script would make.
        for source, cidr in (("smtpaccess", ["-cidr"]), ("esmtpacceptmailfor.dir", [])):
            dat = "/etc/courier/" + source.removesuffix(".dir")
            subprocess.run(["makedat.courier", f"-src=/etc/courier/{source}",
                            f"-file={dat}.dat", f"-tmp={dat}.tmp", *cidr], check=True)
        # courierd and couriertcpd write their log to stderr (courierlogger would pass it
        # on to syslog, which the namespace lacks): the instance's log file keeps it.
        with (self.root / "courier.log").open("ab") as log:
            for command in (["authdaemond", "start"], ["courier", "start"],
                            ["/usr/lib/courier/esmtpd", "start"]):
                subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)
        _wait_port(self.ip)

    def stop(self) -> None:
        subprocess.run(["/usr/lib/courier/esmtpd", "stop"], check=False)
        subprocess.run(["courier", "stop"], check=False)
        subprocess.run(["authdaemond", "stop"], check=False)

    def version(self) -> str:
        return _package_version("courier-mta")

    def log(self) -> str:
        path = self.root / "courier.log"
        queue = subprocess.run(["mailq"], capture_output=True, text=True, check=False)
        return (path.read_text(errors="replace") if path.exists() else "") + queue.stdout


# -- chasquid ------------------------------------------------------------------------

# chasquid.conf(5) of chasquid 1.11 (a text protobuf, internal/config/config.proto): every
# listener on the instance's address (the defaults are systemd sockets), the queue and the
# domain database under the instance's directory, the mail log in a file.
CHASQUID_CONF = """\
hostname: "{hostname}"
smtp_address: "{ip}:25"
submission_address: "{ip}:587"
submission_over_tls_address: "{ip}:465"
data_dir: "{root}/data"
mail_log_path: "{root}/mail.log"
"""

#: The account the farm submits as (chasquid-util user-add).
CHASQUID_USER, CHASQUID_PASSWORD = "news", "farm-password"


class Chasquid(MTA):
    """chasquid 1.11: relays only for an authenticated user (internal/smtpsrv/conn.go,
    RCPT: "Relay not allowed"), and AUTH only after STARTTLS, so the farm submits on the
    submission port as a user of the local domain, over TLS with a self-signed certificate.
    Its bounces go to the message's sender; the farm's return paths are local addresses
    that the domain's aliases file forwards to the bounce domain, so chasquid reports as
    its own domain (internal/queue/queue.go, sendDSN(), picks the sender's domain when it
    is local, else "unknown"). The queue lifetime is compiled in (20 hours): no expiry."""

    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        etc = self.root / "etc"
        domain = etc / "domains" / self.local_domain
        certs = etc / "certs" / self.hostname
        for directory in (domain, certs, self.root / "data"):
            directory.mkdir(parents=True)
        (etc / "chasquid.conf").write_text(CHASQUID_CONF.format(
            hostname=self.hostname, ip=self.ip, root=self.root))
        aliases = [f"{address.split('@')[0]}: {address}" for address in self.bounce_addresses]
        (domain / "aliases").write_text("".join(line + "\n" for line in aliases))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                        "-subj", f"/CN={self.hostname}", "-keyout", str(certs / "privkey.pem"),
                        "-out", str(certs / "fullchain.pem")], check=True, capture_output=True)
        subprocess.run(["chasquid-util", f"--configdir={etc}", "user-add",
                        f"{CHASQUID_USER}@{self.local_domain}",
                        f"--password={CHASQUID_PASSWORD}"], check=True, capture_output=True)
        with (self.root / "chasquid.log").open("wb") as log:
            self.proc = subprocess.Popen(["chasquid", f"--config_dir={etc}"], stdout=log,
                                         stderr=subprocess.STDOUT)
        _wait_port(self.ip, 587)

    def return_path(self, bounce_address: str) -> str:
        return f"{bounce_address.split('@')[0]}@{self.local_domain}"

    def submit(self, sender: str, rcpts: list[str], data: bytes) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP(self.ip, 587, local_hostname="out.sender.test", timeout=30) as smtp:
            smtp.starttls(context=context)
            smtp.login(f"{CHASQUID_USER}@{self.local_domain}", CHASQUID_PASSWORD)
            refused = smtp.sendmail(sender, rcpts, data)
        if refused:
            raise RuntimeError(f"{self.name} refused {refused}")

    def stop(self) -> None:
        _stop(self.proc)

    def version(self) -> str:
        return _package_version("chasquid")

    def log(self) -> str:
        return "".join(path.read_text(errors="replace") for path in
                       (self.root / "chasquid.log", self.root / "mail.log") if path.exists())


# -- dma -----------------------------------------------------------------------------

# dma.conf of dma 0.13 (dma(8)); its path is compiled in (/etc/dma/dma.conf), so the farm's
# /etc overlay holds it. No smarthost (delivery by MX), plain SMTP, the spool and the
# aliases file under the instance's directory.
DMA_CONF = """\
SPOOLDIR {root}/spool
ALIASES {root}/aliases
MAILNAME {hostname}
"""


class DMA(MTA):
    """dma 0.13 (DragonFly Mail Agent): no SMTP listener and no daemon; ``dma -f sender
    rcpt...`` spools the message, forks a delivery process per recipient (as the mail
    user) and delivers by MX; a permanent failure makes it queue a plain-text bounce (no
    DSN: mail.c, bounce()) to the sender and deliver that by MX. Its retry clock is
    compiled in (5 minutes doubling, 5 days in all): no expiry."""

    def etc_files(self) -> dict[str, str]:
        return {"dma/dma.conf": DMA_CONF.format(root=self.root, hostname=self.hostname)}

    def start(self) -> None:
        (self.root / "spool").mkdir(parents=True)
        shutil.chown(self.root / "spool", "mail", "mail")
        (self.root / "aliases").write_text("")

    def submit(self, sender: str, rcpts: list[str], data: bytes) -> None:
        subprocess.run(["/usr/sbin/dma", "-f", sender, *rcpts], input=data, check=True,
                       timeout=30)

    def stop(self) -> None:
        # dma's delivery processes are daemons of the farm's own submissions: a recipient
        # still deferred would retry for days. End those of this namespace, by their ids.
        for pid in _own_processes("/usr/sbin/dma"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 15)

    def version(self) -> str:
        return _package_version("dma")


# -- nullmailer ------------------------------------------------------------------------

#: The farm's smarthost for nullmailer (smarthost.py), by name through the fake DNS.
SMARTHOST_NAME, SMARTHOST_IP = "relay.farm.test", "127.40.0.1"


class Nullmailer(MTA):
    """nullmailer 2.2: no SMTP listener; ``nullmailer-inject`` (what its sendmail runs)
    queues a message and nullmailer-send relays it to the one smarthost in ``remotes``, the
    farm's (smarthost.py). A permanent failure, or a temporary one past ``queuelifetime``,
    makes nullmailer-send move the message to failed/ and queue a DSN from nullmailer-dsn
    (src/send.cc, bounce_msg()), which goes to the same smarthost. Its configuration and
    queue paths are compiled in (/etc/nullmailer, /var/spool/nullmailer): the farm's /etc
    overlay holds the one and its throwaway /var the other."""

    proc: subprocess.Popen[bytes] | None = None
    uses_smarthost = True

    def etc_files(self) -> dict[str, str]:
        # nullmailer(7) and nullmailer-send(8): the clocks are seconds. Debian's nullmailer
        # takes its own name from /etc/mailname (the farm's: farm.test), not from "me".
        return {f"nullmailer/{name}": f"{value}\n" for name, value in {
            "defaultdomain": self.local_domain,
            "remotes": f"{SMARTHOST_NAME} smtp --port=25",
            "pausetime": QUEUE_RUN_SECONDS, "maxpause": QUEUE_RUN_SECONDS,
            "queuelifetime": LIFETIME_MINUTES * 60, "sendtimeout": 60}.items()}

    def start(self) -> None:
        self.root.mkdir(parents=True)
        spool = Path("/var/spool/nullmailer")
        for name in ("queue", "tmp", "failed"):
            (spool / name).mkdir(parents=True, exist_ok=True)
        trigger = spool / "trigger"
        if not trigger.exists():
            os.mkfifo(trigger, 0o622)
        subprocess.run(["chown", "-R", "mail:mail", str(spool)], check=True)
        with (self.root / "nullmailer.log").open("wb") as log:
            # Debian runs nullmailer-send as the mail user (nullmailer.service).
            self.proc = subprocess.Popen(["/usr/sbin/nullmailer-send"], stdout=log,
                                         stderr=subprocess.STDOUT, user="mail", group="mail",
                                         cwd=spool)

    def submit(self, sender: str, rcpts: list[str], data: bytes) -> None:
        # What nullmailer's sendmail -f runs (src/sendmail.cc): recipients from the
        # arguments, the sender from -f.
        subprocess.run(["/usr/bin/nullmailer-inject", "-e", "-f", sender, *rcpts],
                       input=data, check=True, timeout=30)

    def stop(self) -> None:
        _stop(self.proc)

    def version(self) -> str:
        return _package_version("nullmailer")

    def log(self) -> str:
        path = self.root / "nullmailer.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _own_processes(executable: str) -> list[int]:
    """Processes running ``executable`` in this process's network namespace (the farm's)."""
    mine = os.readlink("/proc/self/ns/net")
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (os.readlink(entry / "ns" / "net") == mine
                    and os.readlink(entry / "exe") == executable):
                found.append(int(entry.name))
    return found


def _wait_port(ip: str, port: int = 25, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((ip, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"dsnfarm: nothing listens on {ip}:{port}")


def _kill_pidfile(path: Path) -> None:
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 15)


#: The MTAs, each on its own loopback address.
MTAS: dict[str, tuple[type[MTA], str]] = {
    "postfix": (Postfix, "127.0.0.2"),
    "exim": (Exim, "127.0.0.3"),
    "opensmtpd": (OpenSMTPD, "127.0.0.4"),
    "sendmail": (Sendmail, "127.0.0.5"),
    "courier": (Courier, "127.0.0.6"),
    "chasquid": (Chasquid, "127.0.0.7"),
    # dma and nullmailer listen nowhere; their addresses are kept for the pattern.
    "dma": (DMA, "127.0.0.8"),
    "nullmailer": (Nullmailer, "127.0.0.9"),
}

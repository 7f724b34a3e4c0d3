"""The DSN farm's scenarios, as data: who the message goes to, what happens to each
recipient, and the labels that follow from it (never from a parser).

A scenario is one message to one or more recipients. Each recipient (a :class:`Target`)
meets one fate:

* ``accept``: its MX takes the message (the other half of a multi-recipient mix);
* ``reply``: its MX answers a catalogue text at MAIL, RCPT, DATA (the command) or after the
  final dot (``DATA_END``);
* ``defer``: its MX answers a temporary catalogue text at RCPT on every attempt, until the
  sending MTA's queue lifetime (a few minutes in the farm) runs out;
* ``refused``: its MX host refuses the TCP connection, until the queue lifetime runs out;
* ``nxdomain``: the fake DNS says the domain does not exist;
* ``nullmx``: the domain publishes a null MX (RFC 7505);
* ``local-unknown`` / ``local-full``: the MTA itself is the destination and the local user
  does not exist, or its mailbox is over the MTA's size limit (where the MTA can do that).

Every reply text carries its source (an RFC, an MTA's source or documentation, or a
provider's published error reference) and the reason that source gives it, in bounceloop's
vocabulary (``bounceloop.core.reasons.REASONS``). ``{rcpt}`` in a text is the recipient the
reply is about, as the real servers quote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Where a remote reply is given.
STAGES = ("MAIL", "RCPT", "DATA", "DATA_END")

_ENHANCED = re.compile(r"[245]\d\d[ -]([245]\.\d{1,3}\.\d{1,3})\b")
#: qmail writes its RFC 1893 code after the text, "(#5.7.1)" (qmail-smtpd.c, err_nogateway
#: and the other err_ functions; qmail-send's bounces likewise, "#5.1.1").
_QMAIL_ENHANCED = re.compile(r"\(#([245]\.\d{1,3}\.\d{1,3})\)\s*$")


@dataclass(frozen=True)
class Reply:
    """One documented SMTP reply: ``text`` (lines joined by ``\\n``, each with the code),
    the ``reason`` its source gives, the ``cite``, and the ``stages`` it is played at."""

    key: str
    text: str
    reason: str
    cite: str
    stages: tuple[str, ...] = ("RCPT",)

    @property
    def code(self) -> str:
        return self.text[:3]

    @property
    def leading(self) -> str:
        """The RFC 3463 code at the head of the reply (RFC 2034), or '': the one an MTA
        that copies the remote code into its ``Status:`` field takes (Postfix's
        dsn_split(), Sendmail's smtptodsn() look there and nowhere else)."""
        match = _ENHANCED.match(self.text)
        return match.group(1) if match else ""

    @property
    def enhanced(self) -> str:
        """The :attr:`leading` RFC 3463 code, or qmail's at the reply's end, or ''."""
        if self.leading:
            return self.leading
        match = _QMAIL_ENHANCED.search(self.text)
        return match.group(1) if match else ""


G = "Gmail SMTP errors and codes, support.google.com/a/answer/3726730"
MS = "Microsoft Learn, Exchange Online NDRs: "
Y = "Yahoo Sender Hub, SMTP error codes (senders.yahooinc.com/smtp-error-codes)"
PF = "Postfix source, "

#: Permanent replies (5xx), played at the stages listed.
PERMANENT: tuple[Reply, ...] = (
    Reply("gmail-nosuchuser",
          "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
          "550-5.1.1 double-checking the recipient's email address for typos or\n"
          "550-5.1.1 unnecessary spaces. For more information, go to\n"
          "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser - gsmtp",
          "userunknown", G),
    Reply("gmail-disabled",
          "550-5.2.1 The email account that you tried to reach is disabled.\n"
          "550 5.2.1  https://support.google.com/mail/?p=DisabledUser - gsmtp",
          "suspend", G),
    Reply("gmail-overquota",
          "552-5.2.2 The email account that you tried to reach is over quota.\n"
          "552 5.2.2  https://support.google.com/mail/?p=OverQuotaPerm - gsmtp",
          "mailboxfull", G, ("RCPT", "DATA_END")),
    Reply("gmail-ip-blocked",
          "550-5.7.1 [192.0.2.25] Our system has detected an unusual rate of\n"
          "550-5.7.1 unsolicited mail originating from your IP address. To protect our\n"
          "550 5.7.1 users from spam, mail sent from your IP address has been blocked. - gsmtp",
          "blocked", G, ("MAIL", "RCPT")),
    Reply("gmail-ptr",
          "550-5.7.25 The IP address sending this message does not have a PTR record setup, or\n"
          "550-5.7.25 the corresponding forward DNS entry does not point to the sending IP.\n"
          "550 5.7.25 As a policy, Gmail does not accept messages from IPs with missing PTR"
          " records. - gsmtp",
          "requireptr", G, ("DATA_END",)),
    Reply("gmail-unauthenticated",
          "550-5.7.26 This mail has been blocked because the sender is unauthenticated.\n"
          "550-5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM.\n"
          "550 5.7.26  https://support.google.com/mail/answer/81126#authentication - gsmtp",
          "authfailure", G, ("DATA_END",)),
    Reply("gmail-dmarc",
          "550-5.7.26 Unauthenticated email from sender.test is not accepted due to domain's\n"
          "550-5.7.26 DMARC policy. Please contact the administrator of sender.test domain\n"
          "550 5.7.26 if this was a legitimate mail. - gsmtp",
          "authfailure", G, ("DATA_END",)),
    Reply("gmail-spam",
          "550-5.7.1 Our system has detected that this message is likely unsolicited mail.\n"
          "550-5.7.1 To reduce the amount of spam sent to Gmail, this message has been\n"
          "550 5.7.1 blocked. - gsmtp",
          "spamdetected", G, ("DATA_END",)),
    Reply("gmail-security",
          "552-5.7.0 This message was blocked because its content presents a potential\n"
          "552 5.7.0 security issue. - gsmtp",
          "virusdetected", G, ("DATA_END",)),
    Reply("gmail-size",
          "552-5.3.4 Your message exceeded Google's message size limits. Please visit\n"
          "552 5.3.4  https://support.google.com/mail/?p=MaxSizeError - gsmtp",
          "mesgtoobig", G, ("DATA_END",)),
    Reply("ms-recipientnotfound",
          "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address"
          " lookup",
          "userunknown", MS + "fix error code 550 5.1.10 in Exchange Online"),
    Reply("ms-recipnotfound", "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
          "userunknown", MS + "fix error codes 5.1.1 through 5.1.20 in Exchange Online"),
    Reply("ms-dbeb", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
          "userunknown",
          MS + "fix error code 550 5.4.1 (Directory-Based Edge Blocking: no such recipient)"),
    Reply("ms-quota",
          "554 5.2.2 mailbox full;"
          " STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
          "mailboxfull", MS + "fix error code 5.2.2 in Exchange Online", ("DATA_END",)),
    Reply("ms-banned-ip",
          "550 5.7.606 Access denied, banned sending IP [192.0.2.25]. To request removal from"
          " this list please visit https://sender.office.com/ and follow the directions.",
          "blocked", MS + "fix error codes 5.7.600 through 5.7.699 in Exchange Online",
          ("MAIL", "RCPT")),
    Reply("ms-spamhaus",
          "550 5.7.1 Service unavailable, Client host [192.0.2.25] blocked using Spamhaus."
          " To request removal from this list see https://www.spamhaus.org/query/ip/192.0.2.25"
          " (AS3130).",
          "blocked", MS + "fix error code 5.7.1 in Exchange Online (IP on a blocklist)",
          ("RCPT", "DATA")),
    Reply("ms-traffic-not-accepted",
          "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.",
          "badreputation",
          MS + "fix error code 5.7.708 (the sending IP has a poor reputation)", ("RCPT",)),
    Reply("ms-dmarc",
          "550 5.7.509 Access denied, sending domain sender.test does not pass DMARC"
          " verification and has a DMARC policy of reject.",
          "authfailure", MS + "fix error code 550 5.7.509 in Exchange Online", ("DATA_END",)),
    Reply("ms-hopcount", "554 5.4.14 Hop count exceeded - possible mail loop",
          "networkerror", MS + "fix error code 554 5.4.14 in Exchange Online (a mail loop)",
          ("DATA_END",)),
    Reply("outlook-blocklist",
          "550 5.7.1 Unfortunately, messages from [192.0.2.25] weren't sent. Please contact"
          " your Internet service provider since part of their network is on our block list"
          " (S3150).",
          "blocked", "Outlook.com postmaster, troubleshooting (sendersupport.olc.protection"
          ".outlook.com/pm/troubleshooting.aspx), S3150", ("MAIL", "RCPT")),
    Reply("yahoo-nouser",
          "554 delivery error: dd This user doesn't have a yahoo.com account ({rcpt}) [0]"
          " - mta1001.mail.bf1.yahoo.com",
          "userunknown", "Yahoo Help SLN3444, Email sent to Yahoo Mail addresses is rejected",
          ("RCPT", "DATA_END")),
    Reply("yahoo-overquota",
          "554 delivery error: dd Sorry, your message to {rcpt} cannot be delivered. This"
          " account is over quota. [0] - mta1001.mail.bf1.yahoo.com",
          "mailboxfull", "Yahoo! Mail help, My email is being blocked by Yahoo! Mail"
          " (abuse-57)", ("DATA_END",)),
    Reply("yahoo-bl21",
          "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.25, because the ip"
          " is in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes",
          "blocked", Y + ", BL21", ("MAIL",)),
    Reply("yahoo-policy",
          "554 5.7.9 Message not accepted for policy reasons.  See"
          " https://postmaster.yahooinc.com/error-codes",
          "policyviolation", Y + ", 554 5.7.9", ("DATA_END",)),
    Reply("yahoo-unauthenticated",
          "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo"
          " requires all senders to authenticate with either SPF or DKIM.",
          "authfailure", Y + ", 550 5.7.9", ("DATA_END",)),
    Reply("comcast-notcustomer", "550 5.1.1 <{rcpt}> Not our Customer",
          "userunknown", "Comcast postmaster, SMTP error codes (postmaster.comcast.net)"),
    Reply("postfix-virtual-unknown",
          "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox"
          " table",
          "userunknown", PF + "src/smtpd/smtpd_check.c (check_rcpt_maps)"),
    Reply("postfix-local-unknown",
          "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in local recipient"
          " table",
          "userunknown", PF + "src/smtpd/smtpd_check.c (check_rcpt_maps)"),
    Reply("postfix-relay-denied", "554 5.7.1 <{rcpt}>: Relay access denied",
          "norelaying", PF + "src/smtpd/smtpd_check.c (reject_unauth_destination)"),
    Reply("postfix-rbl",
          "554 5.7.1 Service unavailable; Client host [192.0.2.25] blocked using"
          " zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.25",
          "blocked", PF + "src/smtpd/smtpd_check.c (reject_rbl_client, default_rbl_reply)",
          ("RCPT", "DATA")),
    Reply("postfix-no-ptr",
          "550 5.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.25]",
          "requireptr", PF + "src/smtpd/smtpd_check.c (reject_unknown_client_hostname,"
          " unknown_client_reject_code=550)", ("MAIL", "RCPT")),
    Reply("postfix-too-big", "552 5.3.4 Message size exceeds fixed limit",
          "mesgtoobig", PF + "src/smtpd/smtpd.c (message_size_limit)", ("DATA_END",)),
    Reply("postfix-content", "550 5.7.1 Message content rejected",
          "filtered", "Postfix header_checks(5), REJECT action's default text",
          ("DATA_END",)),
    Reply("amavis-spam", "554 5.7.0 Reject, id=31337-07 - spam",
          "spamdetected", "amavisd-new, README.postfix / amavisd.conf (final_spam_destiny"
          " D_REJECT)", ("DATA_END",)),
    Reply("amavis-virus", "554 5.7.0 Reject, id=31337-08 - INFECTED: Eicar-Signature",
          "virusdetected", "amavisd-new, amavisd.conf (final_virus_destiny D_REJECT)",
          ("DATA_END",)),
    Reply("rspamd-spam", "554 5.7.1 Spam message rejected",
          "spamdetected", "rspamd documentation, MTA integration (milter reject message)",
          ("DATA_END",)),
    Reply("sendmail-unknown", "550 5.1.1 <{rcpt}>... User unknown",
          "userunknown", "Sendmail source, sendmail/recipient.c (User unknown)"),
    Reply("sendmail-relaying-denied", "550 5.7.1 <{rcpt}>... Relaying denied",
          "norelaying", "Sendmail source, cf/m4/proto.m4 (Relaying denied)"),
    Reply("exim-dnsbl",
          "550 rejected because 192.0.2.25 is in a black list at zen.spamhaus.org",
          "blocked", "Exim specification, ch. 42 ACLs, dnslists: default message",
          ("RCPT",)),
    Reply("exim-prohibition", "550 Administrative prohibition",
          "policyviolation", "Exim specification, ch. 42 ACLs: deny without message",
          ("RCPT", "DATA_END")),
    Reply("opensmtpd-invalid", "550 Invalid recipient: <{rcpt}>",
          "userunknown", "OpenSMTPD source, usr.sbin/smtpd/smtp_session.c"),
    Reply("qmail-rcpthosts",
          "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
          "norelaying", "qmail source, qmail-smtpd.c (err_nogateway)"),
    Reply("rfc3463-511", "550 5.1.1 Bad destination mailbox address",
          "userunknown", "RFC 3463 section 3.2, X.1.1"),
    Reply("rfc3463-512", "550 5.1.2 Bad destination system address",
          "hostunknown", "RFC 3463 section 3.2, X.1.2"),
    Reply("rfc3463-516", "550 5.1.6 Destination mailbox has moved, No forwarding address",
          "hasmoved", "RFC 3463 section 3.2, X.1.6"),
    Reply("rfc7505-nullmx", "556 5.1.10 Recipient address has null MX",
          "notaccept", "RFC 7505 section 4.3 (and RFC 3463 X.1.10)"),
    Reply("rfc3463-521", "550 5.2.1 Mailbox disabled, not accepting messages",
          "suspend", "RFC 3463 section 3.3, X.2.1"),
    Reply("rfc3463-522", "552 5.2.2 Mailbox full",
          "mailboxfull", "RFC 3463 section 3.3, X.2.2", ("RCPT", "DATA_END")),
    Reply("rfc3463-523", "552 5.2.3 Message length exceeds administrative limit",
          "exceedlimit", "RFC 3463 section 3.3, X.2.3", ("DATA_END",)),
    Reply("rfc3463-534", "552 5.3.4 Message too big for system",
          "mesgtoobig", "RFC 3463 section 3.4, X.3.4", ("DATA_END",)),
    Reply("rfc3463-560", "554 5.6.0 Other or undefined media error",
          "contenterror", "RFC 3463 section 3.7, X.6.0", ("DATA_END",)),
    Reply("rfc3463-571-mail", "553 5.7.1 Delivery not authorized, message refused",
          "rejected", "RFC 3463 section 3.8, X.7.1 (given at MAIL: the sender is not"
          " authorized)", ("MAIL",)),
)

#: Temporary replies (4xx) a peer repeats at RCPT until the MTA's queue lifetime runs out.
#: The reason is the cause the reply states (issue 18 item 7); ``expired`` only where it
#: states none.
TEMPORARY: tuple[Reply, ...] = (
    Reply("gmail-overquota-temp",
          "452-4.2.2 The email account that you tried to reach is over quota. Please direct\n"
          "452 4.2.2 the recipient to https://support.google.com/mail/?p=OverQuotaTemp - gsmtp",
          "mailboxfull", G),
    Reply("postgrey",
          "450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see"
          " http://postgrey.schweikert.ch/help/{domain}.html",
          "blocked", "postgrey(8) manual, --greylist-text default; greylisting is"
          " 'blocked' by issue 18 item 7"),
    Reply("rfc3463-431", "452 4.3.1 Mail system full",
          "systemfull", "RFC 3463 section 3.4, X.3.1"),
    Reply("gmail-rate-temp",
          "450-4.2.1 The user you are trying to contact is receiving mail at a rate that\n"
          "450-4.2.1 prevents additional messages from being delivered. Please resend your\n"
          "450 4.2.1 message at a later time. - gsmtp",
          "speeding", G),
    Reply("gmail-server-temp",
          "451-4.3.0 Mail server temporarily rejected message. - gsmtp",
          "systemerror", G),
    Reply("ms-ip-reputation-temp",
          "451 4.7.650 The mail server [192.0.2.25] has been temporarily rate limited due to"
          " IP reputation.",
          "badreputation", MS + "error code 451 4.7.650 (IP reputation)"),
    Reply("exim-defer", "451 Temporary local problem - please try later",
          "systemerror", "Exim specification, ch. 42 ACLs: defer verb default message"),
)


@dataclass(frozen=True)
class Target:
    """One recipient of a scenario's message and its fate (see the module docstring)."""

    fate: str
    reply: Reply | None = None
    stage: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str
    targets: tuple[Target, ...]
    #: MTAs that cannot play it (say why in ``note``).
    skip: frozenset[str] = field(default_factory=frozenset)
    note: str = ""


def _by_key(key: str) -> Reply:
    for reply in (*PERMANENT, *TEMPORARY):
        if reply.key == key:
            return reply
    raise KeyError(key)


#: MTAs whose SMTP server refuses an unknown local user at RCPT itself (so no bounce of
#: theirs can say it) or that have no mailbox size limit of their own. Courier's esmtpd
#: answers "550 User <...> unknown" at RCPT (courier/module.local/local.C, rewrite of a
#: local address not found), and its local delivery treats a Maildir over quota as a
#: temporary failure (courier/module.local/deliver.C, delivery_error(): ENOSPC,
#: "Maildir over quota.", EX_TEMPFAIL), which is an expiry, not the local-full fate.
#: chasquid checks a local user at RCPT (internal/smtpsrv/conn.go, RCPT: userExists) and
#: leaves mailboxes to an external MDA; dma refuses an unknown local user when the message
#: is handed to it (dma.c, add_recp(): getpwnam, "invalid recipient") and appends to an mbox
#: without a limit; nullmailer delivers nothing locally.
_NO_LOCAL_UNKNOWN = frozenset({"opensmtpd", "sendmail", "courier", "chasquid", "dma",
                               "nullmailer"})
_NO_LOCAL_FULL = _NO_LOCAL_UNKNOWN

#: MTAs whose queue lifetime is compiled in, far beyond a farm run, so nothing expires:
#: chasquid 1.11 gives up after 20 hours (internal/queue/queue.go, giveUpAfter), dma 0.13
#: after 5 days (dma.h, MAX_TIMEOUT). nullmailer's lifetime is a setting (queuelifetime),
#: but it sends everything to one smarthost, the farm's, so a refused connection would hold
#: up every message, not one recipient.
_NO_EXPIRY = frozenset({"chasquid", "dma"})
_NO_REFUSED = _NO_EXPIRY | {"nullmailer"}

#: nullmailer looks up no MX (its smarthost does); chasquid 1.11 falls back to the domain's
#: A record on NXDOMAIN (internal/courier/smtp.go, lookupMXs(): IsNotFound) and a failed
#: dial is a temporary error, so a missing domain expires (after 20 hours) instead of
#: bouncing.
_NO_NXDOMAIN = frozenset({"chasquid", "nullmailer"})
#: OpenSMTPD 6.8, chasquid 1.11 and dma 0.13 do not implement RFC 7505: they take the null
#: MX's "." for a host name, fail to reach it and retry until the queue lifetime (dma.c /
#: dns.c, add_host(): EAI_NONAME is a deferral; chasquid dials "."); nullmailer looks up
#: no MX.
_NO_NULLMX = frozenset({"opensmtpd", "chasquid", "dma", "nullmailer"})

#: MTAs whose report of a message to several recipients the mixes cannot label: dma sends
#: one bounce per failed recipient (dma.c, go_background() gives each recipient its own
#: delivery process; mail.c, bounce()), so a mix has two; nullmailer gives up the whole
#: message at the first refused RCPT (protocols/smtp.cc, docmd(): protocol_fail) and its DSN
#: lists every recipient, the accepted one included, with that one reply (src/dsn.cc).
_NO_MIX = frozenset({"dma", "nullmailer"})

#: Replies an MTA cannot report. nullmailer 2.2 takes the first "d.d.d" of the reply for
#: the DSN's status (src/send.cc, parse_output()); in exim-dnsbl's text that is "2.0.2" of
#: the IP address 192.0.2.25, which nullmailer-dsn refuses ("Status must be in the format
#: 4.#.# or 5.#.#", src/dsn.cc), so the message goes to failed/ with no bounce at all.
_REPLY_SKIP: dict[str, frozenset[str]] = {"exim-dnsbl": frozenset({"nullmailer"})}


def scenarios() -> list[Scenario]:
    """Every scenario, in a stable order (the farm numbers their hosts by it)."""
    out: list[Scenario] = []
    for reply in PERMANENT:
        skip = _REPLY_SKIP.get(reply.key, frozenset())
        for stage in reply.stages:
            out.append(Scenario(f"{stage.lower().replace('_', '')}-{reply.key}", "reply",
                                (Target("reply", reply, stage),), skip,
                                "nullmailer-dsn refuses the status nullmailer takes from"
                                " this text" if skip else ""))
    for reply in TEMPORARY:
        out.append(Scenario(f"expire-{reply.key}", "expiry",
                            (Target("defer", reply, "RCPT"),), _NO_EXPIRY,
                            "chasquid's and dma's queue lifetimes are compiled in"))
    out.append(Scenario("expire-refused", "expiry", (Target("refused"),), _NO_REFUSED,
                        "chasquid's and dma's queue lifetimes are compiled in; nullmailer's"
                        " one smarthost is the farm's"))
    out.append(Scenario("dns-nxdomain", "dns", (Target("nxdomain"),), _NO_NXDOMAIN,
                        "chasquid defers a missing domain; nullmailer looks up no MX"))
    out.append(Scenario("dns-nullmx", "dns", (Target("nullmx"),), _NO_NULLMX,
                        "OpenSMTPD 6.8, chasquid 1.11 and dma 0.13 do not implement RFC 7505:"
                        " a null MX is a temporary failure until the queue lifetime;"
                        " nullmailer looks up no MX"))
    out.append(Scenario("local-unknown", "local", (Target("local-unknown"),),
                        _NO_LOCAL_UNKNOWN,
                        "OpenSMTPD, Sendmail, Courier and chasquid refuse an unknown local"
                        " user at RCPT, dma when it is handed the message; nullmailer has"
                        " no local delivery"))
    out.append(Scenario("local-full", "local", (Target("local-full"),), _NO_LOCAL_FULL,
                        "OpenSMTPD's mbox, Sendmail's mail.local and dma's mbox keep no size"
                        " limit; Courier defers a Maildir over quota; chasquid leaves"
                        " mailboxes to an MDA; nullmailer has no local delivery"))
    # Multi-recipient mixes: one recipient accepted beside failures of different kinds.
    mixes = [
        ("gmail-nosuchuser", "rfc3463-522"), ("ms-recipientnotfound", "yahoo-nouser"),
        ("comcast-notcustomer", "rfc3463-516"), ("gmail-disabled", "postfix-virtual-unknown"),
        ("sendmail-unknown", "ms-dbeb"), ("opensmtpd-invalid", "rfc3463-521"),
    ]
    mix_note = "dma bounces each recipient apart; nullmailer fails the whole message"
    for n, (first, second) in enumerate(mixes, 1):
        out.append(Scenario(f"mix-{n}", "mix", (
            Target("accept"), Target("reply", _by_key(first), "RCPT"),
            Target("reply", _by_key(second), "RCPT")), _NO_MIX, mix_note))
    out.append(Scenario("mix-dns", "mix", (
        Target("accept"), Target("nxdomain"), Target("reply", _by_key("rfc3463-511"),
                                                       "RCPT")),
        _NO_MIX | _NO_NXDOMAIN, mix_note + "; chasquid defers a missing domain"))
    out.append(Scenario("mix-local", "mix", (
        Target("local-unknown"), Target("reply", _by_key("ms-recipnotfound"), "RCPT")),
        _NO_LOCAL_UNKNOWN, "OpenSMTPD, Sendmail, Courier and chasquid refuse an unknown local"
        " user at RCPT, dma when it is handed the message; nullmailer has no local delivery"))
    return out

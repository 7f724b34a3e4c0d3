"""Provider data: who they are (domains, MX hosts) and what their rejections mean.

Sources: each provider's postmaster pages (Google "SMTP error reference", Microsoft
"Email non-delivery reports in Exchange Online", Yahoo "SMTP error codes", Cox "Email error
codes", Spectrum "Understanding email error codes", Orange/La Poste "codes d'erreur",
GoDaddy "bounce codes", Facebook "postmaster response codes") as reflected in real bounces.
Patterns are lowercase regexes over the diagnostic text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bounceloop.core import rx
from bounceloop.parsing.searchers import searcher


@dataclass(frozen=True, slots=True)
class Rule:
    reason: str
    pattern: str
    """Compiled on first use (:meth:`search`): a process that meets no bounce from this
    provider does not pay for compiling it (with over a hundred of them, a tenth of the
    parser's import time)."""
    status: str = ""
    """Only when the status starts with this ("5.7.", "4.7.650")."""
    reply: str = ""
    """Only with this reply code."""
    command: str = ""
    """Only when the server was answering this command (RCPT, DATA, ...)."""

    def search(self, text: str) -> bool:
        """Does the pattern occur in ``text``?"""
        found = _COMPILED.get(self.pattern)
        if found is None:
            found = _COMPILED[self.pattern] = searcher(self.pattern)
        return found(text)


_COMPILED: dict[str, Callable[[str], bool]] = {}
"""The rules' patterns made searchable so far, by source (most are literal strings, which
:func:`~bounceloop.parsing.searchers.searcher` searches without compiling)."""


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    domains: tuple[str, ...]
    hosts: tuple[str, ...]
    rules: tuple[Rule, ...] = ()
    code: re.Pattern[str] | None = None
    """Extracts the provider's own error code (group 1) from the text."""
    codes: dict[str, str] = field(default_factory=dict)
    ranges: tuple[tuple[tuple[int, int], str], ...] = ()


def _rules(*entries: tuple[str, ...]) -> tuple[Rule, ...]:
    """(reason, pattern[, status prefix[, reply[, command]]]) tuples -> Rules."""
    out = []
    for entry in entries:
        reason, pattern, status, reply, command = (*entry, "", "", "")[:5]
        out.append(Rule(reason, pattern, status, reply, command))
    return tuple(out)


PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "google",
        domains=("gmail.com", "googlemail.com", "google.com"),
        hosts=("google.com", "googlemail.com"),
        rules=_rules(
            ("authfailure", r"dmarc policy|authenticate with (?:either )?spf or dkim|"
             r"spf record with a hard fail|does not pass (?:spf|dkim|dmarc)"),
            ("badreputation", r"very low reputation|low reputation of the sending"),
            # "421 4.7.0 Our system has detected an unusual rate of unsolicited mail
            # originating from your IP address. ... has been temporarily rate limited": the
            # IP's reputation; its 550 5.7.1 form says the IP "has been blocked".
            ("badreputation", r"unusual rate of unsolicited mail", "4."),
            ("blocked", r"ip not in whitelist|unusual rate of unsolicited mail|"
             r"helo/ehlo argument is invalid"),
            # "421 4.7.0 Try again later, closing connection": "usually indicates a Denial
            # of Service (DoS) for the SMTP relay at the HELO stage".
            ("toomanyconn", r"try again later, closing connection"),
            ("mesgtoobig", r"exceeded google's message size limit|message size limit"),
            ("failedstarttls", r"must issue a starttls|tls required for rcpt domain|"
             r"use tls/ssl"),
            ("mailboxfull", r"out of storage space|is over quota|over quota"),
            ("networkerror", r"exceeded \d+ hops"),
            ("norelaying", r"mail relay denied|invalid credentials for relay"),
            ("notcompliantrfc", r"not rfc ?5322 compliant|missing a valid message-id|"
             r"multiple addresses in from"),
            ("policyviolation", r"illegal attachment|potential security issue|"
             r"policy that prohibited"),
            ("requireptr", r"does not have a ptr record|does not match the ip address"),
            ("securityerror", r"authentication required|application-specific password|"
             r"username and password not accepted"),
            ("spamdetected", r"likely unsolicited mail|nature of the content|"
             r"links within"),
            # "daily .*limit exceeded" from the first "daily " of a line (see phrases.py).
            ("speeding", r"receiving mail (?:too quickly|at a rate)|"
             r"(?<![^\n])(?>[^\n]*?daily )[^\n]*limit exceeded"),
            ("suspend", r"account that you tried to reach is (?:disabled|inactive)"),
            ("userunknown", r"email account that you tried to reach does not exist|"
             r"find the recipient domain|not a valid rfc[ -]?5321 address"),
            # 451 4.4.2 "Timeout - closing connection": the session timed out.
            ("networkerror", r"timeout - closing connection"),
            ("expired", r"connection expired"),
        ),
    ),
    Provider(
        "microsoft",
        domains=("outlook.com", "hotmail.com", "live.com", "msn.com", "outlook.jp",
                 "hotmail.co.jp", "hotmail.co.uk", "hotmail.fr", "live.jp", "windowslive.com"),
        hosts=("protection.outlook.com", "prod.outlook.com", "outlook.com", "hotmail.com",
               "onmicrosoft.com", "exchangelabs.com"),
        rules=_rules(
            ("hostunknown", r"domain is not reachable"),
            ("userunknown", r"requested action not taken: mailbox unavailable|"
             r"recipnotfound|recipientnotfound|recipient not found|"
             r"returned unknown recipient"),
            ("authfailure", r"sender policy framework|does not pass dmarc|dmarc verification|"
             r"required authentication level"),
            ("badreputation", r"rate limited due to ip reputation|ip reputation"),
            # Not "banned sender" (5.7.502: the sending account is banned, the sender's
            # fault) nor "must have a reverse DNS record" (5.7.25: requireptr), as
            # Microsoft's NDR reference explains them (catalogue microsoft-5.7.502-banned-
            # sender-account, microsoft-5.7.25-ipv6-reverse-dns).
            ("blocked", r"banned sending ip|block list|blocked using|"
             r"part of their network is on our block list"),
            ("requireptr", r"mismatches client ip"),
            ("mailboxfull", r"mailbox full|mailbox (?:is )?over quota"),
            ("expired", r"message expired(?!, dns query failed)"),
            ("networkerror", r"dns query failed|routing loop|nonexistent domain"),
            ("norelaying", r"unable to relay"),
            # 5.7.12, 5.7.133-136 "Sender (was) not authenticated for group/mailbox/...":
            # the recipient takes mail from its organization only.
            ("policyviolation", r"sender was not authenticated"),
            ("rejected", r"spam abuse detected"),
            ("toomanyconn", r"maximum number of connections"),
            # 5.2.121 / 5.2.122 "Recipient's per hour message receive limit (from specific
            # sender) exceeded" (Exchange Online NDR reference).
            ("speeding", r"message receive limit"),
        ),
    ),
    Provider(
        "yahoo",
        # By the rejecting host only: a yahoo.com address may be read through a relay that
        # words its refusals its own way.
        domains=(),
        hosts=("yahoodns.net", "yahoo.com", "mx.aol.com", "mail.aol.com"),
        rules=_rules(
            ("authfailure", r"requires all senders to authenticate"),
            ("blocked", r"spamhaus"),
            ("norelaying", r"relaying denied for"),
            ("notcompliantrfc", r"headers are not rfc compliant"),
            ("policyviolation", r"not accepted for policy reasons"),
            # Not "[TSS04] ... temporarily deferred due to unexpected volume or user
            # complaints": Yahoo's error codes page gives it for the sending IP's reputation
            # (badreputation, a phrase of its own; catalogue yahoo-421-tss04-deferred-complaints).
            # Nor "[TS03]/[TSS09] All messages from <IP> will be permanently deferred": Yahoo's
            # SLN3436 explains it by the IP's bulk volume (badreputation, a phrase of its own).
            ("rejected", r"unresolvable rfc\.?5321 domain"),
            ("speeding", r"receiving mail too quickly"),
            ("suspend", r" is no longer valid|this mailbox is disabled"),
            ("toomanyconn", r"max message per connection"),
            ("userunknown", r"user doesn't have a .{1,30} account|mailbox not found"),
            ("hostunknown", r"host or domain name not found"),
            ("notaccept", r"type=mx: malformed or unexpected name server reply"),
        ),
    ),
    Provider(
        "apple",
        domains=("icloud.com", "me.com", "mac.com"),
        hosts=("mail.icloud.com", "apple.com", "me.com", "icloud.com"),
        rules=_rules(
            ("authfailure", r"dmarc policy|failing both spf and dkim"),
            # Apple (smtp.codes/icloud, HT204137): "rejected due to having a domain present in
            # the Spamhaus DBL", a domain of the message on the domain block list: content.
            ("spamdetected", r"spamhaus dbl"),
            ("blocked", r"spamhaus|proofpoint|not accepting connections"),
            ("hasmoved", r"recipient no longer on server"),
            ("mailboxfull", r"user is over quota"),
            ("norelaying", r"relay access denied"),
            ("notaccept", r"does not accept mail"),
            ("policyviolation", r"due to local policy"),
            ("rejected", r"sender address rejected"),
            ("speeding", r"due to excessive volume"),
            ("userunknown", r"inactive email address|user does not exist|"
             r"unknown or illegal alias"),
        ),
    ),
    Provider(
        # Cox documents "AUP#" codes: https://www.cox.com/residential/support/email-error-codes
        "cox",
        domains=("cox.net",),
        hosts=("cox.net",),
        code=rx.compile(r"aup#([a-z]+)"),
        codes={
            "cxbl": "blocked", "cdrbl": "blocked", "ipbl": "blocked", "ipbl0001": "blocked",
            "ipbl0010": "blocked", "ipbl0100": "blocked", "ipbl1000": "blocked",
            "cxdns": "requireptr", "cxsndr": "authfailure", "cxsmtp": "rejected",
            "cxcnct": "toomanyconn", "cxmxrt": "toomanyconn", "cxthrt": "securityerror",
            "cxmj": "securityerror", "urlbl": "spamdetected",
        },
        rules=_rules(
            ("blocked", r"too many invalid recipients|too many bad commands"),
            ("requireptr", r"no rdns|dns check failure"),
            ("rejected", r"sender rejected"),
            ("userunknown", r"recipient rejected"),
            ("toomanyconn", r"too many sessions|message threshold exceeded"),
        ),
    ),
    Provider(
        # Charter/Spectrum "AUP#In-1310": ranges per Spectrum's error code page.
        "spectrum",
        domains=("charter.net", "spectrum.net", "rr.com"),
        hosts=("charter.net", "spectrum.net"),
        code=rx.compile(r"aup#(?:in|out)?-?(\d{4})"),
        ranges=(
            ((1000, 1000), "blocked"), ((1010, 1080), "rejected"), ((1090, 1090), "systemerror"),
            ((1100, 1150), "requireptr"), ((1160, 1190), "policyviolation"),
            ((1200, 1250), "blocked"), ((1260, 1260), "networkerror"),
            ((1300, 1340), "toomanyconn"), ((1350, 1490), "speeding"),
            ((1500, 1520), "rejected"), ((1530, 1530), "mesgtoobig"),
            ((1540, 1550), "speeding"), ((1560, 1560), "policyviolation"),
            ((1580, 1580), "speeding"),
        ),
    ),
    Provider(
        # Orange / Wanadoo / La Poste: "OFR_416", "LPN007_416", "OFR006_102" - the last three
        # digits are the error number from their documentation.
        "orange",
        domains=("orange.fr", "wanadoo.fr", "laposte.net", "orange.com"),
        hosts=("orange.fr", "wanadoo.fr", "laposte.net"),
        code=rx.compile(r"(?:ofr|lpn|ouk)(?:aaa)?[0-9]*[_-](\d{3})\b"),
        codes={
            "101": "blocked", "102": "blocked", "103": "blocked", "510": "blocked",
            "999": "blocked", "104": "toomanyconn", "305": "securityerror",
            "402": "securityerror", "401": "authfailure", "517": "authfailure",
            "403": "rejected", "405": "rejected", "415": "rejected", "421": "rejected",
            "416": "userunknown", "417": "mailboxfull", "420": "suspend", "426": "suspend",
            "505": "systemerror", "506": "spamdetected", "514": "mesgtoobig", "105": "blocked",
            "630": "policyviolation", "107": "blocked", "108": "blocked",
        },
        rules=_rules(("authfailure", r"spf/dns de votre nom de domaine"),),
    ),
    Provider(
        # NetEase (163.com, 126.com, yeah.net): "<code> <class>:<code>" replies, meanings from
        # NetEase's reply code table ("退信代码说明", as copied in
        # https://biecuoliao.com/pa/MBRrwEM.html).
        "netease",
        domains=("163.com", "126.com", "yeah.net", "netease.com"),
        hosts=("163.com", "126.com", "yeah.net", "netease.com"),
        code=rx.compile(r"\b([a-z]{2}:[a-z]{3})\b"),
        codes={
            "hl:rep": "badreputation", "hl:mep": "badreputation", "hl:icc": "toomanyconn",
            "hl:ifc": "speeding", "mi:sfq": "speeding", "mi:dmc": "exceedlimit",
            "rp:drc": "exceedlimit", "dt:rbl": "blocked", "wm:bli": "blocked",
            "dt:spm": "spamdetected",
        },
        rules=_rules(("securityerror", r"too much fail authentication"),),
    ),
    Provider(
        # GoDaddy (secureserver.net) "IB607" bounce codes.
        "godaddy",
        domains=(),
        hosts=("secureserver.net",),
        code=rx.compile(r"\b(ib\d{3})\b"),
        codes={
            "ib401": "securityerror", "ib501": "notcompliantrfc", "ib502": "notcompliantrfc",
            "ib506": "rejected", "ib508": "authfailure", "ib108": "requireptr",
            "ib212": "spamdetected", "ib705": "virusdetected", "ib605": "toomanyconn",
            "ib007": "toomanyconn", "ib101": "speeding", "ib504": "speeding",
            "ib510": "speeding", "ib607": "speeding", "ib110": "blocked", "ib111": "blocked",
            "ib112": "blocked", "ib113": "blocked", "ib104": "blocked", "ib105": "blocked",
            "ib106": "blocked", "ib103": "badreputation",
        },
        rules=_rules(
            ("blocked", r"rbl reject"),
            ("expired", r"in the queue too long|delivery timeout"),
            ("mailboxfull", r"account storage limit"),
            ("userunknown", r"recipient not found|account does not exist"),
        ),
    ),
    Provider(
        # Facebook's response codes "RCP-P1", "POL-P2" (postmaster.facebook.com/response_codes).
        "facebook",
        domains=("facebook.com",),
        hosts=("facebook.com",),
        code=rx.compile(r"\b([a-z]{3}-[pt]\d)\b"),
        codes={
            "pol-p7": "authfailure", "pol-p1": "blocked", "pol-p2": "blocked",
            "pol-p3": "blocked", "pol-p4": "blocked", "pol-t1": "blocked", "pol-t2": "blocked",
            "pol-t3": "blocked", "msg-p2": "contenterror", "rcp-p2": "filtered",
            "rcp-p3": "filtered", "msg-p1": "mesgtoobig", "int-p2": "mesgtoobig",
            "msg-p3": "notcompliantrfc", "dns-p1": "rejected", "dns-p2": "rejected",
            "dns-t1": "rejected", "dns-p3": "requireptr", "dns-t2": "requireptr",
            "pol-p6": "spamdetected", "rcp-t4": "suspend", "rcp-t1": "systemerror",
            "con-t1": "toomanyconn", "con-t2": "toomanyconn", "con-t3": "toomanyconn",
            "con-t4": "toomanyconn", "msg-t1": "toomanyconn", "rcp-p1": "userunknown",
            "int-p1": "userunknown", "int-p3": "userunknown", "int-p4": "userunknown",
            "pol-p5": "virusdetected",
        },
    ),
    Provider(
        # i.ua links each rejection to "mail.i.ua/err/N/".
        "iua",
        domains=("i.ua", "email.ua"),
        hosts=("email.ua", "i.ua"),
        code=rx.compile(r"\.i\.ua/err/(\d+)"),
        codes={
            "1": "norelaying", "2": "userunknown", "3": "suspend", "4": "mailboxfull",
            "5": "toomanyconn", "6": "norelaying", "7": "blocked", "8": "rejected",
            "9": "blocked", "10": "filtered",
        },
    ),
    Provider(
        "kddi",
        domains=("ezweb.ne.jp", "au.com"),
        hosts=("ezweb.ne.jp", "au.com"),
        rules=_rules(
            ("filtered", r"550 : user unknown"),
            ("userunknown", r">: user unknown"),
        ),
    ),
    Provider(
        "nttdocomo",
        domains=("docomo.ne.jp",),
        hosts=("docomo.ne.jp",),
        rules=_rules(
            ("userunknown", r".", "5.1.1"),
            ("filtered", r".", "5.2.0"),
            ("mailboxfull", r"too much mail data"),
            ("syntaxerror", r"bad sequence of commands|command parameter not implemented"),
            ("toomanyconn", r"too many recipients"),
            # docomo answers 550 5.0.0 "Unknown user" both for an unknown recipient (at RCPT)
            # and for a sender its recipient's reception filter refuses (after DATA).
            ("userunknown", r"unknown user", "5.0.0", "", "RCPT"),
            ("rejected", r"unknown user", "5.0.0", "", "DATA"),
        ),
    ),
    Provider(
        "messagelabs",
        domains=(),
        hosts=("messagelabs.com",),
        rules=_rules(
            ("authfailure", r"domain authentication fail"),
            ("badreputation", r"connection rejected by policy"),
            ("blocked", r"your ip is in the pbl|your ip address has been "),
            ("contenterror", r"stray linefeeds"),
            ("failedstarttls", r"tls/sslv3 connection required"),
            ("norelaying", r" as a relay, "),
            ("notcompliantrfc", r"not rfc 5322"),
            ("rejected", r"badmailfrom list|sender envelope domain not allowed|"
             r"(?:domain|email address) has been (?:blocked|blacklisted)"),
            ("securityerror", r"turn on smtp authentication"),
            ("spamdetected", r"message filtered|outbound scanning"),
            ("toomanyconn", r"too many recipients received this hour|too many messages"),
            ("userunknown", r"no such user|invalid recipient|mailbox is not allowed"),
        ),
    ),
    Provider(
        "mimecast",
        domains=(),
        hosts=("mimecast.com",),
        rules=_rules(
            ("authfailure", r"spf/dkim/dmarc sender invalid"),
            ("blocked", r"sender address blocked|ip temporarily blacklisted"),
            ("failedstarttls", r"route requires encryption"),
            ("mesgtoobig", r"maximum email size exceeded"),
            ("networkerror", r"mail loop detected"),
            ("norelaying", r"open relay not allowed"),
            ("policyviolation", r"anti-spoofing policy|host network not allowed"),
            ("rejected", r"envelope blocked|block policy for envelope from"),
            ("securityerror", r"incorrect authentication data"),
            ("toomanyconn", r"too many recipients|outbound thread limit"),
            ("userunknown", r"invalid recipient|user unknown"),
            ("virusdetected", r"rejected due to security policies"),
        ),
    ),
    Provider(
        "tencent",
        domains=("qq.com", "foxmail.com"),
        hosts=("qq.com",),
        rules=_rules(
            ("authfailure", r"spf check failed|dmarc check failed"),
            # QQ: "Sender frequency limited" / "Domain frequency limited", the sender's or its
            # domain's sending volume over QQ's limit (qiao.yimirj.com/article/detail/2261,
            # smtp.codes/qq). The IP's and the connection's stay toomanyconn as Sisimai labels
            # them, though QQ explains those as sending limits too.
            ("speeding", r"(?:domain|sender) frequency limited"),
            ("toomanyconn", r"(?:ip|domain|sender|connection) frequency limited"),
            ("blocked", r"suspected bounce attacks|suspected spam ip|connection denied"),
            ("mesgtoobig", r"message too large"),
            ("spamdetected", r"spam is embedded|mail content denied"),
            # QQ's help pages (smtp.codes/qq): "Suspected spam sender", much spam sent from the
            # sender's domain or operator; "Mail is rejected by recipients", the recipient's
            # blacklist or filter; "Mailbox unavailable or access denied", the recipient
            # receives too much mail in a short time and sending to it is held back.
            ("badreputation", r"suspected spam sender"),
            ("filtered", r"rejected by recipients"),
            ("rejected", r"suspected spam"),
            ("speeding", r"frequency of receiving messages is limited|"
             r"mailbox unavailable or access denied"),
            ("suspend", r"deactivated mailbox"),
            ("userunknown", r"mailbox not found"),
        ),
    ),
    Provider(
        "zoho",
        domains=("zoho.com", "zohomail.com"),
        hosts=("zoho.com", "zohomail.com"),
        rules=_rules(
            ("authfailure", r"rejected per dmarc policy"),
            ("blocked", r"greylisted"),
            ("rejected", r"flagged as spam|rejected by destination domain"),
            # Zoho (smtp.codes/zoho): "Mailbox delivery restricted by policy error", the
            # receiving domain's filters block the message.
            ("filtered", r"delivery restricted by policy"),
            ("policyviolation", r"policy violation detected|restricted by policy"),
            ("systemerror", r"temporary system error"),
            ("userunknown", r"user does not exist"),
        ),
    ),
)

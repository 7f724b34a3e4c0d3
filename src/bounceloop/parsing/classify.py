"""Deciding the reason of one Fact: which failure this is, in Sisimai's taxonomy.

The evidence, strongest first::

    stated     a reason the format states outright (ARF -> feedback); final unless weak
    lda        the local delivery agent's own words (rules/lda.py)
    provider   a big provider's documented codes and wording (rules/providers.py)
    probes     status meaning + SMTP command + phrases, reason by reason (PROBE_ORDER)
    table      the status code's registry meaning (rules/codes.STATUS), then phrases again
               for what the code leaves open (PHRASE_ORDER), then class fallbacks
    fallbacks  delayed -> expired; vacation wording; onhold when there is text at all
    reply      a bare reply code (rules/codes.REPLY), only for what is still undecided

Why the command matters: "user unknown" answering RCPT TO is an unknown recipient, but the
same words after DATA come from a content filter acting for the recipient (``filtered``), and
a rejection at MAIL FROM is about the sender (``rejected``). Why some reasons are "weak": a
detector that says "userunknown" from a qmail phrase can be overruled by a provider table that
knows the message better; "mailboxfull" from the same detector cannot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bounceloop.core import rx
from bounceloop.parsing import providers
from bounceloop.parsing.command import BEFORE_MAIL
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.literals import checksum
from bounceloop.parsing.mail import Mail
from bounceloop.parsing.once import Once
from bounceloop.parsing.rules.codes import REPLY, STATUS
from bounceloop.parsing.rules.gates import GATES, PHRASE_GATES
from bounceloop.parsing.rules.lda import AGENTS
from bounceloop.parsing.rules.phrases import PHRASES, Phrase
from bounceloop.parsing.searchers import searcher, span

#: Characters of each text the rules read. An SMTP reply line is at most 512 octets
#: (RFC 5321 section 4.5.3.1.5); a reply of a dozen lines and its notification fit easily, and
#: a hostile megabyte of "diagnostic" costs no more than this.
MAX_EVIDENCE = 8192

#: Reasons a detector may state that the later steps may still replace.
WEAK = frozenset(
    {"", "undefined", "onhold", "systemerror", "securityerror", "expired", "networkerror",
     "hostunknown", "userunknown"}
)
_UNDECIDED = frozenset({"", "undefined", "onhold"})

#: Commands before the recipient is named / before the message is sent.
BEFORE_RCPT = BEFORE_MAIL | {"MAIL", "AUTH", "STARTTLS"}
#: Reasons that, before MAIL FROM, can only be a refusal of the client: those that judge the
#: sender or the message, which no command has named yet, and a security refusal (Exim's
#: "SMTP error from remote mail server after initial connection: 550 Access denied"), as
#: the table reads X.7.1 there.
_CLIENT_BEFORE_MAIL = frozenset({"rejected", "policyviolation", "securityerror"})
EXCEPT_DATA = BEFORE_MAIL | {"MAIL", "RCPT"}

#: Each reason's patterns, in the order of its phrases.
_PATTERNS = {reason: tuple(p.pattern for p in phrases) for reason, phrases in PHRASES.items()}
_SOURCES = {reason: "|".join(f"(?:{p})" for p in patterns)
            for reason, patterns in _PATTERNS.items()}
#: Each reason's alternation, compiled when a text first passes its gate.
_MATCHERS: dict[str, re.Pattern[str]] = {}
#: Strings one of which every match of a reason's phrases contains (parsing/literals.py),
#: for the reasons whose phrases are those the gates were made from.
_GATES = {reason: strings for reason, (crc, strings) in GATES.items()
          if strings is not None and reason in _PATTERNS and crc == checksum(_PATTERNS[reason])}
#: Per reason whose phrases are those the gates were made from: each gate string with the
#: phrases (indices) it lets through, and the phrases without a gate (built on first use;
#: None: no phrase gates, or stale ones).
_PHRASE_PLANS: dict[str, tuple[tuple[tuple[str, tuple[int, ...]], ...], tuple[int, ...]] | None
                    ] = {}
#: Each phrase on its own, made searchable when a text first passes its gate (a literal one
#: is searched with ``str in``, not compiled: searchers.searcher).
_PHRASES: dict[tuple[str, int], Callable[[str], bool]] = {}
# A "rejected" (sender) phrase does not count in these texts: they are about the recipient or
# the client IP, which other reasons own. "Mail from <IP> refused by <list>" names the client
# (Trend Micro ERS, MAPS RBL+), not a MAIL FROM address; so does MailChannels' "[RBL] Sender
# blocked <IP>" (a blocklist lists the sending IP; docs.mailchannels.com/outbound/smtp-errors).
_NOT_SENDER = rx.compile(r"recipient address rejected|ip address |5\.1\.0 address rejected"
                         r"|mail from \[?\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b"
                         r"|sender blocked \d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")
# A "virusdetected" phrase does not count where the scanner itself failed (qpsmtpd
# plugins/virus/clamdscan: "Unable to scan for viruses"; MIMEDefang's "Problem running
# virus-scanner", catalogue mimedefang-virus-scanner-problem): that is the server's error.
# Nor where "our virus detector" reports an attachment on the site's list of forbidden
# ones (MailScanner's sender.filename.report.txt in its nl, es, hu, cz and sk reports): a
# policy, not a virus.
_NOT_VIRUS = rx.compile(r"unable to scan|problem running virus.?scanner"
                        r"|onaanvaardbare\s+bijlagen|archivos\s+no\s+aceptados"
                        r"|elfogadhatatlan\s+kiterjesztesu|nepovolenych\s+priloh")
# Nor an "authfailure" phrase where the check could not finish: a DNS error is a temporary
# error (RFC 7208 2.6.6, RFC 7489 6.6.3), not a failed authentication (Rackspace G1E,
# "Temporary DMARC DNS lookup failure"), and neither is a check the server could not run
# (Cisco AsyncOS "451 #4.7.1 Unable to perform DMARC verification", catalogue
# cisco-451-dmarc-unable-to-verify). pyspf reports RFC 7208's temperror as "SPF Temporary
# Error: DNS ..." (spf.py TempError, which policyd-spf defers with 4.7.24); OpenDKIM's "DKIM
# key retrieval failed" answered with a 4xx is DKIM_STAT_KEYFAIL, the signer's key not fetched
# from the DNS (RFC 6376 6.1.2: TEMPFAIL, key unavailable; opendkim.c dkimf_libstatus()); with
# a 5xx it is DKIM_STAT_NOKEY refused by On-KeyNotFound, a signature that cannot verify. No
# code (X.7.24 is RFC 7372's SPF validation *error*) makes the first ones a failed
# authentication.
_NOT_AUTH = rx.compile(r"temporary (?:dmarc |spf |dkim )?dns (?:lookup )?(?:failure|error)"
                       r"|unable to perform (?:dmarc|spf|dkim) verification"
                       r"|spf temporary error")
_NOT_AUTH_TEMPORARY = rx.compile(r"dkim key retrieval failed")
# A resolver's NXDOMAIN answer, in the words that report it (RFC 8020: the name does not
# exist). Lowercased text.
_NXDOMAIN = rx.compile(r"domain name not found|\bnxdomain\b|non-existent domain")


def _union(reason: str, ids: frozenset[str], gate: tuple[str, ...]) -> Callable[[str], bool]:
    """Does a text use one of the phrases ``ids`` of ``reason`` (rules/phrases.py)? Searched
    only in a text holding one of the ``gate`` strings, one of which every match of the
    phrases contains (tests/parsing/test_classify.py checks it)."""
    chosen = [p.pattern for p in PHRASES[reason] if p.id in ids]
    assert len(chosen) == len(ids), f"unknown phrase ids of {reason}: {sorted(ids)}"
    pattern = rx.compile("|".join(f"(?:{p})" for p in chosen))

    def search(text: str) -> bool:
        for literal in gate:
            if literal in text:
                return pattern.search(text) is not None
        return False

    return search


#: Phrases in which the server says the *sender* was refused, whatever the command and the
#: status: Postfix prefixes every sender restriction "Sender address rejected:" (even when it
#: answers RCPT TO, with the 5.1.0 of an unverified sender or the 5.7.27 of its null MX),
#: Exim's sender verification ends "Sender verify failed", and a server that refuses a
#: sender address its client may not use says so ("You are not allowed to send from this
#: address", Stalwart, under RFC 3463's X.5.4 for the MAIL FROM argument), as does
#: iRedAPD's sender policy, which answers RCPT TO with Postfix's "Recipient address
#: rejected:" before its own words about the sender (a login that may not use it, a forged
#: sender of a hosted domain, the null sender).
SENDER_STATED = ("rejected", frozenset({
    "sender-address-rejected", "sender-verify-failed", "sender-address-blocked-using",
    "multi-recipient-bounce", "not-allowed-to-send-from-this-address",
    "sender-login-mismatch", "forged-sender-domain", "null-sender-refused"}),
    ("sender", "multi-recipient", "address", "smtp auth"))
_SENDER_STATED = _union(*SENDER_STATED)
#: Unknown-recipient phrases whose documentation says the address was refused at RCPT TO by
#: address validation: RFC 5321's 550 text, Exchange Online's directory checks (RecipNotFound,
#: Directory-Based Edge Blocking's "Recipient address rejected: Access denied", 5.7.505 banned
#: recipient), OpenSMTPD's "Invalid recipient: <address>", Exim's router verdict "Unrouteable
#: address" (route.c: no router accepts the address), Postfix's answer to DATA when every
#: RCPT TO was refused, Mail.ru's MX, which refuses an unknown mailbox only at the end of
#: DATA and names it ("invalid mailbox. Local mailbox <address> is unavailable: user not
#: found"), and RFC 3463's own title of X.1.1, "Bad destination mailbox address". Read with
#: no command known, or after DATA, they are not a content filter's refusal (other "user
#: unknown" wording there may be: a filter acting for the recipient, as Sisimai reads it; the
#: Sisimai corpus has Yahoo's "This user doesn't have a ... account" so, which is why that
#: phrase is not here).
RECIPIENT_STATED = ("userunknown", frozenset({
    "requested-action-not-taken-mailbox-unavailable", "recipnotfound", "no-valid-recipients",
    "banned-recipient", "recipient-address-rejected-access-denied", "invalid-recipient-angle",
    "unrouteable-address", "mailru-local-mailbox-unavailable",
    "bad-destination-mailbox-address"}),
    ("mailbox unavailable", "notfound", "no valid recipients", "banned recipient",
     "recipient address rejected", "invalid recipient", "unrouteable address",
     "is unavailable: user", "bad destination mailbox address"))
_RECIPIENT_STATED = _union(*RECIPIENT_STATED)
#: Postfix's restrictions on the client and the sender name whose host was not found
#: (smtpd_check.c: "Helo command rejected: Host not found", reject_unknown_sender_domain's
#: "Sender address rejected: Domain not found"): not the recipient's domain.
_CLIENT_HOST = ("helo command rejected", "client host rejected")
_NOT_RECIPIENT_HOST = (*_CLIENT_HOST, "sender address rejected")


class Signals:
    """The evidence about one fact, normalised for the rules. A plain class for the compiled
    parser (see mail.Mail): one is made for every decision."""

    __slots__ = ("_unfinished", "action", "command", "context", "dtype", "name",
                 "recipient_domain", "remote_mta", "reply", "reporting_mta", "said", "smtp",
                 "stated", "status", "text")

    def __init__(self, text: str, status: str, name: str, reply: str, command: str,
                 smtp: bool, dtype: str, action: str, stated: str, recipient_domain: str,
                 remote_mta: str, reporting_mta: str, context: bool = False) -> None:
        self.text = text
        """Lowercased diagnosis (and context)."""
        self.status = status
        self.name = name
        """The reason the status code implies ("" if none)."""
        self.reply = reply
        self.command = command
        self.smtp = smtp
        """The diagnostic is an SMTP reply (not X-Unix, X-Notes, ...)."""
        self.dtype = dtype
        self.action = action
        self.stated = stated
        self.recipient_domain = recipient_domain
        self.remote_mta = remote_mta
        self.reporting_mta = reporting_mta
        self.context = context
        """The text holds the notification text too, not only the server's reply."""
        self.said: dict[str, bool] = {}
        """Memo of :func:`says` on ``text`` (probes ask the same question several times)."""
        self._unfinished: bool | None = None

    def says(self, reason: str) -> bool:
        known = self.said.get(reason)
        if known is None:
            known = self.said[reason] = says(reason, self.text) and not (
                reason == "authfailure" and self.unfinished_check())
        return known

    def unfinished_check(self) -> bool:
        """An authentication check the server could not finish (``_NOT_AUTH``), searched
        once: the authfailure and blocked probes and the table each ask."""
        if self._unfinished is None:
            self._unfinished = _NOT_AUTH.search(self.text) is not None or (
                (self.status or self.reply)[:1] == "4"
                and _NOT_AUTH_TEMPORARY.search(self.text) is not None)
        return self._unfinished

    def sender_stated(self) -> bool:
        """The server's words say the sender was refused (``SENDER_STATED``): a provider's
        table reads no blocked client into them (Postfix's "Sender address [x] blocked using
        <list>", relayed by Microsoft 365, whose own "blocked using" names the client)."""
        return _SENDER_STATED(self.text)

    def phrase(self, reason: str) -> str:
        """"phrase:<reason>" when the text uses a phrase of ``reason``, else ""."""
        return f"phrase:{reason}" if self.says(reason) else ""


def says(reason: str, text: str) -> bool:
    """Does the text use one of the phrases of ``reason``?"""
    if not text:
        return False
    gate = _GATES.get(reason)
    if gate is not None:
        for literal in gate:
            if literal in text:
                break
        else:
            return False  # no phrase of the reason can match without one of them
    if reason == "rejected" and _NOT_SENDER.search(text):
        return False
    if reason == "virusdetected" and _NOT_VIRUS.search(text):
        return False
    if reason == "authfailure" and _NOT_AUTH.search(text):
        return False
    plan = _PHRASE_PLANS[reason] if reason in _PHRASE_PLANS else _phrase_plan(reason)
    if plan is not None:
        # Only the phrases one of whose gate strings is in the text can match: they are
        # searched one by one (each usually starts with a literal, which ``re`` scans for
        # quickly), not as the reason's whole alternation, which tries every phrase at every
        # position. Some phrase matches somewhere exactly when the alternation does.
        gated, ungated = plan
        candidates = [phrases for literal, phrases in gated if literal in text]
        if not candidates and not ungated:
            return False
        for index in sorted(set(ungated).union(*candidates)):
            phrase = _PHRASES.get((reason, index))
            if phrase is None:
                phrase = _PHRASES[reason, index] = searcher(_PATTERNS[reason][index])
            if phrase(text):
                return True
        return False
    matcher = _MATCHERS.get(reason)
    if matcher is None:
        matcher = _MATCHERS[reason] = re.compile(_SOURCES[reason])
    return matcher.search(text) is not None


def _phrase_plan(
    reason: str,
) -> tuple[tuple[tuple[str, tuple[int, ...]], ...], tuple[int, ...]] | None:
    """The phrase gates of ``reason`` by gate string; None when they are stale (its phrases
    changed since rules/gates.py was generated) or unknown; kept in _PHRASE_PLANS."""
    _PHRASE_PLANS[reason] = None
    if reason not in _PATTERNS or reason not in PHRASE_GATES:
        return None
    crc, _ = GATES.get(reason, (None, None))
    patterns = _PATTERNS[reason]
    if crc != checksum(patterns) or len(PHRASE_GATES[reason]) != len(patterns):
        return None
    by_string: dict[str, list[int]] = {}
    ungated: list[int] = []
    for index, strings in enumerate(PHRASE_GATES[reason]):
        if strings is None:
            ungated.append(index)
        for string in strings or ():
            by_string.setdefault(string, []).append(index)
    plan = (tuple((k, tuple(v)) for k, v in by_string.items()), tuple(ungated))
    _PHRASE_PLANS[reason] = plan
    return plan


def signals(fact: Fact, names: tuple[str, str, str], context: bool = False) -> Signals:
    """The evidence of a fact: its diagnosis, and with ``context`` the notification text too.

    ``names`` are the recipient's domain, the remote and the reporting MTA's host names, as
    :meth:`Classifier.decision` resolves them.
    """
    parts = (fact.context, fact.diagnosis) if context else (fact.diagnosis,)
    text = " ".join(t[:MAX_EVIDENCE] for t in parts if t).lower()
    command = fact.command.upper()
    if "rcpt first" in text:
        command = "RCPT"
    dtype = fact.diagnostic_type.upper()
    domain, remote, reporting = names
    return Signals(
        text=text,
        status=fact.status,
        name=STATUS.get(fact.status, ""),
        reply=fact.reply_code,
        command=command,
        # "unknown" is what Courier writes when it has no type to give: no type at all.
        smtp=dtype in ("", "SMTP", "X-POSTFIX", "ESMTP", "LMTP", "UNKNOWN"),
        dtype=dtype,
        action=fact.action,
        stated=fact.reason,
        recipient_domain=domain,
        remote_mta=remote,
        reporting_mta=reporting,
        context=context and bool(fact.context),
    )


#: The host a reply names as its own at its end, as Yahoo's and AOL's servers sign theirs
#: ("554 delivery error: dd This user doesn't have a yahoo.com account (...) [0] -
#: mta1001.mail.bf1.yahoo.com"): the remote MTA, where the report gives no Remote-MTA field.
#: The comment of a Status field may follow (dsn.fields appends it: "Status: 5.0.0 (...)").
_SIGNED = rx.compile(r"\s-\s([a-z0-9-]+(?:\.[a-z0-9-]+){2,})\.?\s*(?:\([^()]*\)\s*)?$", re.I)


def replying_host(diagnosis: str) -> str:
    """The host name a reply signs itself with at its end, lowercased; "" if none."""
    signed = _SIGNED.search(diagnosis[-256:])
    return signed.group(1).lower() if signed else ""


def recipient_domain(recipient: str) -> str:
    """The domain of a recipient address, lowercased, as the provider tables know it."""
    return recipient.rpartition("@")[2].lower().strip(">. ")


def decide(fact: Fact, mail: Mail | None = None) -> str:
    """The reason for one fact.

    The server's reply is read first; the notification text around it (``fact.context``) is
    weaker evidence - its boilerplate ("Address not found", "could not be delivered") reads
    like a reason without being one - and is consulted only when the reply decides nothing.
    A local delivery agent speaks in the notification text, so that step reads both.
    """
    return Classifier().decide(fact)


@dataclass(frozen=True, slots=True)
class Decision:
    """A reason and the rule that decided it.

    ``rule`` is a stable id (docs/parsing.md, "Why a record has its reason")::

        phrase:<reason>/<id>          a reason phrase (rules/phrases.py)
        lda:<agent>/<reason>          a local delivery agent's words (rules/lda.py)
        provider:<name>/code:<code>   a provider's own error code (rules/providers.py);
        provider:<name>/range:<a>-<b>   a range of them; provider:<name>/<reason>.<n>: its
                                        n-th rule for that reason
        status:<x.y.z>                the status code's registry meaning (rules/codes.py)
        status-class:<x.y>            its subject (RFC 3463: X.6 content, X.7 security; X.4
                                        network, in a reply to MAIL, RCPT or DATA)
        reply:<nnn>                   the reply code (rules/codes.REPLY; 525: RFC 4954)
        detector:<name>/<reason>      the reason the format states (an ARF report is
                                        feedback), or a hint of the reporting MTA's
        action:delayed, diagnostic-type:<type>, command:<cmd>   the report's own fields
        default:onhold, default:undefined    nothing decided

    ``matched`` is the text that rule matched: the span of the diagnostic for a phrase, an
    agent's or a provider's rule; the code or field value for status, reply, action,
    diagnostic-type and command; "" for a stated reason and the defaults.
    """

    reason: str
    rule: str
    matched: str = ""


class Classifier:
    """:func:`decide` for the facts of one message, each distinct case decided once.

    A report can list many recipients with one diagnostic and one notification as context:
    deciding costs up to MAX_EVIDENCE characters of text per fact, which times a hundred
    thousand recipients is minutes. Facts that differ only in what the decision does not
    read (the recipient, beyond the provider its domain chooses) share one decision, and
    the names the provider tables are chosen by are lowercased once per distinct name (a
    long one shared by every fact, lowercased per fact, would be quadratic).
    """

    __slots__ = ("_decided", "_detector", "_domain", "_lower")

    def __init__(self, detector: str = "") -> None:
        self._detector = detector or "stated"
        self._domain = Once(recipient_domain)
        self._lower = Once(str.lower)
        self._decided: dict[tuple[str | None, ...], Decision] = {}

    def decide(self, fact: Fact) -> str:
        return self.decision(fact).reason

    def decision(self, fact: Fact, trace: list[str] | None = None) -> Decision:
        """The reason of ``fact`` and the rule that decided it; with ``trace``, the steps
        tried are appended to it (``bounceloop explain``)."""
        remote = self._lower(fact.remote_mta)
        if not remote or providers.choose("", remote, "") is None:
            # The host the reply signs itself with names the provider where the report names
            # no remote host, or one no table knows (a relay that passed the reply on).
            remote = replying_host(fact.diagnosis) or remote
        names = (self._domain(fact.recipient), remote, self._lower(fact.reporting_mta))
        provider = providers.choose(*names)
        key = (fact.diagnosis, fact.context, fact.command, fact.diagnostic_type, fact.status,
               fact.reply_code, fact.action, fact.reason, fact.hint,
               provider.name if provider is not None else None)
        decided = self._decided.get(key) if trace is None else None
        if decided is None:
            decided = self._decided[key] = _decide(fact, names, self._detector, trace)
        return decided


def _decide(fact: Fact, names: tuple[str, str, str], detector: str,
            trace: list[str] | None = None) -> Decision:
    s = signals(fact, names)
    if s.stated and s.stated not in WEAK:
        if trace is not None:
            trace.append(f"stated by the detector: {s.stated} (final)")
        return Decision(s.stated, f"detector:{detector}/{s.stated}")
    if trace is not None and s.stated:
        trace.append(f"stated by the detector: {s.stated} (weak: the evidence may replace it)")
    full = signals(fact, names, context=True) if fact.context else s
    reason, token = agent_rule(full)
    where = full
    if trace is not None:
        trace.append(f"lda: {reason or '-'}")
    if reason in _UNDECIDED:
        reason, token = _conclusive(s, trace)
        where = s
    if reason in _UNDECIDED and full is not s:
        reason, token = _conclusive(full, trace, "reply and notification")
        where = full
    if reason in _UNDECIDED and fact.hint:
        reason, token = fact.hint, f"detector:{detector}/{fact.hint}"
        if trace is not None:
            trace.append(f"hint: {fact.hint}")
    if reason in _UNDECIDED:
        # onhold: there is a diagnostic, but it does not say enough. The notification text
        # alone is not a diagnostic.
        if s.text.strip():
            reason, token = "onhold", "default:onhold"
        elif s.stated:
            reason, token = s.stated, f"detector:{detector}/{s.stated}"
        else:
            reason, token = "undefined", "default:undefined"
    if reason in _UNDECIDED and s.reply in REPLY:
        reason, token = REPLY[s.reply][1], f"reply:{s.reply}"
    if trace is not None and token.startswith(("default:", "reply:", "detector:")):
        trace.append(f"fallback: {reason} ({token})")
    if token == "stated":
        token = f"detector:{detector}/{reason}"
    if reason in _CLIENT_BEFORE_MAIL and s.command in BEFORE_MAIL:
        # Refused at the greeting or at HELO/EHLO, before MAIL FROM named any sender
        # (RFC 5321 3.3): whatever the words, a sender or a policy on the message cannot
        # have been judged; only the client was (Proofpoint's and Mimecast's connection-
        # time "Local Policy Violation", "Sender address blocked").
        if trace is not None:
            trace.append(f"before MAIL FROM: {reason} is of the client, blocked")
        reason, token = "blocked", f"command:{s.command.lower()}"
    rule, matched = resolve(token, where)
    return Decision(reason, rule, matched)



def resolve(token: str, s: Signals) -> tuple[str, str]:
    """(rule, matched) for what a step said decided: a phrase token ("phrase:<reason>",
    as the probes give it) becomes the phrase that matches, the others name their value."""
    kind, _, value = token.partition(":")
    if kind == "phrase":
        found = which(value, s.text)
        if found is not None:
            return f"phrase:{value}/{found[0].id}", found[1]
        return token, ""
    if kind in ("status", "reply", "action", "command", "diagnostic-type"):
        return token, value
    if kind in ("lda", "provider"):
        rule, _, matched = token.partition("\n")
        return rule, matched
    return token, ""


def which(reason: str, text: str) -> tuple[Phrase, str] | None:
    """The phrase of ``reason`` the reason's alternation matches in ``text`` (the leftmost
    match; the earlier phrase at the same place) and the text it matched."""
    plan = _PHRASE_PLANS[reason] if reason in _PHRASE_PLANS else _phrase_plan(reason)
    phrases = PHRASES.get(reason, ())
    if plan is not None:
        gated, ungated = plan
        indexes = sorted(set(ungated).union(*(i for literal, i in gated if literal in text)))
    else:
        indexes = list(range(len(phrases)))
    best: tuple[Phrase, tuple[int, int]] | None = None
    for index in indexes:
        where = span(phrases[index].pattern, text)
        if where is not None and (best is None or where[0] < best[1][0]):
            best = (phrases[index], where)
    if best is None:
        return None
    return best[0], text[best[1][0]:best[1][1]]


def _conclusive(s: Signals, trace: list[str] | None = None,
                read: str = "reply") -> tuple[str, str]:
    found, token = providers.find(s)
    if trace is not None:
        trace.append(f"provider ({read}): {found or '-'}")
    if found and found not in _UNDECIDED:
        return found, token
    found, token = generic(s, trace)
    if trace is not None:
        trace.append(f"generic ({read}): {found or '-'}")
    if found and found not in _UNDECIDED:
        return found, token
    return "", ""


def local_agent(s: Signals) -> str:
    """A reason from a local delivery agent's message (rules/lda.py)."""
    return agent_rule(s)[0]


def agent_rule(s: Signals) -> tuple[str, str]:
    """:func:`local_agent`'s reason and its rule token ("lda:<agent>/<reason>", a newline,
    the text its phrase matched)."""
    if not s.text or s.command not in ("", "DATA"):
        return "", ""
    text = s.text
    for index, (agent, marks, table) in enumerate(_AGENTS):
        for mark in marks:
            if mark(text):
                break
        else:
            continue
        raw_marks, raw_table = AGENTS[index][1], AGENTS[index][2]
        for reason, found in table:
            if found(text):
                return reason, _spanned(f"lda:{agent}/{reason}", "|".join(raw_table[reason]),
                                        text)
        return "mailererror", _spanned(f"lda:{agent}/mailererror", "|".join(raw_marks), text)
    return "", ""


def _spanned(rule: str, pattern: str, text: str) -> str:
    """A rule token with the text ``pattern`` matches in ``text``."""
    where = span(pattern, text)
    return f"{rule}\n{text[where[0]:where[1]]}" if where is not None else rule


# Most marks and phrases of the agents are literal strings: searchers.searcher looks for
# those with ``str in`` and compiles only the others.
_AGENTS = tuple(
    (
        agent,
        tuple(searcher(m) for m in marks),
        tuple((reason, searcher("|".join(pats))) for reason, pats in table.items()),
    )
    for agent, marks, table in AGENTS
)


def generic(s: Signals, trace: list[str] | None = None) -> tuple[str, str]:
    """The reason from the status, the command and the phrases, and its rule token."""
    if s.status.startswith("2."):
        return "delivered", f"status:{s.status}"
    if s.smtp:
        for reason in PROBE_ORDER:
            token = probe(reason, s)
            if token:
                if trace is not None:
                    trace.append(f"probe {reason}: {token}")
                return reason, token
    reason, token = _by_table(s)
    if trace is not None:
        trace.append(f"table: {reason or '-'} {token}".rstrip())
    if reason == "undefined":
        reason = ""
    if not reason and s.action == "delayed":
        return "expired", "action:delayed"
    if reason:
        return reason, token
    if s.says("vacation"):
        return "vacation", "phrase:vacation"
    return "", ""


#: Sendmail's reply about an address: the address, "... ", the text (sendmail/err.c
#: fmtmsg() writes the "<addr>... " prefix, SM_ADDR_DELIM; sendmail 8.18, commit c7e7de4).
_SENDER_DENIED = re.compile(r"\S\.\.\. access denied\b").search


def _by_table(s: Signals) -> tuple[str, str]:
    """The status code's meaning, then phrases for what it leaves open, then fallbacks."""
    if s.stated and s.stated not in _UNDECIDED:
        return s.stated, "stated"
    name = s.name
    if name in ("authfailure", "blocked") and s.unfinished_check():
        # RFC 7372's X.7.24 for an SPF temperror, the X.7.1 of Cisco's DMARC check that did
        # not run: the words say which error, and a DNS error named (RFC 7208 2.6.6:
        # "generally DNS") beats "SPF Temporary Error" itself.
        if s.says("networkerror"):
            return "networkerror", "phrase:networkerror"
        name = ""
    if name in WEAK or not s.smtp:
        for reason in PHRASE_ORDER:
            if s.says(reason):
                if reason == "securityerror" and s.command == "MAIL" and _SENDER_DENIED(s.text):
                    # Sendmail's access map REJECT of the sender MAIL FROM named (RFC 5321
                    # 3.3; cf/m4/proto.m4 check_mail, "550 5.7.1 Access denied", written
                    # after the address as "<addr>... Access denied"): not the
                    # authentication the same words refuse on a submission port (Dovecot's
                    # "554 5.7.1 Access denied (anonymous user)").
                    return "rejected", "command:mail"
                return reason, f"phrase:{reason}"
        if s.status == "5.7.1" and s.command in BEFORE_MAIL:
            # X.7.1 "delivery not authorized" before any sender was named: the client.
            return "blocked", f"command:{s.command.lower()}"
        if s.command == "DATA" and (s.status or s.reply)[:1] == "5" and name in (
                "", "securityerror"):
            # A refusal of the message itself that names nothing else (RFC 3463 X.7.x or no
            # code, after DATA: Cyrus's "Message refused" of a Sieve script, a milter's
            # "Command rejected", RFC 3463 X.7.1 at the end of data): a filter's, and the
            # spam filter's when its words say spam in any form ("looks like SPAM",
            # "antispam checks", "Spamming not allowed").
            return ("spamdetected" if "spam" in s.text else "filtered"), "command:data"
        if s.status == "5.7.1" and s.command == "MAIL":
            # A policy refusal of MAIL FROM that says no more is about the sender: RFC 3463
            # X.7.1 "delivery not authorized, message refused: the sender is not authorized
            # to send to the destination", answered before any recipient was named.
            return "rejected", "command:mail"
        if name:
            return name, f"status:{s.status}"
        if s.status[:3] in ("5.6", "4.6"):
            return "contenterror", f"status-class:{s.status[:3]}"
        if s.status[:3] in ("5.7", "4.7"):
            return "securityerror", f"status-class:{s.status[:3]}"
        if s.status[:3] in ("5.4", "4.4") and s.command in ("MAIL", "RCPT", "DATA"):
            # RFC 3463 X.4.X, "network and routing status", in the reply to a command: a
            # lookup the server could not make, even answering MAIL FROM (mox's "451 4.4.0
            # cannot verify mx records for mailfrom domain"), is not a judgement of the
            # sender. A report's own X.4.0 with no reply is the reporting MTA's: no answer.
            return "networkerror", f"status-class:{s.status[:3]}"
        if s.dtype.startswith("X-UNIX"):
            # RFC 3464 "x-unix" diagnostics come from a local program (pipe, LDA).
            return "mailererror", f"diagnostic-type:{s.dtype.lower()}"
        if s.action == "delayed":
            return "expired", "action:delayed"
        if s.command in ("EHLO", "HELO") and s.reply in ("500", "501"):
            # RFC 5321 4.2.2 and 4.3.2: 500/501 to HELO/EHLO is a syntax error in the
            # command or its domain argument (IceWarp's "501 5.5.1 HELO/EHLO requires
            # domain address"): the client's configuration, not a refusal of the client.
            return "syntaxerror", f"reply:{s.reply}"
        if s.command in ("EHLO", "HELO") or (
                s.command == "CONN" and REPLY.get(s.reply, ("", ""))[1] != "notaccept"):
            # The server refused to talk to this client at all (a refused greeting, RFC 5321
            # section 3.1; Postfix "refused to talk to me") or at its HELO; RFC 7504's 521
            # greeting says instead that the host takes no mail at all.
            return "blocked", f"command:{s.command.lower()}"
        if s.command == "MAIL":
            # RFC 5321 3.3: MAIL FROM names the reverse-path; refused with nothing more said,
            # the refusal is of the sender (Courier submit.C's BOFHCHECKDNS 517 replies).
            return "rejected", "command:mail"
    return name, f"status:{s.status}" if name else ""


# ---------------------------------------------------------------------------------------------
# Probes: one per reason, in PROBE_ORDER. Each combines the status meaning, the command and the
# phrases; the first that holds decides.


def _status(s: Signals, reason: str) -> str:
    """The status token when the status code means ``reason``, else ""."""
    return f"status:{s.status}" if s.name == reason else ""


def _mailboxfull(s: Signals) -> str:
    if s.name == "systemfull":
        # X.3.1 / X.4.5 (RFC 3463): the system's storage, not the mailbox's; "insufficient
        # disk space" under it is the server's disk (Sendmail srvrsmtp.c enoughdiskspace()).
        return ""
    if s.name == "mailboxfull" and "greylist" in s.text:
        # Greylisting (RFC 6647) defers the client's (IP, sender, recipient) triple, whatever
        # status comes with it (Stalwart rcpt.rs: "452 4.2.2 Greylisted"): blocked.
        return ""
    # Exchange's 5.2.2 "Submission quota exceeded" is the sender's sending limit, not the
    # recipient's mailbox (Exchange Online NDR 5.2.2): a rate phrase beats the code. Zimbra's
    # LMTP server answers a client without TLS "451 4.2.2 Server accepts messages only on
    # TLS connection" (LmtpReply.java TLS_REQUIRED): a TLS phrase beats the code too.
    found = _status(s, "mailboxfull") or s.phrase("mailboxfull")
    return "" if found and (s.says("speeding") or s.says("failedstarttls")) else found


def _mesgtoobig(s: Signals) -> str:
    if s.name == "mesgtoobig":
        # A line over RFC 5322's limit is a malformed message, not a large one (Stalwart
        # answers it 5.3.4).
        return "" if s.says("notcompliantrfc") else _status(s, "mesgtoobig")
    return "" if s.name == "exceedlimit" else s.phrase("mesgtoobig")


def _exceedlimit(s: Signals) -> str:
    # X.5.3 is "too many recipients" for one message; the same code comes with a rate limit
    # (OpenSMTPD "Too many messages sent") and with Postfix's refusal of a null sender's
    # multi-recipient bounce (5.5.3): their words say which. After DATA, Stalwart's Sieve,
    # milter and MTA hooks refuse with "503 5.5.3 Message rejected." (inbound/mod.rs): the
    # recipient side's filter, whose words the filtered probe reads.
    found = _status(s, "exceedlimit") or s.phrase("exceedlimit")
    if found and s.command == "DATA" and found.startswith("status:") and s.says("filtered"):
        return ""
    if found.startswith("status:") and s.says("notcompliantrfc"):
        # A line over RFC 5322's 998 characters is the message's form, whatever limit code
        # comes with it (Go-Guerrilla's "550 5.2.3 Error: maximum line length exceeded").
        return ""
    return "" if found and (s.says("speeding") or _SENDER_STATED(s.text)) else found


def _suspend(s: Signals) -> str:
    # RFC 4954 has 525 "user account disabled"; 5.7.13 comes through the status table.
    return "reply:525" if s.reply == "525" else s.phrase("suspend")


def _hasmoved(s: Signals) -> str:
    return "" if s.command in BEFORE_RCPT else s.phrase("hasmoved")


def _norelaying(s: Signals) -> str:
    if s.stated in ("securityerror", "systemerror", "undefined"):
        return ""
    if s.command in BEFORE_MAIL:
        return ""
    # Sendmail's "Relaying denied. IP name possibly forged / lookup failed": the relay was
    # refused for want of the client's name (proto.m4), a PTR problem.
    if not s.says("norelaying") or s.says("requireptr"):
        return ""
    return "phrase:norelaying"


def _authfailure(s: Signals) -> str:
    if s.unfinished_check():
        return ""  # whatever its code (above)
    return _status(s, "authfailure") or s.phrase("authfailure")


def _syntaxerror(s: Signals) -> str:
    # RFC 5321 4.2.2 (500/501: a syntax error in the command or its arguments): the words
    # decide, not the code. A line too long or a bare LF in the message is its content
    # (notcompliantrfc, contenterror), not the command's.
    # The server's reply, not the notification around it, says what was wrong with a command.
    if s.context or not s.says("syntaxerror") or s.says("notcompliantrfc") \
            or s.says("contenterror"):
        return ""
    sender = s.name == "rejected" and s.status[2:4] == "1."
    if s.command in ("RCPT", "") and not sender and (
            s.status[2:4] == "1." or "recipient address syntax" in s.text):
        # A refusal of the recipient's own address, by an X.1.x status (RFC 3463 3.2,
        # addressing) or in words ("5.1.3 bad destination mailbox address syntax", Yandex's
        # "bad recipient address syntax"), names an address that can never receive: the
        # recipient's fault, as the status table reads X.1.3 (userunknown). With no command
        # named (OpenSMTPD and nullmailer name none) the status still says which address.
        return ""
    if s.command in ("MAIL", "") and sender:
        # Likewise X.1.7 / X.1.8 on the sender's address ("501 5.1.7 Bad sender address
        # syntax", Postfix smtpd; OpenSMTPD): the sender's fault (rejected).
        return ""
    return s.phrase("syntaxerror")


def _userunknown(s: Signals) -> str:
    if s.name == "suspend":
        return ""
    if s.name == "userunknown":
        # "5.1.1" with a text that is really about relaying, the client IP, a full mailbox,
        # a moved mailbox, the sender or a domain that takes no mail: let that reason win.
        others = ("norelaying", "blocked", "mailboxfull", "hasmoved", "rejected", "notaccept")
        return "" if any(s.says(r) for r in others) else _status(s, "userunknown")
    if _SENDER_STATED(s.text):
        return ""  # Exim's "Unrouteable address" of a sender it failed to verify
    if s.command == "RCPT":
        # Words about the client ("excessive unknown recipients - possible open relay",
        # Yahoo) are not about this recipient. Where the words fit a malformed address too,
        # a syntax status decides (Postfix's "504 5.5.2 <x>: Recipient address rejected: need
        # fully-qualified address", RFC 3463 X.5.2); without one, Yandex counts the same
        # words as no such user.
        if not s.says("userunknown") or s.says("blocked") or s.name == "syntaxerror":
            return ""
        return "phrase:userunknown"
    if s.command in BEFORE_RCPT or not s.says("userunknown"):
        return ""
    # No command known (or DATA): an addressing status (RFC 3463 X.1.x) or words that are
    # about the recipient address say the address, not a filter, was refused.
    if (not s.command and s.status[1:3] == ".1") or _RECIPIENT_STATED(s.text):
        return "phrase:userunknown"
    return ""


def _filtered(s: Signals) -> str:
    if s.name == "suspend":
        return ""
    if s.name == "filtered":
        return s.phrase("userunknown") or s.phrase("filtered")
    if s.command in EXCEPT_DATA:
        # A recipient-side filter's own words in the server's reply ("recipient doesn't want
        # your mail") hold at any command; "user unknown" before DATA is address validation,
        # and a bare "message refused" there is RFC 3463's X.7.1 title, not a filter's words.
        if s.context or not s.says("filtered"):
            return ""
        matched = which("filtered", s.text)
        return "" if matched is None or matched[0].id == "message-refused" else "phrase:filtered"
    # "User unknown" answered after DATA (or with no command known) comes from a filter
    # acting for the recipient, not from address validation. A content refusal that names
    # spam is the spam filter's (amavis "Message content rejected, UBE").
    found = s.phrase("filtered")
    if found and s.says("spamdetected"):
        return ""
    if _SENDER_STATED(s.text):
        # Exim's "Verification failed for <sender> / No Such User Here / Sender verify
        # failed": the unknown user is the sender, refused as the rejected probe reads it.
        return found
    if s.name == "syntaxerror" and s.status[2:4] == "5.":
        # X.5.x, a syntax error in the command (RFC 3463 3.6): Postfix's "504 5.5.2 <x>:
        # Recipient address rejected: need fully-qualified address" is one whatever
        # command it answered, not a filter's refusal.
        return found
    return found or s.phrase("userunknown")


def _requireptr(s: Signals) -> str:
    return _status(s, "requireptr") or s.phrase("requireptr")


def _notcompliantrfc(s: Signals) -> str:
    return s.phrase("notcompliantrfc")


def _badreputation(s: Signals) -> str:
    found = s.phrase("badreputation")
    if found and "blocked using" in s.text:
        # A DNS blocklist named for reputation ("blocked using Barracuda Reputation", Postfix's
        # reject_rbl_client reply) is a listing of the client: blocked.
        return ""
    return found


def _contenterror(s: Signals) -> str:
    if _spamdetected(s):
        return ""
    return _status(s, "contenterror") or s.phrase("contenterror")


def _failedstarttls(s: Signals) -> str:
    # Before the sender and recipient probes: "TLS required" answering MAIL FROM or RCPT TO
    # is about the session (RFC 3207, RFC 8461 MTA-STS), not the address.
    # Google's "SMTP protocol violation, no commands allowed to pipeline after STARTTLS" is
    # the client's protocol error (syntaxerror), not a TLS failure.
    return "" if s.says("syntaxerror") else s.phrase("failedstarttls")


def _rejected(s: Signals) -> str:
    if s.name == "rejected":
        # Unless the words are about the client: Yahoo's "VS1-IP Excessive unknown recipients
        # - possible Open Relay (#4.1.8)" blocks the IP under X.1.8.
        return "" if s.says("blocked") else _status(s, "rejected")
    if _SENDER_STATED(s.text):
        return "phrase:rejected"
    name = s.name or "undefined"
    if s.command == "MAIL":
        # A domain that does not exist, named at MAIL FROM, is the sender's (Courier's DNS
        # checks of the sender domain, Postfix reject_unknown_sender_domain).
        if found := s.phrase("rejected"):
            return found
        client = any(m in s.text for m in _CLIENT_HOST)  # Postfix's HELO or client check
        return "command:mail" if not client and s.says("hostunknown") else ""
    if s.status[2:] == "1.0":
        # X.1.0 "other address status" (RFC 3463): the words say which address, whatever
        # the command (Exchange Online's "550 5.1.0 Sender denied" answers RCPT TO too).
        return s.phrase("rejected")
    if s.command == "DATA" and name != "userunknown":
        return s.phrase("rejected")
    if name in ("undefined", "onhold", "securityerror", "systemerror"):
        return s.phrase("rejected")
    return ""


def _notaccept(s: Signals) -> str:
    # RFC 7505 null MX: the domain says it takes no mail at all. (Reply codes 521/556 decide
    # only at the very end, via rules/codes.REPLY: "521 blocked using dnsbl" is a block.)
    return s.phrase("notaccept")


def _hostunknown(s: Signals) -> str:
    if s.command in BEFORE_RCPT or any(m in s.text for m in _NOT_RECIPIENT_HOST):
        return ""
    # A lookup that failed (a DNS error, "try again") is not an answer that the domain does
    # not exist: that is a network error, whatever the words "host not found" suggest. Unless
    # the answer was NXDOMAIN (RFC 1035 4.1.1 RCODE 3, "the domain name referenced in the
    # query does not exist") and the reporting MTA gave up on it (Gmail labels that a DNS
    # error too: "Technical details of permanent failure: DNS Error: Address resolution of
    # example.org. failed: Domain name not found"); one it still retries (a 4.x.x) it took
    # for a lookup that may yet succeed.
    if s.says("networkerror") and not (
            _NXDOMAIN.search(s.text) and (s.status or s.reply)[:1] != "4"):
        return ""
    return _status(s, "hostunknown") or s.phrase("hostunknown")


def _spamdetected(s: Signals) -> str:
    if s.name == "spamdetected":
        return _status(s, "spamdetected")
    if s.command in EXCEPT_DATA:
        return ""
    if not s.command and s.says("blocked"):
        # With no command named (nullmailer, OpenSMTPD), words that say the client's IP was
        # blocked are the refusal, whatever spam they say it sent (Gmail's 550 5.7.1 "unusual
        # rate of unsolicited mail originating from your IP address ... has been blocked"):
        # answered to MAIL FROM or RCPT TO, the same reply reads so.
        return ""
    return s.phrase("spamdetected")


def _speeding(s: Signals) -> str:
    return _status(s, "speeding") or s.phrase("speeding")


def _toomanyconn(s: Signals) -> str:
    return _status(s, "toomanyconn") or s.phrase("toomanyconn")


def _blocked(s: Signals) -> str:
    if s.unfinished_check():
        # Cisco AsyncOS defers a DMARC check it could not run with 451 4.7.1, the code it
        # gives a blocked client: the words, not the code, say what happened.
        return s.phrase("blocked")
    return _status(s, "blocked") or s.phrase("blocked")


PROBES: dict[str, Callable[[Signals], str]] = {
    "mailboxfull": _mailboxfull,
    "mesgtoobig": _mesgtoobig,
    "exceedlimit": _exceedlimit,
    "suspend": _suspend,
    "hasmoved": _hasmoved,
    "norelaying": _norelaying,
    "authfailure": _authfailure,
    "syntaxerror": _syntaxerror,
    "userunknown": _userunknown,
    "filtered": _filtered,
    "requireptr": _requireptr,
    "notcompliantrfc": _notcompliantrfc,
    "badreputation": _badreputation,
    "contenterror": _contenterror,
    "failedstarttls": _failedstarttls,
    "rejected": _rejected,
    "hostunknown": _hostunknown,
    "spamdetected": _spamdetected,
    "speeding": _speeding,
    "toomanyconn": _toomanyconn,
    "blocked": _blocked,
    "notaccept": _notaccept,
}
PROBE_ORDER: tuple[str, ...] = tuple(PROBES)


def probe(reason: str, s: Signals) -> str:
    """Does the evidence show ``reason``? The token of what shows it ("" when nothing
    does): "stated" when the detector stated it (even a weak one, such as the userunknown
    an MTA infers from its own directory), "status:<code>", "reply:<code>", or
    "phrase:<reason>" for a phrase of that reason (:func:`resolve` finds which)."""
    return "stated" if s.stated == reason else PROBES[reason](s)

#: Phrase-only reasons, for a status whose meaning leaves the reason open.
PHRASE_ORDER: tuple[str, ...] = (
    "mailboxfull", "authfailure", "badreputation", "speeding", "spamdetected", "virusdetected",
    # Google's "SMTP protocol violation" is a syntax error (syntaxerror's phrases first).
    "syntaxerror", "policyviolation", "norelaying", "systemerror", "networkerror", "suspend",
    "contenterror", "systemfull", "notaccept", "expired", "failedstarttls", "securityerror",
    "suppressed", "mailererror",
)

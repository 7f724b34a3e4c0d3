"""Fact -> Bounce: the steps every format shares after its detector has spoken.

1. clean the recipient and the diagnostic text;
2. settle the codes: the stated status (a DSN's Status field is the reporting MTA's verdict,
   RFC 3464 2.3.4; a generic one is refined by the reply's own code), else the one in the
   diagnostic text; the reply code from the text;
3. decide the reason (:mod:`bounceloop.parsing.classify`) on the cause: the remote reply's
   own enhanced code where it has one, not the verdict;
4. derive action, kind, hardbounce, severity, timestamp and the correlation data.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone

from bounceloop.core import rx
from bounceloop.core.model import BOUNCE_STATE, Bounce, Kind
from bounceloop.core.reasons import is_hardbounce
from bounceloop.core.severity import STEP_BOUNCE, Convention, severity
from bounceloop.core.status import find_enhanced, find_reply_code
from bounceloop.parsing import classify
from bounceloop.parsing.checkpoint import checkpoint
from bounceloop.parsing.classify import MAX_EVIDENCE
from bounceloop.parsing.expiry import gave_up, without
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.mail import Mail, address_pattern
from bounceloop.parsing.once import Once
from bounceloop.parsing.recipient import recipient
from bounceloop.parsing.text import decode_words, squeeze

#: Headers of the returned message that tie a bounce to what we sent: our own X- headers.
CORRELATION_PREFIXES = ("x-bounceloop-",)

_COMMANDS = {
    "CONN": "connect",
    "HELO": "helo",
    "EHLO": "ehlo",
    "STARTTLS": "starttls",
    "AUTH": "auth",
    "MAIL": "mailfrom",
    "RCPT": "rcptto",
    "DATA": "data",
    "BDAT": "data",
    "QUIT": "quit",
}


def finish(fact: Fact, mail: Mail, detector: str, convention: Convention) -> Bounce:
    """The record of one fact (:func:`finish_all` for all the facts of a message)."""
    return finish_all([fact], mail, detector, convention)[0]


def finish_all(facts: Sequence[Fact], mail: Mail, detector: str,
               convention: Convention) -> tuple[Bounce, ...]:
    """The records of a message's facts, in order.

    What they share is read once (see :mod:`bounceloop.parsing.once`): the returned
    message's headers, and each distinct address, diagnostic, date and host name. Read per
    fact, a long shared value times many recipients would be quadratic.
    """
    if not facts:
        return ()
    finisher = _Finisher(mail, detector, convention)
    records = []
    for fact in one_per_recipient(facts):
        checkpoint()
        records.append(finisher.bounce(fact))
    return tuple(records)


def one_per_recipient(facts: Sequence[Fact]) -> list[Fact]:
    """One fact per recipient, at the place of its first: the most informative of its facts.

    A report can name one recipient in many per-recipient groups (RFC 3464 section 2.3 has
    one group per recipient, but relays and gateways repeat it, one per hop or per attempt);
    a record per group would count one failed address many times. Facts whose recipient is
    no address are kept as they are (nothing says they are the same recipient).
    """
    chosen: dict[str, int] = {}
    out: list[Fact] = []
    for fact in facts:
        key = recipient(fact.recipient).lower()
        if not key:
            out.append(fact)
            continue
        at = chosen.get(key)
        if at is None:
            chosen[key] = len(out)
            out.append(fact)
        elif _informative(fact) > _informative(out[at]):
            out[at] = fact
    return out


def _informative(fact: Fact) -> tuple[int, int, int, int]:
    """How much a fact says: a failure before a delay before anything else, a specific
    status (not X.0.0, RFC 3463 section 3.1's "undefined"), how many of the fields are
    filled in, then a longer diagnostic."""
    action = {"failed": 2, "delayed": 1}.get(fact.action, 0)
    specific = int(bool(fact.status) and not fact.status.endswith(".0.0"))
    filled = sum(1 for value in (fact.status, fact.diagnosis, fact.reply_code,
                                 fact.remote_mta, fact.command) if value)
    return action, specific, filled, min(len(fact.diagnosis), 10_000)


class _Finisher:
    __slots__ = ("_address", "_classifier", "_codes", "_convention", "_detector",
                 "_diagnosis", "_headers", "_lower", "_mail", "_message_id", "_sender",
                 "_subject", "_timestamp", "_upper")

    def __init__(self, mail: Mail, detector: str, convention: Convention) -> None:
        self._mail = mail
        self._detector = detector
        self._convention = convention
        self._address = Once(clean_address)
        self._diagnosis = Once(clean_diagnosis)
        self._codes = Once(_codes)
        self._timestamp = Once(timestamp)
        self._lower = Once(str.lower)
        self._upper = Once(str.upper)
        self._classifier = classify.Classifier(detector)
        self._message_id = _message_id(mail.original_header("Message-ID"))
        self._sender = _sender(mail)
        self._subject = mail.original_header("Subject")
        self._headers = _correlation(mail)

    def bounce(self, fact: Fact) -> Bounce:
        recipient = self._address(fact.recipient)
        diagnosis = self._diagnosis(fact.diagnosis)
        fact.diagnosis = diagnosis
        stated = fact.status
        status, reply, own = self._codes(
            (fact.diagnosis, fact.reply_code, fact.status, fact.context))
        # The reason is the cause: the remote server's own code where its reply has one,
        # not the reporting MTA's verdict (Sendmail's 4.4.7 on every expiry, X.5.0 for a
        # refused DATA): RFC 3464 section 2.3.4 makes Status the verdict, the
        # Diagnostic-Code (2.3.6) the remote server's account of why.
        fact.status, fact.reply_code = own or status, reply
        decision, expiry = reason_of(self._classifier, fact, own, status, self._mail,
                                     self._lower)
        action = fact.action
        if expiry is not None and action == "delayed":
            action = "failed"  # OpenSMTPD 6.8 reports its expiry as "delayed"
        fact.status = status
        reason = decision.reason
        if reason in ("feedback", "vacation"):
            status, reply = "", ""
        elif reason == "delivered" and reply[:1] in ("4", "5"):
            reply = ""
        action = action or _action_for(reason, status, reply)
        if reason == "feedback":
            kind = Kind.COMPLAINT
        elif reason == "vacation":
            kind = Kind.AUTOREPLY
        elif reason == "delivered" or action in ("delivered", "relayed", "expanded"):
            kind = Kind.DELIVERY
        elif action == "delayed":
            kind = Kind.DELAY
        else:
            kind = Kind.FAILURE
        return Bounce(
            recipient=recipient,
            action=action,
            state=BOUNCE_STATE,
            code=reply,
            extended=status,
            description=diagnosis,
            reason=reason,
            severity=severity(step=STEP_BOUNCE, code=reply, extended=status, reason=reason,
                              action=action, convention=self._convention).value,
            hardbounce=is_hardbounce(reason, reply, status),
            kind=kind.value,
            remote_mta=self._lower(fact.remote_mta),
            reporting_mta=self._lower(fact.reporting_mta),
            original_message_id=self._message_id,
            original_envelope_id=fact.envelope_id,
            feedback_type=fact.feedback_type,
            timestamp=self._timestamp(fact.date) or self._timestamp(self._mail.header("Date")),
            command=_COMMANDS.get(self._upper(fact.command), self._lower(fact.command)),
            original_recipient=self._address(fact.original_recipient),
            diagnostic_type=fact.diagnostic_type,
            will_retry_until=self._timestamp(fact.will_retry_until),
            sender=self._sender,
            subject=self._subject,
            detector=self._detector,
            rule=decision.rule,
            matched=decision.matched,
            expired=expiry is not None,
            status_field=stated if reason not in ("feedback", "vacation") else "",
            headers=self._headers,
        )



def reason_of(classifier: classify.Classifier, fact: Fact, own: str, status: str,
              mail: Mail, lower: Callable[[str], str] = str.lower,
              trace: list[str] | None = None,
              ) -> tuple[classify.Decision, tuple[str, str] | None]:
    """The decision on ``fact`` (its codes settled, its status the cause) and, when its MTA
    gave up after retrying, the expiry (:func:`bounceloop.parsing.expiry.gave_up`).

    The steps: :func:`decide`; the HTML alternative of a plain notification that decided
    nothing; for an expiry, the cause its last error states, decided without the give-up
    wording, else ``expired``. ``status`` is the settled status (the verdict); ``lower`` a
    memoised ``str.lower``; ``trace`` as :meth:`Classifier.decision`'s (``explain``).
    """
    decision = decide(classifier, fact, own, trace)
    if decision.reason in ("onhold", "undefined") and mail.alternatives:
        # The plain notification said nothing: its HTML alternative may (mail.py).
        html = mail.alternative_text()
        if html:
            if trace is not None:
                trace.append("the plain notification decided nothing: its HTML alternative "
                             "is read as notification text")
            decision = classifier.decision(
                fact.but(context=f"{fact.context}\n\n{html}" if fact.context else html),
                trace=trace)
    if decision.reason in ("feedback", "vacation", "delivered"):
        return decision, None
    context = lower(fact.context[:MAX_EVIDENCE]) if fact.context else ""
    diagnosis = lower(fact.diagnosis)
    expiry = gave_up(fact.action, status, fact.reply_code, diagnosis, context, fact.soft)
    if expiry is None:
        if decision.reason == "expired" and fact.action == "failed":
            # Words of the expired reason on a failure are a give-up too (DragonFly's
            # "Could not deliver for the last 432000 seconds. Giving up.", IMail's "Delivery
            # failed 20 attempts"): the record says so in ``expired`` as well.
            return decision, (decision.rule, decision.matched)
        return decision, None
    if trace is not None:
        trace.append(f"expiry: {expiry[0]} ({expiry[1]!r}); the cause, read without the "
                     "give-up wording:")
    cause = classifier.decision(
        fact.but(diagnosis=without(diagnosis), context=without(context)), trace=trace)
    if cause.reason in ("expired", "onhold", "undefined", "") or cause.rule in _NO_ANSWER or (
            cause.reason == "networkerror" and status[1:] == ".4.1"):
        return classify.Decision("expired", *expiry), expiry
    return cause, expiry


#: A give-up's last error that is only "no answer from host" (RFC 3463 X.4.1: no connection,
#: so no reply) states no cause: the record is ``expired``. So is a network error under
#: X.4.1, in whatever words (qmail-remote's "Sorry, I wasn't able to establish an SMTP
#: connection. (#4.4.1)", notqmail qmail-remote.c).
_NO_ANSWER = ("status:4.4.1",)

#: Rules that decide by the words of a text, and by a status code (Decision.rule prefixes).
_WORDS = ("phrase:", "provider:", "lda:", "detector:")
_BY_STATUS = ("status:", "status-class:")


def decide(classifier: classify.Classifier, fact: Fact, own: str,
           trace: list[str] | None = None) -> classify.Decision:
    """The decision on ``fact`` (its status set to the cause), where ``own`` is the enhanced
    code of the remote reply itself ("" when the reply has none).

    With no code of its own, a status that decides is the reporting MTA's reading of a bare
    reply code (Sendmail's smtptodsn() makes every 550 a 5.1.1): where the reply's own words
    decide, they are the cause.
    """
    decision = classifier.decision(fact, trace=trace)
    if not own and fact.reply_code and decision.rule.startswith(_BY_STATUS):
        if trace is not None:
            trace.append(f"{decision.rule} is the report's reading of a bare "
                         f"{fact.reply_code}: the reply's own words are read without it")
        words = classifier.decision(fact.but(status=""), trace=trace)
        if words.rule.startswith(_WORDS):
            return words
    return decision


def _codes(fields: tuple[str, str, str, str]) -> tuple[str, str, str]:
    """:func:`settle_codes` of (diagnosis, reply code, status, context)."""
    diagnosis, reply, status, context = fields
    return settle_codes(Fact(diagnosis=diagnosis, reply_code=reply, status=status,
                             context=context))


def settle_codes(fact: Fact) -> tuple[str, str, str]:
    """(enhanced status, reply code, the reply's own enhanced code) for a fact.

    The status stated by the format and the code in the server's own reply can differ; see
    :func:`prefer`. The reply code comes from the reply text, of the status's class when the
    text has one; the notification context is read only when the reply has none. The cause
    the reason is decided on is the reply's own code where it has one, else the status.
    """
    text = fact.diagnosis[:MAX_EVIDENCE]
    reply = fact.reply_code
    found = find_enhanced(text, reply[:1]) if text else ""
    if not reply and text:
        reply = find_reply_code(text, (found or fact.status)[:1])
    status = prefer(fact.status, found)
    context = fact.context[:MAX_EVIDENCE]
    if not text and context and (not status or status.endswith(".0.0")):
        # No Diagnostic-Code: the remote's reply is the one the notification quotes (the
        # context is a single recipient's), and refines a generic field as its own would.
        found = find_enhanced(context, reply[:1] or status[:1])
        status = prefer(status, found)
    if not status and context:
        status = find_enhanced(context, reply[:1])
    if not reply and context:
        reply = find_reply_code(context, status[:1])
    # The reply's own enhanced code, or the status where the report states none. A stated
    # field of the other class is no contradiction: it is the reporting MTA's verdict on
    # the remote's reply (Exim's 5.0.0 when it gave up after "451 Temporary local
    # problem"), and the reply keeps its code.
    basis = found or ("" if fact.status else status)
    if reply and basis and reply[0] != basis[0] and basis[0] in "245":
        # A reply of the other class ("550" next to "4.2.2"): the enhanced code is the more
        # precise statement (RFC 3463 section 2), so keep a reply of its class if the text
        # has one, else none rather than a contradicting one.
        reply = find_reply_code(text, basis[0]) or find_reply_code(context, basis[0])
        if reply[:1] != basis[0]:
            reply = ""
    return status, reply, found


def prefer(stated: str, found: str) -> str:
    """Choose between a stated status (DSN ``Status:``) and the code in the reply text.

    The stated status is the reporting MTA's verdict (RFC 3464 section 2.3.4): its class
    stands even where the remote reply's code is of the other class (a 554 greeting the MTA
    chose to retry, then gave up on with 4.4.7). Where it is generic, ``X.0.0`` as Exim and
    OpenSMTPD write for every failure or ``X.Y.0``, the reply's more specific code of the
    same class (and subject) refines it (RFC 3463 section 3: the detail sub-code 0 means
    "undefined").
    """
    if not stated or not found or stated == found:
        return stated or found
    if stated[0] != found[0]:
        return stated
    if stated.endswith(".0.0"):
        return found
    if stated.endswith(".0") and found.startswith(stated[:-1]):
        return found
    return stated


def _action_for(reason: str, status: str, reply: str) -> str:
    if reason == "delivered" or status.startswith("2"):
        return "delivered"
    if reason in ("feedback", "vacation"):
        return ""
    if reason == "expired" and (status or reply).startswith("4"):
        return "failed"
    return "failed"


_TRIM = rx.compile(r"^(?:smtp|x-[\w-]+|mta)\s*;\s*", re.I)
_CONTINUED = rx.compile(r"(?<![\w.\-])([245]\d\d)-")
_ENHANCED_AFTER = rx.compile(r"#?([245]\.\d{1,3}\.\d{1,3})\b")
_ANGLED = rx.compile(r"<([^<>]+)>")


def clean_diagnosis(text: str) -> str:
    """The diagnostic as one line: white space squeezed, a type prefix dropped, and a
    multi-line reply joined into one sentence (RFC 5321 section 4.2.1 repeats the code on
    each line: "550-5.7.1 This message ... 550-5.7.1 ... 550 5.7.1 ...")."""
    return join_multiline(_TRIM.sub("", squeeze(text)))


def join_multiline(text: str) -> str:
    m = _CONTINUED.search(text)
    if m is None:
        return _without_repeats(text)
    code = m.group(1)
    enhanced = _ENHANCED_AFTER.match(text[m.end():])
    if enhanced:
        marker = re.compile(rf"(?<![\w.\-]){code}[- ]#?{re.escape(enhanced.group(1))}\b ?")
        lead = f"{code} {enhanced.group(1)} "
    else:
        marker = re.compile(rf"(?<![\w.\-]){code}- ?")
        lead = f"{code} "
    first = marker.search(text, m.start())
    if first is None:
        return text
    rest = marker.sub(" ", text[first.end():])
    return squeeze(text[: first.start()] + lead + rest)


# A reply's code and enhanced code at its start ("552 5.7.0 This message ...").
_LEAD = rx.compile(r"(?<![\w.\-])[245]\d\d ([245]\.\d{1,3}\.\d{1,3}) ")


def _without_repeats(text: str) -> str:
    """A multi-line reply whose continuation lines lost their reply code but kept the
    enhanced code that RFC 2034 section 3 puts on every line: Go's net/textproto
    (Reader.ReadResponse) strips "552-" from each line and joins the rest, so chasquid's
    DSN (internal/queue/dsn.go, the error's text as Diagnostic-Code) reads "552 5.7.0 ...
    a potential 5.7.0 security issue". The repeats are dropped."""
    lead = _LEAD.search(text)
    if lead is None:
        return text
    code = lead.group(1)
    rest = text[lead.end():]
    if f" {code} " not in f" {rest} ":
        return text
    return text[:lead.end()] + squeeze(re.sub(rf"(?<!\S){re.escape(code)}(?!\S)", "", rest))


def clean_address(addr: str) -> str:
    """The recipient as printed: a bounded, valid mailbox, its domain lowercased (RFC 5321
    section 2.4: the local part is case-sensitive, the domain is not), or "" when ``addr``
    names none (:func:`bounceloop.parsing.recipient.recipient`)."""
    return recipient(addr)


# The usual RFC 5322 date ("Thu, 29 Apr 2013 23:45:00 -0700", a zone comment after it):
# read here in one match; any other form goes to timestamp_slow, which reads it the same way.
_DATE = rx.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([1-9]\d{3}) "
    r"(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)(?: \([^()]*\))?", re.ASCII)
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def timestamp(value: str) -> str:
    """An RFC 5322 date as ISO 8601 UTC ("" when it cannot be read)."""
    value = value.strip()
    if not value:
        return ""
    m = _DATE.fullmatch(value)
    if m is not None:
        day, month, year, hh, mm, ss, sign, zh, zm = m.groups()
        # As email.utils._parsedate_tz: "-0930" is -(9 h 30 min); "-0000" is UTC too.
        offset = (int(zh) * 3600 + int(zm) * 60) * (-1 if sign == "-" else 1)
        if abs(offset) < 86400:  # else datetime.timezone refuses it: the slow path says ""
            try:
                local = datetime(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss))
                utc = local - timedelta(seconds=offset)
                # isoformat is strftime("%Y-%m-%dT%H:%M:%S") for a datetime of whole
                # seconds, at half its cost, except below year 1000, which %Y leaves
                # unpadded ("999") where isoformat pads ("0999").
                if utc.year >= 1000:
                    return utc.isoformat() + "Z"
                return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
            except (ValueError, OverflowError):
                pass  # out of range: the slow path decides (it says "")
    return timestamp_slow(value)


def timestamp_slow(value: str) -> str:
    """:func:`timestamp` for any form of date (``value`` stripped), read as
    ``email.utils.parsedate_to_datetime`` reads it."""
    if not value:
        return ""
    # email.utils.parsedate_tz is this function, defined in email._parseaddr (which imports
    # only time and calendar) and re-exported; email.utils itself imports socket, random
    # and urllib.parse (8 ms, a thirtieth of a 424-file parse run that meets one such date).
    # parsedate_to_datetime is built on it, as below: a zone of "-0000" or none at all
    # (None from the private _parsedate_tz, 0 from this) makes a naive datetime, which is
    # read as UTC here either way.
    # (typeshed has no stub for the module: its one function is typed here.)
    parsedate_tz: Callable[[str], tuple[int | None, ...] | None] = importlib.import_module(
        "email._parseaddr").parsedate_tz

    try:
        parsed = parsedate_tz(value)
        if parsed is None:
            return ""
        year, month, day, hour, minute, second = parsed[:6]
        offset = parsed[9] or 0
        dt = datetime(year, month, day, hour, minute, second,  # type: ignore[arg-type]
                      tzinfo=timezone(timedelta(seconds=offset)))
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, IndexError, OverflowError):
        return ""


def _message_id(value: str) -> str:
    value = value.strip()
    m = _ANGLED.search(value)
    return (m.group(1) if m else value).strip()


def _sender(mail: Mail) -> str:
    """The envelope sender of the returned message (Return-Path), else its From address."""
    for name in ("Return-Path", "From"):
        value = mail.original_header(name)
        m = _ADDR.search(value)
        if m:
            return m.group(0)
    return ""


# mail._ADDRESS's pattern with "@" allowed inside the run.
_ADDR = rx.compile(address_pattern('<>"(),;:'))


def _correlation(mail: Mail) -> tuple[tuple[str, str], ...]:
    out = []
    for name, value in mail.original_headers:
        if name.lower().startswith(CORRELATION_PREFIXES):
            out.append((name, decode_words(value)))
    return tuple(out)


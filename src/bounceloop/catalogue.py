"""The reply catalogue: real reply texts of mail servers, with the reason their source gives.

The data is package data beside the rules (``parsing/rules/catalogue/``); this loader reads
it from disk, so it lives outside the pure core (``tests/test_purity.py``). One TOML file per
source family (``<family>.toml``; a family continued, or its replies in
another language, in ``<family>-<part>.toml``). Keys at the top of a file (``source``,
``family``, ``lang``, ``citation``, ``domain``) are the defaults of its ``[[entry]]`` tables.
Each entry has an ``id``; the ``text`` as the server sends it; ``code`` and ``status`` where
the text has them; ``command`` where the source says which SMTP command the reply answers;
the ``reason`` its documentation describes, in our vocabulary
(:data:`bounceloop.core.reasons.REASONS`: mapped from the documentation, never from what the
classifier says; where the words fit two reasons, RFC 3463's code decides: a bad recipient
address (X.1.x at RCPT) is ``userunknown`` and a bad sender address (X.1.7, X.1.8) ``rejected``
whatever the 5xx syntax code, ``syntaxerror`` being a malformed command; X.2.3, "message
length exceeds administrative limit", is ``exceedlimit``, X.3.4 ``mesgtoobig``; the
``note`` says so); and a ``citation``: the provider's page, the MTA's source file and version,
or the RFC section where the text was read. Filled-in placeholders are said in ``note``.

The catalogue measures the classifier on what servers document, not on samples
(``tests/test_catalogue.py``, ``bench/catalogue.py``). Read with the standard
library only, so it ships as package data and loads anywhere.
"""

from __future__ import annotations

import os
import re
import tomllib
from typing import NamedTuple

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "parsing", "rules",
                    "catalogue")

#: The recipient domain of a family's DSNs when its file names none.
DEFAULT_DOMAIN = "example.com"


class Entry(NamedTuple):
    id: str
    source: str
    family: str
    text: str
    reason: str
    lang: str
    citation: str
    code: str = ""
    status: str = ""
    note: str = ""
    command: str = ""
    """The SMTP command the reply answers (MAIL, RCPT, DATA, ...), where the source says."""
    domain: str = DEFAULT_DOMAIN
    """The recipient's domain: the provider's own for a provider's replies."""


#: How a notification names each command (RFC 5321 section 4.1.1).
COMMANDS = {"CONN": "initial connection", "HELO": "HELO", "EHLO": "EHLO",
            "MAIL": "MAIL FROM", "RCPT": "RCPT TO", "DATA": "end of DATA"}

_FIELDS = frozenset(Entry._fields)
_DEFAULTS = ("source", "family", "lang", "citation", "domain")


def files(directory: str = HERE) -> list[str]:
    """The catalogue's files, in name order."""
    return sorted(os.path.join(directory, name) for name in os.listdir(directory)
                  if name.endswith(".toml"))


def load(directory: str = HERE) -> list[Entry]:
    """Every entry of every file, with the file's defaults filled in.

    Raises ValueError on an unknown key or a missing field: the catalogue is our own data,
    and a typo in it must not silently drop a field.
    """
    entries: list[Entry] = []
    for path in files(directory):
        with open(path, "rb") as f:
            data = tomllib.load(f)
        defaults = {k: data[k] for k in _DEFAULTS if k in data}
        extra = set(data) - set(_DEFAULTS) - {"entry"}
        if extra:
            raise ValueError(f"{path}: unknown top-level keys {sorted(extra)}")
        for raw in data.get("entry", []):
            unknown = set(raw) - _FIELDS
            if unknown:
                raise ValueError(f"{path}: {raw.get('id')}: unknown keys {sorted(unknown)}")
            fields = {**defaults, **raw}
            try:
                entries.append(Entry(**fields))
            except TypeError as exc:
                raise ValueError(f"{path}: {raw.get('id')}: {exc}") from None
    return entries


def _recipient(entry: Entry) -> str:
    """The failed recipient every notice of the entry names."""
    return f"someone@{entry.domain}"


def _returned(recipient: str) -> str:
    """The returned message the plain-text notices quote after their marker line."""
    return f"From: sender@example.net\r\nTo: {recipient}\r\nSubject: hello\r\n\r\nHello.\r\n"


#: A report's MIME fields and the opening of its notification part (RFC 3462).
_REPORT_OPENS = (
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
)


def _status(entry: Entry) -> str:
    """The Status field a report gives the entry's reply: its enhanced code, else the class's
    X.0.0 (Postfix's smtp client writes that for a reply without one)."""
    first = (entry.status or entry.code or "5")[:1]
    return entry.status or f"{first if first in '45' else '5'}.0.0"


def as_dsn(entry: Entry) -> bytes:
    """The entry's reply as a reporting MTA returns it: a minimal RFC 3464 report.

    The text is the Diagnostic-Code (``smtp;``, RFC 3464 section 2.3.6), folded line by line
    as a multi-line reply is; the Status is the reply's enhanced code, else the class's
    X.0.0, as an MTA writes it for a reply without one (Postfix's smtp client does). The
    notification part says nothing beyond that delivery failed, so only the reply decides.
    """
    status = _status(entry)
    diagnostic = "\r\n ".join(line.strip() for line in entry.text.splitlines() if line.strip())
    recipient = _recipient(entry)
    # Reporting MTAs name the command a reply answered in the notification (Postfix "(in
    # reply to RCPT TO command)", Exim "after RCPT TO"): it tells a refused recipient from a
    # content filter's refusal after DATA (parsing/classify.py).
    answered = COMMANDS.get(entry.command, "")
    said = f" (in reply to {answered} command)" if answered else ""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mta.example.net>\r\n"
        "To: sender@example.net\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Sun, 06 Dec 2026 12:00:00 +0000\r\n"
        "Message-ID: <catalogue.{id}@mta.example.net>\r\n"
        + _REPORT_OPENS +
        f"Your message could not be delivered to {recipient}{said}.\r\n"
        "\r\n"
        "--b\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mta.example.net\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n"
        "\r\n"
        "--b--\r\n"
    ).replace("{id}", entry.id).encode("utf-8")


def _reply_lines(entry: Entry) -> list[str]:
    return [line.strip() for line in entry.text.splitlines() if line.strip()]


def as_postfix_text(entry: Entry) -> bytes:
    """The entry's reply in Postfix's plain-text bounce, without its DSN part (the
    notification of bounce(8)'s default template; the per-recipient line of
    smtp/smtp_proto.c, "host %s said: %s (in reply to %s command)", or smtp_connect.c's
    "host %s refused to talk to me: %s" for a refused greeting)."""
    recipient = _recipient(entry)
    reply = " ".join(_reply_lines(entry))
    if entry.command == "CONN":
        said = f"<{recipient}>: host mx.{entry.domain}[192.0.2.1] refused to talk to me: {reply}"
    else:
        answered = COMMANDS.get(entry.command, "")
        said = f"<{recipient}>: host mx.{entry.domain}[192.0.2.1] said: {reply}" + (
            f" (in reply to {answered} command)" if answered else "")
    return (
        "From: MAILER-DAEMON@mta.example.net (Mail Delivery System)\r\n"
        "To: sender@example.net\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Sun, 06 Dec 2026 12:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "This is the mail system at host mta.example.net.\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients. It's attached below.\r\n\r\n"
        "                   The mail system\r\n\r\n"
        f"{said}\r\n"
    ).encode()


#: qmail-remote's words for the command a reply answered (notqmail qmail-remote.c).
_QMAIL_FRAMING = {"CONN": "Connected to 192.0.2.1 but greeting failed.",
                  "HELO": "Connected to 192.0.2.1 but my name was rejected.",
                  "EHLO": "Connected to 192.0.2.1 but my name was rejected.",
                  "MAIL": "Connected to 192.0.2.1 but sender was rejected.",
                  "RCPT": "192.0.2.1 does not like recipient.",
                  "DATA": "192.0.2.1 failed on DATA command."}


def as_qmail(entry: Entry) -> bytes:
    """The entry's reply in qmail-send's failure notice (notqmail qmail-send.c), as
    qmail-remote reports a remote's permanent refusal."""
    recipient = _recipient(entry)
    framing = _QMAIL_FRAMING.get(entry.command, _QMAIL_FRAMING["RCPT"])
    return (
        "From: MAILER-DAEMON@mta.example.net\r\n"
        "To: sender@example.net\r\n"
        "Subject: failure notice\r\n"
        "Date: 6 Dec 2026 12:00:00 -0000\r\n"
        "\r\n"
        "Hi. This is the qmail-send program at mta.example.net.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        f"<{recipient}>:\r\n{framing}\r\n"
        f"Remote host said: {' '.join(_reply_lines(entry))}\r\n"
        "Giving up on 192.0.2.1.\r\n\r\n"
        "--- Below this line is a copy of the message.\r\n\r\n"
        + _returned(recipient)
    ).encode()


#: How Exim names the command after which a remote refused (transports/smtp.c).
_EXIM_AFTER = {"CONN": "initial connection", "HELO": "HELO mta.example.net",
               "EHLO": "EHLO mta.example.net", "MAIL": "MAIL FROM:<sender@example.net>",
               "RCPT": "RCPT TO:<{recipient}>", "DATA": "end of data"}


def as_exim(entry: Entry) -> bytes:
    """The entry's reply in Exim's bounce message (its default bounce text; the
    per-address "SMTP error from remote mail server after <command>:" of
    transports/smtp.c), without a DSN part."""
    recipient = _recipient(entry)
    after = _EXIM_AFTER.get(entry.command, "").replace("{recipient}", recipient)
    lead = (f"SMTP error from remote mail server after {after}:" if after
            else "SMTP error from remote mail server:")
    reply = "\r\n".join(f"    {line}" for line in _reply_lines(entry))
    return (
        "From: Mail Delivery System <Mailer-Daemon@mta.example.net>\r\n"
        "To: sender@example.net\r\n"
        "Subject: Mail delivery failed: returning message to sender\r\n"
        "Date: Sun, 06 Dec 2026 12:00:00 +0000\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "\r\n"
        "This message was created automatically by mail delivery software.\r\n\r\n"
        "A message that you sent could not be delivered to one or more of its\r\n"
        "recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
        f"  {recipient}\r\n    host mx.{entry.domain} [192.0.2.1]\r\n    {lead}\r\n{reply}\r\n\r\n"
        "------ This is a copy of the message, including all the headers. ------\r\n\r\n"
        + _returned(recipient)
    ).encode()


#: What Sendmail's transcript shows it sent before the reply (sendmail/usersmtp.c; ">>> ."
#: ends the message data, after "354").
_SENDMAIL_SENT = {"CONN": (), "HELO": (">>> HELO mta.example.net",),
                  "EHLO": (">>> EHLO mta.example.net",),
                  "MAIL": (">>> MAIL From:<sender@example.net> SIZE=1000",),
                  "RCPT": (">>> RCPT To:<{recipient}>",),
                  "DATA": (">>> DATA", "<<< 354 Enter mail, end with \".\" on a line by itself",
                           ">>> .")}
_CODED = re.compile(r"([245]\d\d)[ -](?:([245]\.\d{1,3}\.\d{1,3}) )?(.*)", re.S)


def as_sendmail(entry: Entry) -> bytes:
    """The entry's reply in Sendmail's returned mail without a DSN part ("----- Transcript of
    session follows -----"): the dialogue with the remote, then Sendmail's own line for the
    address ("<code> <status> <address>... <text>", sendmail/err.c)."""
    recipient = _recipient(entry)
    lines = _reply_lines(entry)
    sent = [line.replace("{recipient}", recipient)
            for line in _SENDMAIL_SENT.get(entry.command, _SENDMAIL_SENT["RCPT"])]
    reply = " ".join(lines)
    coded = _CODED.fullmatch(reply)
    status = (coded.group(2) if coded and coded.group(2) else entry.status)
    text = coded.group(3) if coded else reply
    verdict = " ".join(x for x in (entry.code or "550", status) if x) + f" <{recipient}>... {text}"
    transcript = "\r\n".join([f"... while talking to mx.{entry.domain}.:", *sent,
                               *(f"<<< {line}" for line in lines), verdict])
    return (
        "Return-Path: <>\r\n"
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mta.example.net>\r\n"
        "To: <sender@example.net>\r\n"
        "Subject: Returned mail: see transcript for details\r\n"
        "Date: Sun, 6 Dec 2026 12:00:00 +0000\r\n"
        "\r\n"
        "The original message was received at Sun, 6 Dec 2026 11:59:58 +0000\r\n"
        "from localhost [127.0.0.1]\r\n\r\n"
        "   ----- The following addresses had permanent fatal errors -----\r\n"
        f"<{recipient}>\r\n\r\n"
        "   ----- Transcript of session follows -----\r\n"
        f"{transcript}\r\n\r\n"
        "   ----- Original message follows -----\r\n\r\n"
        + _returned(recipient)
    ).encode()


def as_gmail(entry: Entry) -> bytes:
    """The entry's reply as Gmail relayed a remote's refusal in its plain-text bounce (up to
    about 2017; the layout of the project's tests/data/bounces/gmail-01.eml): Google's own
    sentence, then the remote's reply, with no command named and no Status field."""
    recipient = _recipient(entry)
    reply = "\r\n".join(_reply_lines(entry))
    return (
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
        "To: sender@gmail.com\r\n"
        "Subject: Delivery Status Notification (Failure)\r\n"
        "Date: Sun, 06 Dec 2026 12:00:00 +0000\r\n"
        "\r\n"
        "Delivery to the following recipient failed permanently:\r\n\r\n"
        f"     {recipient}\r\n\r\n"
        "Technical details of permanent failure:\r\n"
        "Google tried to deliver your message, but it was rejected by the server for the "
        f"recipient domain {entry.domain} by mx.{entry.domain}. [192.0.2.1].\r\n\r\n"
        "The error that the other server returned was:\r\n"
        f"{reply}\r\n\r\n"
        "----- Original message -----\r\n\r\n"
        + _returned(recipient)
    ).encode()


#: The tag Yahoo's outbound MTA puts after a remote's reply for the command it answered
#: (the project's tests/data/bounces/yahoo-*.eml); none for a refusal before MAIL FROM.
_YAHOO_TAG = {"MAIL": " [MAIL_FROM]", "RCPT": " [RCPT_TO]", "DATA": " [DATA]"}


def as_yahoo(entry: Entry) -> bytes:
    """The entry's reply as Yahoo's outbound MTA relayed a remote's refusal in its "Failure
    Notice" (qmail's layout: "Remote host said:", the reply, the command's tag)."""
    recipient = _recipient(entry)
    return (
        "From: MAILER-DAEMON@yahoo.com\r\n"
        "To: sender@yahoo.com\r\n"
        "Subject: Failure Notice\r\n"
        "Date: Sun, 06 Dec 2026 12:00:00 +0000\r\n"
        "\r\n"
        "Sorry, we were unable to deliver your message to the following address.\r\n\r\n"
        f"<{recipient}>:\r\n"
        f"Remote host said: {' '.join(_reply_lines(entry))}"
        f"{_YAHOO_TAG.get(entry.command, '')}\r\n\r\n"
        "--- Below this line is a copy of the message.\r\n\r\n"
        + _returned(recipient)
    ).encode()


def as_office365(entry: Entry) -> bytes:
    """The entry's reply as Microsoft 365 relayed a remote's refusal: its NDR (the layout of
    the project's tests/data/bounces/office365-01.eml: "<host> gave this error:", "Remote
    Server returned '<reply>'"), with a report part whose Reporting-MTA is Microsoft's and
    whose Remote-MTA is the remote, naming no command."""
    recipient = _recipient(entry)
    reply = " ".join(_reply_lines(entry))
    status = _status(entry)
    host = f"mx.{entry.domain}"
    return (
        "From: Microsoft Outlook <postmaster@contoso.onmicrosoft.com>\r\n"
        "To: <sender@example.net>\r\n"
        "Subject: Undeliverable: hello\r\n"
        "Date: Sun, 06 Dec 2026 12:00:00 +0000\r\n"
        "X-MS-Exchange-Message-Is-Ndr:\r\n"
        + _REPORT_OPENS +
        f"{host} rejected your message to the following email addresses:\r\n\r\n"
        f"{recipient} ({recipient})\r\n\r\n"
        f"{host} gave this error:\r\n{reply}\r\n\r\n"
        "Diagnostic information for administrators:\r\n\r\n"
        "Generating server: AM0PR01MB1234.eurprd01.prod.outlook.com\r\n\r\n"
        f"{recipient}\r\n{host}\r\nRemote Server returned '{reply}'\r\n\r\n"
        "--b\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.outlook.com\r\n"
        "\r\n"
        f"Final-Recipient: rfc822;{recipient}\r\n"
        "Action: failed\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp;{reply}\r\n"
        f"Remote-MTA: dns;{host}\r\n"
        "\r\n"
        "--b--\r\n"
    ).encode()


#: The notices an entry's reply is read in: the RFC 3464 report the figure of issue 18 is
#: measured on; four MTAs' plain-text bounces, which name the command in their own words or
#: not at all and have no Status field (:func:`frame_entries`); and three providers' bounces
#: relaying the remote's reply, whose own tables must not read it as their own.
FRAMES = {"dsn": as_dsn, "postfix": as_postfix_text, "qmail": as_qmail, "exim": as_exim,
          "sendmail": as_sendmail, "gmail": as_gmail, "yahoo": as_yahoo,
          "office365": as_office365}


def frame_entries(entries: list[Entry], frame: str) -> list[Entry]:
    """The entries a frame reads: all for the DSN; for the plain-text bounces, which say
    "permanent error", only the permanent replies (a temporary one there is an expiry, whose
    cause docs/parsing.md reads otherwise)."""
    if frame == "dsn":
        return entries
    return [e for e in entries if (e.status or e.code or "5")[:1] == "5"]


def classify(entry: Entry, frame: str = "dsn") -> str:
    """The reason the real parser gives the entry's reply in ``frame`` (:data:`FRAMES`);
    "" if none."""
    from bounceloop.parsing.parse import parse  # the parser is needed only to classify

    result = parse(FRAMES[frame](entry))
    if result.error or not result.records:
        return ""
    return result.records[0].reason


class Outcome(NamedTuple):
    entry: Entry
    got: str

    @property
    def right(self) -> bool:
        return self.got == self.entry.reason


def run(entries: list[Entry], frame: str = "dsn") -> list[Outcome]:
    """Every entry classified (:func:`classify`) in ``frame``."""
    return [Outcome(e, classify(e, frame)) for e in entries]


def accuracy(outcomes: list[Outcome], key: str) -> dict[str, tuple[int, int]]:
    """Per value of the entry field ``key`` (family, source, reason): (right, total)."""
    tally: dict[str, tuple[int, int]] = {}
    for o in outcomes:
        value = getattr(o.entry, key)
        right, total = tally.get(value, (0, 0))
        tally[value] = (right + o.right, total + 1)
    return tally

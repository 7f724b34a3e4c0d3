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


def as_dsn(entry: Entry) -> bytes:
    """The entry's reply as a reporting MTA returns it: a minimal RFC 3464 report.

    The text is the Diagnostic-Code (``smtp;``, RFC 3464 section 2.3.6), folded line by line
    as a multi-line reply is; the Status is the reply's enhanced code, else the class's
    X.0.0, as an MTA writes it for a reply without one (Postfix's smtp client does). The
    notification part says nothing beyond that delivery failed, so only the reply decides.
    """
    first = (entry.status or entry.code or "5")[:1]
    status = entry.status or f"{first if first in '45' else '5'}.0.0"
    diagnostic = "\r\n ".join(line.strip() for line in entry.text.splitlines() if line.strip())
    recipient = f"someone@{entry.domain}"
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
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
        "\r\n"
        "--b\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
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


def classify(entry: Entry) -> str:
    """The reason the real parser gives the entry's reply (:func:`as_dsn`); "" if none."""
    from bounceloop.parsing.parse import parse  # the parser is needed only to classify

    result = parse(as_dsn(entry))
    if result.error or not result.records:
        return ""
    return result.records[0].reason


class Outcome(NamedTuple):
    entry: Entry
    got: str

    @property
    def right(self) -> bool:
        return self.got == self.entry.reason


def run(entries: list[Entry]) -> list[Outcome]:
    """Every entry classified (:func:`classify`)."""
    return [Outcome(e, classify(e)) for e in entries]


def accuracy(outcomes: list[Outcome], key: str) -> dict[str, tuple[int, int]]:
    """Per value of the entry field ``key`` (family, source, reason): (right, total)."""
    tally: dict[str, tuple[int, int]] = {}
    for o in outcomes:
        value = getattr(o.entry, key)
        right, total = tally.get(value, (0, 0))
        tally[value] = (right + o.right, total + 1)
    return tally

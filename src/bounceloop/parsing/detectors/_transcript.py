"""Sendmail's "Transcript of session follows": the SMTP dialogue, read per recipient.

Sendmail (V8 and the old V5) copies its session log into the bounce. The log mixes what was
said on the wire with sendmail's own verdicts::

    ... while talking to mx.example.org.:          which server (V5: "While talking to x:")
    >>> RCPT To:<jane@example.org>                  what sendmail sent
    <<< 550 5.1.1 <jane@example.org>... Unknown     what the server answered (may be multi-line)
    550 5.1.1 <jane@example.org>... User unknown    sendmail's own verdict for one recipient
    554 5.0.0 Service unavailable                   sendmail's verdict for the whole message
    421 example.org (smtp)... Deferred: ...         V5: a verdict for a whole host
    maildrop: maildir over quota.                   output of a local delivery agent

A server reply belongs to the recipient whose verdict line follows it. Replies to QUIT and RSET
come after the failure and are never the reason. Sendmail pipelines: it sends the RCPT
commands and DATA together and reads the answers afterwards, so the transcript shows
">>> DATA" followed by the RCPT answers and, last, the answer to DATA ("503 need RCPT");
within a DATA block, every reply but the last answered a RCPT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bounceloop.parsing.command import canonical

_TALKING = re.compile(r"^(?:\.\.\.\s*)?while talking to\s+(\S+?)\.?:\s*$", re.I)
_SENT = re.compile(r"^>>>\s*(\S*)")
_RECEIVED = re.compile(r"^<<<\s?(.*)$")
# "550 5.1.1 <a@b>... text", "<a@b>... Deferred: text", "jane... Deferred: text",
# "554 \"|/usr/bin/procmail\"... Service unavailable" (a program the address expanded to)
_VERDICT = re.compile(
    r"^(?:(?P<code>[2-5]\d\d)(?:[ -]+(?P<status>[2-5]\.\d{1,3}\.\d{1,3}))?\s+)?"
    r"<?(?P<addr>\"[^\"]+\"|[^\s<>\"]+?)>?\.\.\.\s*(?P<text>.*)$"
)
# V5: "421 example.org (smtp)... Deferred: Connection timed out ..."
_HOST_VERDICT = re.compile(r"^[2-5]\d\d\s+\S+\s+\(\w+\)\.\.\.\s*\S")
# Sendmail's closing words about the queue, not an error of any recipient.
_QUEUE_NOTES = (
    "message could not be delivered for",
    "message will be deleted from queue",
    "warning: message still undelivered after",
    "will keep trying until message is",
)
_REPLY_CODE = re.compile(r"^([2-5]\d\d)(?=[\s-]|$)")
_CODE_FIRST = re.compile(r"^[2-5]\d\d\b")

#: ">>> MAIL From:<...>" -> MAIL; commands after the failure are marked "AFTER", others
#: (XFORWARD, ETRN, ...) "OTHER".


@dataclass(slots=True)
class Reply:
    """One complete server reply (all lines of a multi-line reply)."""

    host: str
    command: str
    """The command it answered: "" for the greeting, else MAIL, RCPT, DATA, ..."""
    lines: list[str] = field(default_factory=list)
    block: int = 0
    """Index of the host conversation it belongs to."""
    attributed: bool = False

    @property
    def code(self) -> str:
        m = _REPLY_CODE.match(self.lines[0]) if self.lines else None
        return m.group(1) if m else ""

    @property
    def text(self) -> str:
        return " ".join(line.strip() for line in self.lines if line.strip())


@dataclass(slots=True)
class Entry:
    """What the transcript says about one recipient."""

    address: str
    verdict: str
    """Sendmail's verdict without the address: "550 5.1.1 User unknown"; just the text after
    "addr... " when that is itself a reply ("554 <a@b>... 550 Host unknown" -> "550 Host
    unknown", V5)."""
    replies: list[Reply] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    """Lines a local delivery agent wrote just before the verdict."""

    @property
    def own_text(self) -> str:
        return " ".join([*self.output, self.verdict]).strip()


@dataclass(slots=True)
class Transcript:
    entries: list[Entry] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    general: list[str] = field(default_factory=list)
    """Sendmail's lines that name no recipient (host verdicts, "554 5.0.0 ...")."""

    def entry(self, *addresses: str) -> Entry | None:
        """The last entry naming any of ``addresses`` (a recipient may be tried on several
        hosts; the last attempt is the one that counted)."""
        wanted = {a.strip("<>").lower() for a in addresses if a}
        found = None
        for e in self.entries:
            if e.address.strip("<>").lower() in wanted:
                found = e
        return found

    def session_replies(self) -> list[Reply]:
        """Failure replies attributed to no recipient, from the last conversation that had
        any: they concern every recipient of that conversation (a rejected greeting, a
        rejected DATA). A conversation whose replies were attributed per recipient has none:
        its leftover replies ("503 need RCPT") are consequences."""
        replies = [r for r in self.replies if r.command != "AFTER"]
        if not replies:
            return []
        block = [r for r in replies if r.block == replies[-1].block]
        if any(r.attributed for r in block):
            return []
        failures = [r for r in block if r.code[:1] in ("4", "5")]
        return failures[:1] or block[:1]


def read(text: str) -> Transcript:
    """Parse the lines of a transcript (the text after its marker line)."""
    out = Transcript()
    host, command, block = "", "", -1
    pending: list[Reply] = []
    output: list[str] = []
    current: Reply | None = None
    data_block: list[Reply] = []

    def close_data() -> None:
        # Pipelining: in a DATA block all replies but the last answered RCPT commands.
        for r in data_block[:-1]:
            r.command = "RCPT"
        data_block.clear()

    for raw in text.split("\n"):
        line = raw.rstrip()
        if not line.strip():
            current = None
            continue
        stripped = line.strip()
        m = _TALKING.match(stripped)
        if m:
            close_data()
            host, command, block, current = m.group(1), "", block + 1, None
            pending, output = [], []
            continue
        m = _SENT.match(stripped)
        if m:
            close_data()
            verb = m.group(1).upper()
            command = canonical(verb) or ("AFTER" if verb in ("QUIT", "RSET") else "OTHER")
            current = None
            continue
        m = _RECEIVED.match(stripped)
        if m:
            said = m.group(1).strip()
            if current is not None and _continues(current, said):
                current.lines.append(said)
                continue
            current = Reply(host=host, command=command, lines=[said], block=max(block, 0))
            out.replies.append(current)
            if command != "AFTER":
                pending.append(current)
            if command == "DATA":
                data_block.append(current)
            continue
        current = None
        low = stripped.lower()
        if low.startswith(_QUEUE_NOTES):
            continue
        m = _VERDICT.match(stripped)
        if m and not _HOST_VERDICT.match(stripped):
            after = m.group("text").strip()
            # The address is known; keep the codes and the words ("550 5.1.1 User unknown").
            verdict = after if _CODE_FIRST.match(after) else " ".join(
                p for p in (m.group("code"), m.group("status"), after) if p)
            # The answer to DATA that follows pipelined RCPT answers ("503 need RCPT") is a
            # consequence of them, not the failure of a recipient named later.
            consequences = [r for r in pending if r in data_block
                            and any(q.attributed for q in data_block[:data_block.index(r)])]
            mine = [r for r in pending if r not in consequences]
            entry = Entry(address=m.group("addr"), verdict=verdict, replies=mine, output=output)
            for r in mine:
                r.attributed = True
            out.entries.append(entry)
            pending, output = [], []
            continue
        if _HOST_VERDICT.match(stripped):
            # V5: the host's verdict; the recipients' verdicts follow it.
            out.general.append(stripped)
            continue
        if _CODE_FIRST.match(stripped):
            # Sendmail's verdict on the whole message ("554 5.0.0 Service unavailable"): the
            # replies before it concern every recipient, not the next one named.
            out.general.append(stripped)
            pending = []
            continue
        output.append(stripped)
    close_data()
    # Lines a local agent wrote that no verdict followed still explain the failure.
    out.general.extend(output)
    return out


def _continues(reply: Reply, line: str) -> bool:
    """Whether ``line`` continues a multi-line reply ("550-5.7.1 ..." then "550 5.7.1 ...")."""
    last = reply.lines[-1]
    return len(last) >= 4 and last[3:4] == "-" and last[:3].isdigit() and line[:3] == last[:3]


@dataclass(slots=True)
class Finding:
    """What the transcript tells about one recipient's failure."""

    diagnosis: str = ""
    command: str = ""
    reply_code: str = ""
    remote_mta: str = ""
    from_server: bool = False
    """True when ``diagnosis`` is the remote server's own reply."""


def finding(transcript: Transcript, *addresses: str) -> Finding:
    """The server reply that failed this recipient, else sendmail's own verdict for it."""
    entry = transcript.entry(*addresses)
    replies = entry.replies if entry is not None and entry.replies else []
    if entry is None:
        replies = transcript.session_replies()
    if replies:
        first = replies[0]
        return Finding(
            diagnosis=" ".join(r.text for r in replies),
            command={"": "CONN", "OTHER": ""}.get(first.command, first.command),
            reply_code=first.code,
            remote_mta=first.host,
            from_server=True,
        )
    if entry is not None:
        return Finding(diagnosis=entry.own_text)
    return Finding()

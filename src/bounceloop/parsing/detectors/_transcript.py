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

from bounceloop.core import rx
from bounceloop.parsing.command import canonical

_TALKING = rx.compile(r"^(?:\.\.\.\s*)?while talking to\s+(\S+?)\.?:\s*$", re.I)
_SENT = rx.compile(r"^>>>\s*(\S*)")
_RECEIVED = rx.compile(r"^<<<\s?(.*)$")
# "550 5.1.1 <a@b>... text", "<a@b>... Deferred: text", "jane... Deferred: text",
# "554 \"|/usr/bin/procmail\"... Service unavailable" (a program the address expanded to)
_VERDICT = rx.compile(
    r"^(?:(?P<code>[2-5]\d\d)(?:[ -]+(?P<status>[2-5]\.\d{1,3}\.\d{1,3}))?\s+)?"
    r"<?(?P<addr>\"[^\"]+\"|[^\s<>\"]+?)>?\.\.\.\s*(?P<text>.*)$"
)
# V5: "421 example.org (smtp)... Deferred: Connection timed out ..."
_HOST_VERDICT = rx.compile(r"^[2-5]\d\d\s+\S+\s+\(\w+\)\.\.\.\s*\S")
# Sendmail's closing words about the queue, not an error of any recipient.
_QUEUE_NOTES = (
    "message could not be delivered for",
    "message will be deleted from queue",
    "warning: message still undelivered after",
    "will keep trying until message is",
)
_REPLY_CODE = rx.compile(r"^([2-5]\d\d)(?=[\s-]|$)")
_CODE_FIRST = rx.compile(r"^[2-5]\d\d\b")

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
    """A read transcript. Asked once per recipient, so what it answers is worked out once:
    an index of the entries by address, the session replies, each entry's finding."""

    entries: list[Entry] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    general: list[str] = field(default_factory=list)
    """Sendmail's lines that name no recipient (host verdicts, "554 5.0.0 ...")."""
    _last: dict[str, int] | None = None
    _session: list[Reply] | None = None
    _findings: dict[int, Finding] = field(default_factory=dict)
    _general_text: str | None = None

    def entry(self, *addresses: str) -> Entry | None:
        """The last entry naming any of ``addresses`` (a recipient may be tried on several
        hosts; the last attempt is the one that counted)."""
        if self._last is None:
            self._last = {e.address.strip("<>").lower(): i for i, e in enumerate(self.entries)}
        wanted = {a.strip("<>").lower() for a in addresses if a}
        found = [self._last[a] for a in wanted if a in self._last]
        return self.entries[max(found)] if found else None

    def general_text(self) -> str:
        """The general lines as one text."""
        if self._general_text is None:
            self._general_text = " ".join(self.general)
        return self._general_text

    def session_replies(self) -> list[Reply]:
        """Failure replies attributed to no recipient, from the last conversation that had
        any: they concern every recipient of that conversation (a rejected greeting, a
        rejected DATA). A conversation whose replies were attributed per recipient has none:
        its leftover replies ("503 need RCPT") are consequences."""
        if self._session is None:
            self._session = self._session_replies()
        return self._session

    def _session_replies(self) -> list[Reply]:
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
    data_block = _DataBlock()

    def close_data() -> None:
        # Pipelining: in a DATA block all replies but the last answered RCPT commands.
        for r in data_block.replies[:-1]:
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
            # ">>> ." is the end of the message data (RFC 5321 4.1.1.4), which Sendmail's
            # transcript shows after ">>> DATA" and its 354 ("sendmail", 4th ed., 1.10): the
            # reply to it is the reply to the message.
            command = canonical(verb) or ("DATA" if verb == "." else
                                          "AFTER" if verb in ("QUIT", "RSET") else "OTHER")
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
                data_block.replies.append(current)
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
            mine = [r for r in pending if not data_block.consequence(r)]
            entry = Entry(address=m.group("addr"), verdict=verdict, replies=mine, output=output)
            for r in mine:
                data_block.attribute(r)
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


_Key = tuple[str, str, tuple[str, ...], int]


def _key(reply: Reply) -> _Key:
    """A reply's fields but ``attributed``: replies compare by their fields (a dataclass)."""
    return reply.host, reply.command, tuple(reply.lines), reply.block


class _DataBlock:
    """The replies of one DATA command's block, and what the consequence rule asks of it.

    The rule: a pending reply is a consequence when it is in the block (equal to one of its
    replies: Reply compares by value) and a reply before the first equal one was attributed
    to a recipient already. Asked as written, that reads the block for every reply at every
    verdict, quadratic in a block of many pipelined RCPT answers. The block is kept counted
    instead: the unattributed replies by value, and, once a reply of the block has been
    attributed, the values of those before the first such. That first one does not move:
    the replies before it were not pending then, so they never are again.
    """

    __slots__ = ("_before_first", "_counted", "_first", "_position", "_unattributed",
                 "replies")

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.clear()

    def clear(self) -> None:
        self.replies.clear()
        self._unattributed: dict[_Key, int] = {}
        self._position: dict[int, int] = {}
        self._counted = 0
        self._first = -1
        self._before_first: set[_Key] = set()

    def _count(self) -> None:
        # Replies are complete by the time a verdict asks (a verdict ends the last one).
        for i in range(self._counted, len(self.replies)):
            r = self.replies[i]
            self._position[id(r)] = i
            if not r.attributed:
                key = _key(r)
                self._unattributed[key] = self._unattributed.get(key, 0) + 1
        self._counted = len(self.replies)

    def consequence(self, reply: Reply) -> bool:
        """For a pending (so unattributed) reply."""
        self._count()
        if self._first < 0:
            return False
        key = _key(reply)
        return self._unattributed.get(key, 0) > 0 and key not in self._before_first

    def attribute(self, reply: Reply) -> None:
        self._count()
        reply.attributed = True
        i = self._position.get(id(reply))
        if i is None or self.replies[i] is not reply:
            return
        key = _key(reply)
        self._unattributed[key] -= 1
        if self._first < 0:
            self._first = i
            self._before_first = {_key(r) for r in self.replies[:i]}


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
    # The same for every recipient of one entry (or of none): made once, shared.
    key = -1 if entry is None else id(entry)
    found = transcript._findings.get(key)
    if found is None:
        found = transcript._findings[key] = _finding(transcript, entry)
    return found


def _finding(transcript: Transcript, entry: Entry | None) -> Finding:
    replies = entry.replies if entry is not None and entry.replies else []
    if entry is None:
        replies = transcript.session_replies()
    # A positive reply on the way is not the failure: the 354 that invited the data, before
    # the reply to the data itself (RFC 5321 4.2.1: 3yz is a positive intermediate reply).
    replies = [r for r in replies if r.code[:1] in ("4", "5")] or replies
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

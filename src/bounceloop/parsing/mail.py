"""Reading one returned message into a :class:`Mail`: headers, notification text, report parts.

The message is parsed with the stdlib ``email`` package under ``policy.compat32``: it is the
policy that does not raise on, or rewrite, the malformed headers bounces are full of (see
``../shared/docs/stack.md``). Everything a detector needs is taken out once, here:

    headers      the top-level header fields, raw, plus decoded Subject and From
    body         the human-readable notification: every text part (HTML turned into text) up
                 to the returned message, decoded from its transfer encoding and charset
    dsn          the text of the RFC 3464 ``message/delivery-status`` part(s)
    report       the text of an RFC 5965 ``message/feedback-report`` part
    original     the returned message (``message/rfc822``, ``text/rfc822-headers``), as text

Line ends are normalised to LF first, so CR-only (old Mac) and CRLF files read the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from .text import decode_bytes, decode_words, html_to_text, unfold

#: Parts bigger than this are not decoded into the notification text: a bounce's own words
#: are short, and a 10 MB attachment must not cost time (its headers still count).
MAX_TEXT_PART = 1_000_000

_ORIGINAL_TYPES = frozenset(
    {"message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global",
     "message/global-headers", "text/rfc822"}
)
_REPORT_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_FEEDBACK_TYPES = frozenset({"message/feedback-report"})


@dataclass(slots=True)
class Mail:
    """One message, taken apart for the detectors. Built by :func:`read`; never raises."""

    headers: list[tuple[str, str]]
    subject: str = ""
    sender: str = ""
    """The From header, decoded."""
    content_type: str = ""
    body: str = ""
    dsn: str = ""
    report: str = ""
    original: str = ""
    """The returned message as text (headers, blank line, body); "" when not attached."""
    original_headers: list[tuple[str, str]] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    """Content types of all leaf parts, in order (for dispatch and diagnostics)."""
    _index: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, value in self.headers:
            self._index.setdefault(name.lower(), []).append(value)

    def header(self, name: str) -> str:
        """The first value of a top-level header, unfolded and decoded ("" if absent)."""
        values = self._index.get(name.lower())
        return decode_words(values[0]) if values else ""

    def headers_all(self, name: str) -> list[str]:
        """All raw values of a top-level header."""
        return self._index.get(name.lower(), [])

    def has(self, name: str) -> bool:
        return name.lower() in self._index

    @property
    def from_address(self) -> str:
        """The address of the From header, lowercased ("" if none)."""
        m = _ADDRESS.search(self.sender)
        return m.group(0).lower() if m else self.sender.strip().lower()

    def original_header(self, name: str) -> str:
        """A header of the returned message, decoded ("" if absent or not returned)."""
        lname = name.lower()
        for key, value in self.original_headers:
            if key.lower() == lname:
                return decode_words(value)
        return ""


_ADDRESS = re.compile(r"[^\s<>\"'(),;:@]+@[^\s<>\"'(),;:@]+")
_BOUNDARY_LINE = re.compile(rb"^--([^\s]{6,80}?)(?:--)?[ \t]*$", re.M)


def _normalise(raw: bytes) -> bytes:
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return raw


def read(raw: bytes) -> Mail:
    """Parse raw message bytes. Hostile or broken input degrades to "all body text"."""
    raw = _normalise(raw)
    try:
        msg = message_from_bytes(raw, policy=compat32)
        if not msg.is_multipart() and msg.get_content_maintype() == "multipart":
            msg = _resplit(raw, msg) or msg
        elif not msg.is_multipart() and msg.get_content_maintype() != "message":
            msg = _resplit(raw, msg, undeclared=True) or msg
        return _take_apart(msg)
    except (RecursionError, MemoryError):
        raise_if_memory = False
        del raise_if_memory
    except Exception:  # noqa: BLE001 - the parser must never raise; fall back to plain text
        pass
    return _plain(raw)


def _plain(raw: bytes) -> Mail:
    """A last resort: the head as headers, the rest as text."""
    head, _, body = raw.partition(b"\n\n")
    try:
        parsed = HeaderParser(policy=compat32).parsestr(head.decode("latin-1"), headersonly=True)
        headers = [(str(k), str(v)) for k, v in parsed.items()]
    except Exception:  # noqa: BLE001
        headers = []
    mail = Mail(headers=headers, body=decode_bytes(body))
    mail.subject = mail.header("Subject")
    mail.sender = mail.header("From")
    return mail


def _resplit(raw: bytes, msg: Message, undeclared: bool = False) -> Message | None:
    """Re-read a multipart whose boundary parameter is missing or wrong.

    Seen in the wild: a boundary declared with different quoting than used, a lost
    Content-Type line, a boundary folded away by a relay. When the body has a line
    ``--token`` repeated and followed by part headers, that token is the real boundary.
    """
    head, sep, body = raw.partition(b"\n\n")
    if not sep or len(body) > 20_000_000:
        return None
    counts: dict[bytes, int] = {}
    for m in _BOUNDARY_LINE.finditer(body):
        token = m.group(1)
        if token.endswith(b"--"):
            token = token[:-2]
        counts[token] = counts.get(token, 0) + 1
    if not counts:
        return None
    token, n = max(counts.items(), key=lambda kv: kv[1])
    if n < 2:
        return None
    # The first part after the boundary must start with a header line.
    first = body.find(b"--" + token + b"\n")
    if first < 0 or not re.match(rb"[A-Za-z][\w-]*:", body[first + len(token) + 3:][:200]):
        return None
    if undeclared and first > 300:
        # A text bounce quoting a MIME original further down: not a lost multipart header.
        return None
    declared = msg.get_boundary()
    if declared is not None and declared.encode("latin-1", "replace") == token and not undeclared:
        return None
    headers = re.sub(rb"(?im)^content-type:.*\n(?:[ \t].*\n)*", b"", head + b"\n")
    ctype = b'Content-Type: multipart/mixed; boundary="' + token.replace(b'"', b"") + b'"\n'
    try:
        fixed = message_from_bytes(headers + ctype + b"\n" + body, policy=compat32)
    except Exception:  # noqa: BLE001
        return None
    return fixed if fixed.is_multipart() else None


def _take_apart(msg: Message) -> Mail:
    headers = [(str(k), str(v)) for k, v in msg.items()]
    mail = Mail(headers=headers, content_type=msg.get_content_type())
    mail.subject = mail.header("Subject")
    mail.sender = mail.header("From")
    texts: list[str] = []
    htmls: list[str] = []
    dsn: list[str] = []
    _walk(msg, mail, texts, htmls, dsn, top=True)
    if not texts and htmls:
        texts = htmls
    mail.body = "\n\n".join(t for t in texts if t)
    mail.dsn = "\n\n".join(dsn)
    return mail


def _walk(
    part: Message,
    mail: Mail,
    texts: list[str],
    htmls: list[str],
    dsn: list[str],
    top: bool = False,
    depth: int = 0,
) -> None:
    ctype = part.get_content_type()
    if depth > 40:
        return
    if not top and ctype in _ORIGINAL_TYPES:
        if not mail.original:
            _take_original(part, mail)
        mail.parts.append(ctype)
        return
    if ctype in _REPORT_TYPES:
        dsn.append(_report_text(part))
        mail.parts.append(ctype)
        return
    if ctype in _FEEDBACK_TYPES:
        mail.report = _report_text(part)
        mail.parts.append(ctype)
        return
    payload = part.get_payload()
    if isinstance(payload, list):
        if ctype == "multipart/alternative":
            plain = [p for p in payload if isinstance(p, Message)
                     and p.get_content_type() == "text/plain"]
            payload = plain[:1] or payload
        for sub in payload:
            if isinstance(sub, Message):
                _walk(sub, mail, texts, htmls, dsn, depth=depth + 1)
        return
    mail.parts.append(ctype)
    maintype = part.get_content_maintype()
    if maintype not in ("text", "message") and not top:
        return
    text = _part_text(part)
    if ctype == "text/html":
        htmls.append(html_to_text(text))
    elif maintype == "message" and not top:
        # message/* that compat32 did not parse (e.g. a broken message/rfc822): keep as text.
        if not mail.original:
            mail.original = text
            mail.original_headers = headers_of(text)
    else:
        texts.append(text)


def _part_text(part: Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        data = None
    if not isinstance(data, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    if len(data) > MAX_TEXT_PART:
        data = data[:MAX_TEXT_PART]
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001
        charset = None
    return decode_bytes(data, charset)


def _report_text(part: Message) -> str:
    """The text of a report part, whichever way compat32 split it into blocks."""
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    payload = part.get_payload()
    if cte in ("base64", "quoted-printable"):
        encoded = _message_text(payload)
        inner = Message()
        inner["Content-Transfer-Encoding"] = cte
        inner.set_payload(encoded)
        try:
            data = inner.get_payload(decode=True)
        except Exception:  # noqa: BLE001
            data = None
        if isinstance(data, bytes):
            return decode_bytes(data, part.get_content_charset())
        return encoded
    return _message_text(payload)


def _message_text(payload: object) -> str:
    """Blocks of header fields (as compat32 parses message/* parts) back into text."""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, Message):
        lines = [f"{k}: {unfold(str(v))}" for k, v in payload.items()]
        body = payload.get_payload()
        text = "\n".join(lines)
        rest = _message_text(body) if body else ""
        return text + ("\n\n" + rest if rest.strip() else "")
    if isinstance(payload, list):
        return "\n\n".join(_message_text(p) for p in payload)
    return ""


def _take_original(part: Message, mail: Mail) -> None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        inner = payload[0]
        mail.original_headers = [(str(k), str(v)) for k, v in inner.items()]
        body = inner.get_payload()
        head = "\n".join(f"{k}: {v}" for k, v in mail.original_headers)
        text = body if isinstance(body, str) else ""
        mail.original = head + "\n\n" + text
        return
    text = _part_text(part)
    mail.original = text
    mail.original_headers = headers_of(text)


def headers_of(text: str) -> list[tuple[str, str]]:
    """The header fields at the start of ``text`` (a returned message quoted as text)."""
    text = text.lstrip("\n")
    end = text.find("\n\n")
    head = text if end < 0 else text[:end]
    fields: list[tuple[str, str]] = []
    name = ""
    value: list[str] = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and name:
            value.append(line.strip())
            continue
        colon = line.find(":")
        if colon <= 0 or " " in line[:colon].strip() or not line[:colon].strip():
            if name:
                fields.append((name, " ".join(value)))
                name = ""
            continue
        if name:
            fields.append((name, " ".join(value)))
        name = line[:colon].strip()
        value = [line[colon + 1:].strip()]
    if name:
        fields.append((name, " ".join(value)))
    return fields

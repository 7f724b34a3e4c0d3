"""Reading one returned message into a :class:`Mail`: headers, notification text, report parts.

The bytes are split into parts by :mod:`bounceloop.parsing.mime` (a lenient reader; why not
``email.parser`` is told there). Everything a detector needs is taken out once, here:

    headers      the top-level header fields, raw, plus decoded Subject and From
    body         the human-readable notification: every text part (HTML turned into text)
                 outside the returned message, decoded from its transfer encoding and charset
    dsn          the text of the RFC 3464 ``message/delivery-status`` part(s)
    report       the text of an RFC 5965 ``message/feedback-report`` part
    original     the returned message (``message/rfc822``, ``text/rfc822-headers``), as text

Line ends are normalised to LF first, so CR-only (old Mac) and CRLF files read the same.
Nothing here raises: a message too broken to split is read as headers and plain text.
"""

from __future__ import annotations

import re

from bounceloop.core import rx
from bounceloop.parsing import mime
from bounceloop.parsing.checkpoint import checkpoint
from bounceloop.parsing.text import decode_bytes, decode_words, html_to_text, unflow

#: Parts bigger than this are not decoded into the notification text: a bounce's own words
#: are short, and a 10 MB attachment must not cost time (its headers still count).
MAX_TEXT_PART = 1_000_000

_ORIGINAL_TYPES = frozenset(
    {"message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global",
     "message/global-headers", "text/rfc822",
     # Bigfoot returns the original as message/partial (RFC 2046 section 5.2.2).
     "message/partial"}
)
_REPORT_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_FEEDBACK_TYPES = frozenset({"message/feedback-report"})


class Mail:
    """One message, taken apart for the detectors. Built by :func:`read`; never raises.

    A plain class, not a dataclass: the parser is compiled (bounceloop.native), and mypyc
    compiles an explicit ``__init__`` but leaves a dataclass's to the ``dataclasses`` module
    (Python code run for every message: ~2 % of a parse of the Sisimai corpus)."""

    __slots__ = (
        "_alternative_text",
        "_decoded",
        "_from",
        "_index",
        "_original",
        "_original_decoded",
        "_original_of",
        "alternatives",
        "body",
        "content_type",
        "dsn",
        "headers",
        "original",
        "original_headers",
        "original_raw",
        "parts",
        "report",
        "sender",
        "subject",
    )

    def __init__(self, headers: list[tuple[str, str]], subject: str = "", sender: str = "",
                 content_type: str = "", body: str = "") -> None:
        self.headers = headers
        self.subject = subject
        self.sender = sender
        """The From header, decoded."""
        self.content_type = content_type
        self.body = body
        self.dsn = ""
        self.report = ""
        self.original = ""
        """The returned message as text (headers, blank line, body); "" when not attached."""
        self.original_headers: list[tuple[str, str]] = []
        self.original_raw = b""
        """The returned message's bytes when attached (transfer encoding undone): read again
        as a message of its own (a bounce a person forwarded), each part decodes with its own
        charset, which the text, decoded whole, cannot give back. b"" when not attached."""
        self.parts: list[str] = []
        """Content types of all leaf parts, in order (for dispatch and diagnostics)."""
        self._index: dict[str, list[str]] = {}
        self._decoded: dict[str, str] = {}
        self._from: str | None = None
        self._original_of: list[tuple[str, str]] | None = None
        """The ``original_headers`` list that ``_original`` indexes (detectors replace it)."""
        self._original: dict[str, str] = {}
        self._original_decoded: dict[str, str] = {}
        self.alternatives: list[mime.Part] = []
        """The HTML parts of the notification's multipart/alternative whose text/plain
        sibling made ``body``: read only when the plain text decides nothing
        (:meth:`alternative_text`)."""
        self._alternative_text: str | None = None
        for name, value in headers:
            self._index.setdefault(name.lower(), []).append(value)

    def alternative_text(self) -> str:
        """The text of the notification's HTML alternatives ("" if none), converted once.

        RFC 2046 section 5.1.4 makes the parts of a multipart/alternative the same content,
        but notifications often carry a stub in text/plain and the reason only in the HTML
        (Exchange's NDRs put the "Diagnostic information for administrators" there).
        """
        if self._alternative_text is None:
            self._alternative_text = "\n\n".join(
                html_to_text(_text(part)) for part in self.alternatives)
        return self._alternative_text

    def header(self, name: str) -> str:
        """The first value of a top-level header, unfolded and decoded ("" if absent)."""
        key = name.lower()
        cached = self._decoded.get(key)
        if cached is None:
            values = self._index.get(key)
            cached = self._decoded[key] = header_text(values[0]) if values else ""
        return cached

    def headers_all(self, name: str) -> list[str]:
        """All raw values of a top-level header."""
        return self._index.get(name.lower(), [])

    def has(self, name: str) -> bool:
        return name.lower() in self._index

    @property
    def from_address(self) -> str:
        """The address of the From header, lowercased ("" if none)."""
        if self._from is None:
            m = _ADDRESS.search(self.sender)
            self._from = m.group(0).lower() if m else self.sender.strip().lower()
        return self._from

    def original_header(self, name: str) -> str:
        """A header of the returned message, decoded ("" if absent or not returned)."""
        # Asked for every record of the message (Message-ID, Subject, Return-Path, ...): an
        # index and the decoded values are kept, so a message with many records and a long
        # returned header does not scan or decode it once per record.
        if self._original_of is not self.original_headers:
            self._original_of = self.original_headers
            # Built backwards, so the first of repeated fields is the one kept.
            self._original = {key.lower(): value for key, value in reversed(self.original_headers)}
            self._original_decoded = {}
        lname = name.lower()
        cached = self._original_decoded.get(lname)
        if cached is None:
            raw = self._original.get(lname)
            cached = self._original_decoded[lname] = "" if raw is None else header_text(raw)
        return cached


def address_pattern(delimiters: str) -> str:
    """An address in text, between ``delimiters`` (regex class characters; whitespace and
    the apostrophe besides), tried only where a run of its characters starts: a match
    could not start inside a run anyway, and trying each character of a long run that has
    no "@" is quadratic. An apostrophe quotes an address ('jane@example.org') but is also an
    atext character of a local part (RFC 5322 3.2.3: o'brien@example.org): one inside the
    local part is kept, and is inside the run (a match starts after an apostrophe only where
    that one opens a run)."""
    d = delimiters
    return (rf"(?:(?<![^\s{d}])|(?<=')(?<![^\s{d}']'))"
            rf"[^\s{d}']+(?:'[^\s{d}']+)*@[^\s{d}']+")


_ADDRESS = rx.compile(address_pattern('<>"(),;:@'))
_BOUNDARY_LINE = rx.compile(r"^--([^\s]{6,80}?)(?:--)?[ \t]*$", re.M)


def header_text(value: str) -> str:
    """A raw header value as text: raw 8-bit bytes decoded (UTF-8 first), encoded words too."""
    if not value.isascii():
        value = decode_bytes(value.encode("latin-1", "replace"))
    return decode_words(value)


def read(raw: bytes) -> Mail:
    """Take apart raw message bytes. Hostile or broken input degrades to "all body text"."""
    text = raw.decode("latin-1")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        root = mime.parse(text)
        if not root.children and (root.maintype == "multipart" or root.ctype == "text/plain"):
            root = _resplit(root) or root
        return _take_apart(root)
    except RecursionError:
        pass
    return _plain(text)


# Tags that filters and gateways put before a message's Subject on its way, the bounce's as
# any other's: SpamAssassin's rewrite_header Subject ("*****SPAM*****", "****SPAM(5.2)****"),
# amavisd-new's $sa_spam_subject_tag ("***SPAM*** "), Haraka's rspamd plugin ("[SPAM] %s"),
# an rspamd rewrite_subject such as "SPAM: 6.2 %s", and the "[EXTERNAL]" / "EXT:" marks that
# organisations' gateways put on mail from outside. The MTA's own Subject follows them.
_TAG = rx.compile(
    r"\s*(?:\*{2,}\s*spam[^*\n]{0,20}\*{2,}"
    r"|\[\s*(?:(?:suspected |possible |probable )?spam|external(?: sender| email)?|ext|bulk"
    r"|suspicious|caution|junk)\b[^\]\n]{0,20}\]"
    r"|(?:spam|external|ext)\s*:(?:\s*-?\d+(?:\.\d+)?\b)?)\s*",
    re.I,
)


def untagged(subject: str) -> str:
    """``subject`` without the tags filters and gateways put before it (at most three); a
    Subject that is a tag alone is kept."""
    rest = subject
    for _ in range(3):
        tag = _TAG.match(rest)
        if tag is None or not rest[tag.end():].strip():
            break
        rest = rest[tag.end():]
    return rest


def _plain(text: str) -> Mail:
    """A last resort: the head as headers, the rest as text."""
    headers, body = mime.split_head(text)
    mail = Mail(headers=headers, body=decode_bytes(body.encode("latin-1")))
    mail.subject = untagged(mail.header("Subject"))
    mail.sender = mail.header("From")
    return mail


_FIELD_NAME = rx.compile(r"[A-Za-z][\w-]*:")


def _resplit(root: mime.Part) -> mime.Part | None:
    """Re-read a multipart whose boundary parameter is missing or wrong.

    Seen in the wild: a boundary declared with different quoting than used, a lost
    Content-Type line, a boundary folded away by a relay. When the body has a line
    ``--token`` repeated and followed by part headers, that token is the real boundary. A
    text body quoting a MIME original far down is not that: the token must open the body.
    """
    body = root.body
    if len(body) > 20_000_000:
        return None
    if not body.startswith("--") and "\n--" not in body:
        return None  # no line starts "--": no boundary line (what _BOUNDARY_LINE needs)
    counts: dict[str, int] = {}
    for m in _BOUNDARY_LINE.finditer(body):
        token = m.group(1)
        if token.endswith("--"):
            token = token[:-2]
        counts[token] = counts.get(token, 0) + 1
    if not counts:
        return None
    token, n = max(counts.items(), key=lambda kv: kv[1])
    if n < 2 or token == root.params.get("boundary"):
        return None
    first = body.find("--" + token + "\n")
    if first < 0 or not _FIELD_NAME.match(body[first + len(token) + 3:][:200]):
        return None
    if root.maintype != "multipart" and first > 300:
        return None
    chunks, preamble = mime.split_parts(body, token)
    if not chunks:
        return None
    fixed = mime.Part(headers=root.headers, ctype="multipart/mixed",
                      params={"boundary": token}, body=body, preamble=preamble)
    fixed.children = [mime.parse(c, 1) for c in chunks]
    return fixed


def _take_apart(root: mime.Part) -> Mail:
    mail = Mail(headers=root.headers, content_type=root.ctype)
    mail.subject = untagged(mail.header("Subject"))
    mail.sender = mail.header("From")
    texts: list[str] = []
    dsn: list[str] = []
    _walk(root, mail, texts, dsn, top=True)
    mail.body = "\n\n".join(t for t in texts if t)
    mail.dsn = "\n\n".join(dsn)
    return mail


def _walk(
    part: mime.Part,
    mail: Mail,
    texts: list[str],
    dsn: list[str],
    top: bool = False,
    depth: int = 0,
) -> None:
    ctype = part.ctype
    if depth > mime.MAX_DEPTH:
        return
    checkpoint()
    if not top and ctype in _ORIGINAL_TYPES:
        if not mail.original:
            _take_original(part, mail)
        mail.parts.append(ctype)
        return
    if ctype in _REPORT_TYPES:
        dsn.append(_text(part))
        mail.parts.append(ctype)
        return
    if ctype in _FEEDBACK_TYPES:
        mail.report = _text(part)
        mail.parts.append(ctype)
        return
    if part.children:
        children = part.children
        if ctype == "multipart/alternative":
            plain = [p for p in children if p.ctype == "text/plain"]
            if plain:
                mail.alternatives += [p for p in children if p.ctype == "text/html"]
            children = plain[:1] or children
        for sub in children:
            _walk(sub, mail, texts, dsn, depth=depth + 1)
        return
    maintype = part.maintype
    if maintype == "multipart" and not top:
        # A nested multipart whose boundary line was damaged (a folded parameter that lost
        # its indentation): recover its parts as for the top level.
        fixed = _resplit(part)
        if fixed is not None:
            _walk(fixed, mail, texts, dsn, depth=depth + 1)
            return
    mail.parts.append(ctype)
    if maintype not in ("text", "message", "multipart") and not top:
        return
    if maintype == "message" and not top:
        # Another message/* type (message/external-body, a bare message/news): the original.
        if not mail.original:
            _take_original(part, mail, strip=False)
        return
    text = _text(part)
    # An HTML part that is not another version of a plain one (multipart/alternative, above)
    # says something of its own: read in its place among the others, as a mail reader shows
    # a multipart/mixed message's parts one after the other (RFC 2046 5.1.3).
    texts.append(html_to_text(text) if ctype == "text/html" else text)


def _data(part: mime.Part) -> bytes:
    """A part's body, transfer encoding undone, at most MAX_TEXT_PART bytes."""
    data = part.payload()
    return data[:MAX_TEXT_PART] if len(data) > MAX_TEXT_PART else data


#: Typographic apostrophes (U+2019, U+2018, U+02BC), as notices written in UTF-8 have them
#: ("Your message wasn't delivered" with U+2019): the rules' words are written with "'".
_APOSTROPHES = (("\u2019", "'"), ("\u2018", "'"), ("\u02bc", "'"))
#: And the no-break spaces of text made from HTML (U+00A0; French typography's narrow one,
#: U+202F, before ":"; the figure and thin spaces): the rules' words are spaced with " ".
#: Not in HTML, where html_to_text reads a line's leading no-break spaces as its indentation.
_PLAIN = (*_APOSTROPHES, ("\u00a0", " "), ("\u202f", " "), ("\u2007", " "), ("\u2009", " "))


def _text(part: mime.Part) -> str:
    """A part's body, transfer encoding undone, decoded with its charset, its typographic
    apostrophes and no-break spaces plain; a format=flowed text/plain body unflowed (RFC
    3676)."""
    text = decode_bytes(_data(part), part.params.get("charset"))
    if not text.isascii():  # what is replaced is none of it ASCII
        # str.replace where the character occurs: a search each, far cheaper than
        # str.translate's lookup of every character of a long non-ASCII text.
        for char, plain in _APOSTROPHES if part.ctype == "text/html" else _PLAIN:
            if char in text:
                text = text.replace(char, plain)
    if part.ctype == "text/plain" and part.params.get("format", "").lower() == "flowed":
        text = unflow(text, part.params.get("delsp", "").lower() == "yes")
    return text


def _take_original(part: mime.Part, mail: Mail, strip: bool = True) -> None:
    data = _data(part)
    if strip:
        data = data.lstrip(b"\r\n")
    text = decode_bytes(data, part.params.get("charset"))
    mail.original = text
    mail.original_raw = data
    mail.original_headers = headers_of(text)


def headers_of(text: str) -> list[tuple[str, str]]:
    """The header fields at the start of ``text`` (a returned message quoted as text)."""
    text = text.lstrip("\n")
    end = text.find("\n\n")
    head = text if end < 0 else text[:end]
    found = mime.fields(head)
    if found is not None:
        return found
    return _headers_by_line(head)


def _headers_by_line(head: str) -> list[tuple[str, str]]:
    """:func:`headers_of` a line at a time: odd lines are skipped, not the end of the head."""
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

#!/usr/bin/env python3
"""Readings that must not change: the parser against itself, on changes a bounce meets on
its way that leave what it says as it was.

Each change below is made to every message of the corpora, and the message read again. A
record whose recipient or reason moves is listed: a rule that holds only on the bytes as
they were, not on the mail server's message. The corpora are the project's own samples
(tests/data/bounces, tests/data/dsnfarm) and, where it is there, the shared Sisimai corpus
(../shared/corpus/sisimai; this bench reads it when present and says so when not).

- ``crlf``: CRLF line ends everywhere (as on the wire, RFC 5321 2.3.8);
- ``trailing-space``: white space at the end of every line (relays add it; RFC 2045 6.7
  says a decoder deletes it);
- ``header-case``: the message's header field names in lower case (RFC 5322 1.2.2);
- ``dsn-field-case``: RFC 3464 field names in lower case (its fields follow RFC 822);
- ``subject-tag``: a filter's tag before the Subject (SpamAssassin's "*****SPAM*****",
  "[EXTERNAL]" of a gateway);
- ``angle-recipient``: a Final-Recipient written "rfc822; <jane@example.org>";
- ``forward-attached``: the bounce forwarded by a person, attached as message/rfc822 to a
  "Fwd:" message;
- ``forward-inline``: a plain-text bounce forwarded by a person inline, under Gmail's
  "Forwarded message" marker and the fields a client repeats;
- ``forward-flowed``: the same as Thunderbird sends it, format=flowed (RFC 3676) and
  wrapped at 72 columns;
- ``subject-encoded``: the Subject as an RFC 2047 encoded-word (UTF-8, base64), as mail
  software that re-encodes headers writes it;
- ``subject-folded``: the Subject folded after its first word (RFC 5322 2.2.3);
- ``no-date``: no Date field (some MTAs' notices have none);
- ``received-top``: a relay's Received field on top (RFC 5321 4.4: every relay prepends
  one);
- ``null-return-path``: ``Return-Path: <>`` on top, as the final delivery adds it (RFC
  5321 4.4) where the message has none;
- ``relay-headers``: a spam filter's, a virus scanner's and an Authentication-Results
  field at the end of the header (SpamAssassin, clamav-milter, RFC 8601);
- ``mbox-line``: an mbox "From " line before the message, as mail read from an mbox file
  begins;
- ``body-qp``, ``body-base64``: a MIME message's text/plain parts in quoted-printable or
  base64 (RFC 2045 6.7, 6.8), as gateways and mail stores re-encode 8bit text;
- ``external-banner``: a receiving gateway's warning on top of the notice ("CAUTION: This
  email originated from outside of the organization..."), as Exchange Online's mail flow
  rules and HCL Domino add to mail from outside;
- ``scanner-footer``: MailScanner's signature under the notice ("This message has been
  scanned for viruses and dangerous content by MailScanner, and is believed to be clean.");
- ``smart-quotes``: the notice's apostrophes typographic, as a notice written in UTF-8
  has them;
- ``no-break-spaces``: every second space between two words of the notice a no-break
  space, as text made from HTML has them;
- ``status-comment``: each Status field followed by a comment, the title of its RFC 3463
  subject ("5.1.1 (Addressing Status)"), as some MTAs explain the code there;
- ``html-notice``: the notice (a multipart message's first text part) written as HTML with
  no plain version, as some servers write it: a line break (``<br>``) per line, its
  indentation in no-break spaces, its characters escaped.

A forward makes a vacation reply, an ARF report or a provider's JSON notice another
message (its own headers are what mark it), and a detector that knows a format by a header
loses it in a forward: those moves are expected, and listed like the others.

    bench/metamorphic.py [--change NAME]... [--corpus DIR]... [--detail N]
"""

from __future__ import annotations

import argparse
import base64
import email
import html
import itertools
import quopri
import re
import sys
import textwrap
from collections.abc import Callable
from email import policy
from email.message import Message
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpus" / "sisimai" / "eml"
CORPORA = [ROOT / "tests" / "data" / "bounces", ROOT / "tests" / "data" / "dsnfarm" / "eml"]

Reading = list[tuple[str, str]]


def _lf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n")


def crlf(raw: bytes) -> bytes | None:
    return _lf(raw).replace(b"\n", b"\r\n")


_LINE_END = re.compile(rb"(?m)([^\r\n])(\r?)$")


def trailing_space(raw: bytes) -> bytes | None:
    return _LINE_END.sub(rb"\1  \2", raw)


_FIELD = re.compile(rb"(?m)^([A-Za-z][A-Za-z0-9-]*):")


def header_case(raw: bytes) -> bytes | None:
    head, blank, body = _lf(raw).partition(b"\n\n")
    return _FIELD.sub(lambda m: m.group(1).lower() + b":", head) + blank + body


_DSN_FIELD = re.compile(
    rb"(?mi)^(reporting-mta|final-recipient|original-recipient|action|status|diagnostic-code"
    rb"|remote-mta|arrival-date|last-attempt-date|received-from-mta|x-postfix-sender):")


def dsn_field_case(raw: bytes) -> bytes | None:
    changed, n = _DSN_FIELD.subn(lambda m: m.group(1).lower() + b":", raw)
    return changed if n else None


_SUBJECT = re.compile(rb"(?mi)^subject:[ \t]*")


def subject_tag(raw: bytes) -> bytes | None:
    head, blank, body = _lf(raw).partition(b"\n\n")
    changed, n = _SUBJECT.subn(b"Subject: *****SPAM***** [EXTERNAL] ", head, count=1)
    return changed + blank + body if n else None


_FINAL = re.compile(rb"(?mi)^(final-recipient:[ \t]*rfc822;[ \t]*)([^\s<>]+@[^\s<>]+)[ \t]*$")


def angle_recipient(raw: bytes) -> bytes | None:
    changed, n = _FINAL.subn(rb"\1<\2>", raw)
    return changed if n else None


def forward_attached(raw: bytes) -> bytes | None:
    subject = _SUBJECT.search(raw)
    line = raw[subject.end():raw.find(b"\n", subject.end())].strip() if subject else b""
    return (b"From: Jane Person <jane@person.example>\nTo: help@sender.example\n"
            b"Subject: Fwd: " + line + b"\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=\"=_forward_=\"\n\n"
            b"--=_forward_=\nContent-Type: text/plain\n\nWhat does this mean?\n\n"
            b"--=_forward_=\nContent-Type: message/rfc822\n\n" + _lf(raw)
            + b"\n--=_forward_=--\n")


_INLINE_FIELDS = (b"from", b"date", b"subject", b"to")


def forward_inline(raw: bytes) -> bytes | None:
    """A plain-text bounce forwarded by a person inline, under Gmail's marker and the
    fields a mail client repeats (From, Date, Subject, To); a multipart one is attached by
    the clients, not inlined (forward_attached)."""
    head, _, body = _split(raw)
    if re.search(rb"(?mi)^content-type:[ \t]*multipart", head):
        return None
    cte = re.search(rb"(?mi)^content-transfer-encoding:[ \t]*(\S+)", head)
    if cte and cte.group(1).lower() not in (b"7bit", b"8bit"):
        return None
    fields = {}
    for name in _INLINE_FIELDS:
        m = re.search(rb"(?mi)^" + name + rb":[ \t]*(.*(?:\n[ \t].*)*)", head)
        if m:
            fields[name] = re.sub(rb"\n[ \t]+", b" ", m.group(1)).strip()
    if b"subject" not in fields:
        return None
    ctype = re.search(rb"(?mi)^content-type:[ \t]*(.*(?:\n[ \t].*)*)", head)
    return (b"From: Jane Person <jane@person.example>\nTo: help@sender.example\n"
            b"Subject: Fwd: " + fields[b"subject"] + b"\nMIME-Version: 1.0\n"
            + (b"Content-Type: " + re.sub(rb"\n[ \t]+", b" ", ctype.group(1)).strip() + b"\n"
               if ctype else b"")
            + b"\nWhat does this mean?\n\n---------- Forwarded message ---------\n"
            + b"".join(name.capitalize() + b": " + fields[name] + b"\n"
                       for name in _INLINE_FIELDS if name in fields)
            + b"\n" + body)


def _flowed(body: bytes, width: int = 72) -> bytes:
    """``body`` as a mail client sends what it wraps (RFC 3676 4.2): a line longer than
    ``width`` broken at spaces, each break soft (the line before it ends in a space), and a
    line that begins with a space, ">" or "From " stuffed with a space (4.4)."""
    out: list[bytes] = []
    for line in body.split(b"\n"):
        text = line.decode("latin-1")
        pieces = (textwrap.wrap(text, width=width, break_long_words=False,
                                break_on_hyphens=False, drop_whitespace=False)
                  if len(text) > width else [text]) or [""]
        for i, piece in enumerate(pieces):
            if i == len(pieces) - 1:
                piece = piece.rstrip(" ")  # a hard break
            elif not piece.endswith(" "):
                piece += " "  # a soft one
            if piece.startswith((" ", ">", "From ")):
                piece = " " + piece
            out.append(piece.encode("latin-1"))
    return b"\n".join(out)


def forward_flowed(raw: bytes) -> bytes | None:
    """forward_inline as Thunderbird sends it: format=flowed, wrapped at 72 columns."""
    forwarded = forward_inline(raw)
    if forwarded is None:
        return None
    head, _, body = forwarded.partition(b"\n\n")
    charset = re.search(rb"(?mi)^content-type:[^\n]*charset=\"?([\w.-]+)", head)
    head = re.sub(rb"(?mi)^content-type:.*\n?", b"", head).rstrip(b"\n")
    return (head + b"\nContent-Type: text/plain; charset="
            + (charset.group(1) if charset else b"us-ascii") + b"; format=flowed\n\n"
            + _flowed(body))


def _split(raw: bytes) -> tuple[bytes, bytes, bytes]:
    """The header (without an mbox "From " line: a relay has none), the blank line, the
    body."""
    raw = _lf(raw)
    if raw.startswith(b"From "):
        raw = raw.partition(b"\n")[2]
    head, blank, body = raw.partition(b"\n\n")
    return head, blank, body


_SUBJECT_FIELD = re.compile(rb"(?mi)^subject:[ \t]*(.*(?:\n[ \t].*)*)")


def subject_encoded(raw: bytes) -> bytes | None:
    head, blank, body = _split(raw)
    m = _SUBJECT_FIELD.search(head)
    if m is None or b"=?" in m.group(1) or not m.group(1).strip():
        return None
    value = re.sub(rb"\n[ \t]+", b" ", m.group(1)).strip()
    try:
        text = value.decode()
    except UnicodeDecodeError:
        text = value.decode("latin-1")
    word = b"=?UTF-8?B?" + base64.b64encode(text.encode()) + b"?="
    return head[:m.start()] + b"Subject: " + word + head[m.end():] + blank + body


def subject_folded(raw: bytes) -> bytes | None:
    head, blank, body = _split(raw)
    m = _SUBJECT_FIELD.search(head)
    value = m.group(1).strip() if m else b""
    if m is None or b"\n" in m.group(1) or b" " not in value:
        return None
    first, _, rest = value.partition(b" ")
    return head[:m.start()] + b"Subject: " + first + b"\n " + rest + head[m.end():] + blank + body


_DATE = re.compile(rb"(?mi)^date:.*(?:\n[ \t].*)*\n?")


def no_date(raw: bytes) -> bytes | None:
    head, blank, body = _split(raw)
    changed, n = _DATE.subn(b"", head, count=1)
    return changed + blank + body if n else None


def received_top(raw: bytes) -> bytes | None:
    head, blank, body = _split(raw)
    return (b"Received: from relay.example.net (relay.example.net [192.0.2.9])\n"
            b"\tby mx.sender.example with ESMTPS id 4Xyz; Mon, 7 Dec 2026 10:00:00 +0000\n"
            + head + blank + body)


def null_return_path(raw: bytes) -> bytes | None:
    head, blank, body = _split(raw)
    if re.search(rb"(?mi)^return-path:", head):
        return None
    return b"Return-Path: <>\n" + head + blank + body


def relay_headers(raw: bytes) -> bytes | None:
    head, blank, body = _split(raw)
    return (head + b"\nX-Spam-Status: No, score=-0.1 required=5.0"
            b"\nX-Virus-Scanned: clamav-milter 0.103.8 at mx.sender.example"
            b"\nAuthentication-Results: mx.sender.example; spf=none smtp.helo=mx.example"
            + blank + body)


#: The warning a receiving gateway puts on top of mail from outside (Exchange Online's mail
#: flow rules, HCL Domino's external email notifications), wrapped as it often is.
EXTERNAL_BANNER = (b"CAUTION: This email originated from outside of the organization. Do not "
                   b"click links or\nopen attachments unless you recognize the sender and know "
                   b"the content is safe.\n\n")
#: MailScanner's signature (its inline.sig.txt), which it adds to the mail it passes.
SCANNER_FOOTER = (b"\n\n-- \nThis message has been scanned for viruses and\ndangerous content "
                  b"by MailScanner, and is\nbelieved to be clean.\n")


def _notice(raw: bytes) -> tuple[bytes, int, int, int, Message | None] | None:
    """The notice of ``raw``: (the message with LF line ends and no mbox line, the start of
    the notice's header, the start and end of its text, its part): a MIME message's first
    text part in 7bit or 8bit, or the body of one that is not MIME (part None), not a
    multipart or encoded one, nor a body that holds the MIME header its message lost to a
    blank line. None where there is none."""
    raw = _unboxed(raw)
    parts = _text_parts(raw)
    if parts:
        start, at, end, part = parts[0]
        return (raw, start, at, end, part) if _unencoded(part) else None
    at = raw.find(b"\n\n") + 2
    if re.search(rb"(?mi)^(?:content-type:[ \t]*multipart|content-transfer-encoding:[ \t]*"
                 rb"(?:base64|quoted-printable))", raw[:at]) \
            or re.search(rb"(?mi)^(?:mime-version|content-type):", raw[at:]):
        return None
    return raw, 0, at, len(raw), None


def _add_to_notice(raw: bytes, top: bytes, bottom: bytes) -> bytes | None:
    """``top`` before and ``bottom`` after the notice (see _notice), unless it is a JSON
    document, which anything added would break."""
    found = _notice(raw)
    if found is None:
        return None
    raw, _, at, end, _ = found
    if raw[at:end].lstrip().startswith(b"{"):
        return None
    return raw[:at] + top + raw[at:end].rstrip(b"\n") + bottom + raw[end:]


def external_banner(raw: bytes) -> bytes | None:
    return _add_to_notice(raw, EXTERNAL_BANNER, b"\n")


def scanner_footer(raw: bytes) -> bytes | None:
    return _add_to_notice(raw, b"", SCANNER_FOOTER)


def _utf8_notice(raw: bytes, change: Callable[[bytes], bytes]) -> bytes | None:
    """The notice (see _notice) rewritten by ``change`` and declared UTF-8: a part in
    US-ASCII or UTF-8, or the body of a message with no MIME field at all; None where
    ``change`` leaves it as it was."""
    found = _notice(raw)
    if found is None:
        return None
    raw, start, at, end, part = found
    if part is not None and (part.get_content_charset() or "us-ascii").lower() not in (
            "us-ascii", "utf-8"):
        return None
    if part is None and re.search(
            rb"(?mi)^(?:content-type|content-transfer-encoding|mime-version):", raw[:at]):
        return None
    data = change(raw[at:end])
    if data == raw[at:end]:
        return None
    header = raw[start:at]
    if part is not None:
        header, n = re.subn(rb"(?i)charset=\"?us-ascii\"?", b"charset=utf-8", header)
        if not n and not re.search(rb"(?i)charset=\"?utf-8", header):
            if re.search(rb"(?mi)^content-type:", header):
                header = re.sub(rb"(?mi)^(content-type:[^\n]*)", rb"\1; charset=utf-8", header,
                                count=1)
            else:
                header = header[:-1] + b"Content-Type: text/plain; charset=utf-8\n\n"
    else:
        header = (header[:-1] + b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                  b"Content-Transfer-Encoding: 8bit\n\n")
    return raw[:start] + header + data + raw[end:]


def smart_quotes(raw: bytes) -> bytes | None:
    """The notice's apostrophes typographic (U+2019), as a notice written in UTF-8 has them
    ("Your message wasn\u2019t delivered")."""
    return _utf8_notice(raw, lambda data: data.replace(b"'", "\u2019".encode()))


_BETWEEN_WORDS = re.compile(rb"(?<=\w) (?=\w)")


def no_break_spaces(raw: bytes) -> bytes | None:
    """Every second space between two words of the notice a no-break space (U+00A0), as
    text made from HTML has them."""
    def change(data: bytes) -> bytes:
        count = itertools.count()
        return _BETWEEN_WORDS.sub(
            lambda m: "\u00a0".encode() if next(count) % 2 else b" ", data)
    return _utf8_notice(raw, change)


#: RFC 3463 section 3: the title of each subject (the status code's second number).
_SUBJECTS = {b"0": b"Other or Undefined Status", b"1": b"Addressing Status",
             b"2": b"Mailbox Status", b"3": b"Mail System Status",
             b"4": b"Network and Routing Status", b"5": b"Mail Delivery Protocol Status",
             b"6": b"Message Content or Media Status", b"7": b"Security or Policy Status"}
_STATUS_FIELD = re.compile(rb"(?mi)^(status:[ \t]*[245]\.(\d{1,3})\.\d{1,3})[ \t]*$")


def status_comment(raw: bytes) -> bytes | None:
    changed, n = _STATUS_FIELD.subn(
        lambda m: m.group(1) + b" (" + _SUBJECTS.get(m.group(2), b"Status") + b")", _lf(raw))
    return changed if n else None


def mbox_line(raw: bytes) -> bytes | None:
    if raw.startswith(b"From "):
        return None
    return b"From MAILER-DAEMON Mon Dec  7 10:00:00 2026\n" + _lf(raw)


def _unboxed(raw: bytes) -> bytes:
    """``raw`` with LF line ends and no mbox "From " line (see _split)."""
    head, _, body = _split(raw)
    return head + b"\n\n" + body


def _unencoded(part: Message) -> bool:
    """Is the part's body in 7bit or 8bit (no transfer encoding to undo)?"""
    cte = part.get("Content-Transfer-Encoding") or "7bit"
    return cte.strip().lower() in ("7bit", "8bit")


def _text_parts(raw: bytes) -> list[tuple[int, int, int, Message]]:
    """Where the text/plain parts of a MIME message are in ``raw`` (LF line ends, no mbox
    line): (start of the part's header, start and end of its body, the part), reached
    through multipart containers only (a message/* part's body is another message). Found
    in the bytes, so a change rewrites those parts and nothing else: the email package's
    own output would also refold and reorder what it does not touch."""
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    if not msg.is_multipart() and msg.get("MIME-Version") is None:
        return []  # not MIME: a relay has no part to re-encode (masqmail's MIME after a blank)
    found: list[tuple[int, int, int, Message]] = []
    cursor = 0

    def visit(part: Message, top: bool) -> None:
        nonlocal cursor
        if part.get_content_maintype() == "multipart":
            payload = part.get_payload()
            for sub in payload if isinstance(payload, list) else []:
                if isinstance(sub, Message):
                    visit(sub, False)
            return
        body = part.get_payload()
        if part.get_content_type() != "text/plain" or not isinstance(body, str):
            return
        if not body.strip():
            return
        for charset in ("ascii", "utf-8", "latin-1"):  # what the email package decoded
            try:
                data = body.encode(charset, "surrogateescape")
            except UnicodeEncodeError:
                continue
            if data in raw:
                break
        else:
            return
        if top:
            head, at = 0, raw.find(b"\n\n") + 2
        else:
            at = raw.find(data, cursor)
            if at < 0:
                return
            head = raw.find(b"\n", raw.rfind(b"\n--", 0, at) + 1) + 1  # after the boundary
        found.append((head, at, at + len(data), part))
        cursor = at + len(data)

    visit(msg, True)
    return found


def _rewrite_text(raw: bytes, how: str, first_only: bool = False) -> bytes | None:
    """Each text/plain part (``first_only``: the first, of a multipart message) in 7bit or
    8bit rewritten: ``qp`` or ``base64``, its transfer encoding; ``html``, as HTML."""
    raw = _unboxed(raw)
    parts = _text_parts(raw)
    if first_only:
        parts = parts[:1] if parts and parts[0][0] > 0 else []
    pieces: list[bytes] = []
    last = 0
    for head, at, end, part in parts:
        if not _unencoded(part):
            continue
        header, data = raw[head:at], raw[at:end]
        added = b""
        if how == "html":
            text = data.decode(part.get_content_charset() or "latin-1", "replace")
            data = ("<html><body>\n" + "<br>\n".join(
                "&nbsp;" * (len(line) - len(line.lstrip(" "))) + html.escape(line.lstrip(" "))
                for line in text.split("\n")) + "\n</body></html>\n").encode()
            header = re.sub(rb"(?mi)^content-type:.*(?:\n[ \t].*)*\n", b"", header)
            added = b"Content-Type: text/html; charset=utf-8\n"
        else:
            data = quopri.encodestring(data) if how == "qp" else base64.encodebytes(data)
            header = re.sub(rb"(?mi)^content-transfer-encoding:.*\n", b"", header)
            added = b"Content-Transfer-Encoding: " + (
                b"quoted-printable" if how == "qp" else b"base64") + b"\n"
        pieces += [raw[last:head], header[:-1], added, b"\n", data]
        last = end
    return b"".join(pieces) + raw[last:] if pieces else None


def body_qp(raw: bytes) -> bytes | None:
    return _rewrite_text(raw, "qp")


def body_base64(raw: bytes) -> bytes | None:
    return _rewrite_text(raw, "base64")


def html_notice(raw: bytes) -> bytes | None:
    return _rewrite_text(raw, "html", first_only=True)


CHANGES: dict[str, Callable[[bytes], bytes | None]] = {
    "crlf": crlf, "trailing-space": trailing_space, "header-case": header_case,
    "dsn-field-case": dsn_field_case, "subject-tag": subject_tag,
    "angle-recipient": angle_recipient, "forward-attached": forward_attached,
    "forward-inline": forward_inline, "forward-flowed": forward_flowed,
    "subject-encoded": subject_encoded, "subject-folded": subject_folded, "no-date": no_date,
    "received-top": received_top, "null-return-path": null_return_path,
    "relay-headers": relay_headers, "mbox-line": mbox_line, "body-qp": body_qp,
    "body-base64": body_base64, "html-notice": html_notice, "status-comment": status_comment,
    "external-banner": external_banner, "scanner-footer": scanner_footer,
    "smart-quotes": smart_quotes, "no-break-spaces": no_break_spaces,
}


def reading(raw: bytes) -> Reading:
    from bounceloop.parsing import parse

    return sorted((r.recipient.lower(), r.reason) for r in parse(raw).records)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--change", action="append", choices=sorted(CHANGES),
                    help="a change to make (repeatable; default: all)")
    ap.add_argument("--corpus", action="append", type=Path,
                    help="a directory of .eml files (repeatable; default: the project's "
                         "samples and, if present, the shared Sisimai corpus)")
    ap.add_argument("--detail", type=int, default=5, metavar="N",
                    help="moved readings to show per change and corpus (default 5)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    corpora = args.corpus or [*CORPORA, *([SHARED] if SHARED.is_dir() else [])]
    if not args.corpus and not SHARED.is_dir():
        print(f"({SHARED} is not there: the project's samples only)")
    changes = args.change or sorted(CHANGES)
    print(f"{'corpus':<12} {'change':<18} {'messages':>8} {'moved':>6}")
    moved_in_all = 0
    for corpus in corpora:
        files = sorted(corpus.glob("*.eml"))
        before = {f: reading(f.read_bytes()) for f in files}
        for name in changes:
            tried = moved = 0
            shown: list[str] = []
            for f in files:
                changed = CHANGES[name](f.read_bytes())
                if changed is None:
                    continue
                tried += 1
                after = reading(changed)
                if after != before[f]:
                    moved += 1
                    if len(shown) < args.detail:
                        shown.append(f"    {f.name}: {before[f][:2]} -> {after[:2]}")
            moved_in_all += moved
            label = corpus.parent.name if corpus.name == "eml" else corpus.name
            print(f"{label:<12} {name:<18} {tried:>8} {moved:>6}")
            for line in shown:
                print(line)
    print(f"\nreadings moved in all: {moved_in_all}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

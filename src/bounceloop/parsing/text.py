"""Turning the bytes of real bounces into text: charsets, encoded words, HTML.

Bounces are the least standard mail there is: undeclared 8-bit bodies, ISO-2022-JP and
Shift_JIS from Japanese carriers, charset names that do not exist ("unicode-1-1-utf-7",
"x-unknown"), RFC 2047 words split across lines. Everything here returns text and never
raises.
"""

from __future__ import annotations

import codecs
import html
import re
from email.header import decode_header

# Charset labels seen in the wild that Python does not know under that name.
_CHARSET_ALIASES = {
    "x-sjis": "shift_jis",
    "sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "ks_c_5601-1987": "cp949",
    "windows-874": "cp874",
    "x-user-defined": "latin-1",
    "unicode-1-1-utf-7": "utf-7",
    "iso-8859-8-i": "iso-8859-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp-850": "cp850",
    "utf8": "utf-8",
    "ascii": "utf-8",
    "us-ascii": "utf-8",
    "x-unknown": "utf-8",
    "unknown-8bit": "utf-8",
    "default": "utf-8",
}

_known: dict[str, str | None] = {}
#: Labels remembered at most: a label comes from the message, so a worker that reads
#: messages with ever new made-up labels would otherwise remember them all.
_KNOWN_MAX = 1024


def codec_for(charset: str | None) -> str | None:
    """A Python codec name for a MIME charset label, or None when there is none."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    if label in _known:
        return _known[label]
    name: str | None = _CHARSET_ALIASES.get(label, label)
    try:
        codecs.lookup(name or "")
    except (LookupError, ValueError):  # ValueError: a NUL or a lone surrogate in the label
        name = None
    if len(_known) < _KNOWN_MAX:
        _known[label] = name
    return name


def _looks_japanese_jis(data: bytes) -> bool:
    # ISO-2022-JP switches character sets with ESC $ B / ESC $ @ / ESC ( B (RFC 1468).
    return b"\x1b$B" in data or b"\x1b$@" in data or b"\x1b(J" in data


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode a body, trying the declared charset, then UTF-8, then guessing, then Latin-1."""
    if not data:
        return ""
    if data.isascii() and b"\x1b" not in data:
        return data.decode("ascii")
    tried: list[str] = []
    declared = codec_for(charset)
    candidates: list[str] = []
    if declared:
        candidates.append(declared)
    if _looks_japanese_jis(data):
        candidates.append("iso2022_jp")
    candidates += ["utf-8", "shift_jis", "euc_jp", "cp1252"]
    for name in candidates:
        if name in tried:
            continue
        tried.append(name)
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    # A declared charset that is wrong for some bytes: keep what it can read.
    if declared:
        try:
            return data.decode(declared, errors="replace")
        except LookupError:
            pass
    return data.decode("latin-1")


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words in a header value; unfold; never raises."""
    if not value:
        return ""
    value = unfold(value)
    if "=?" not in value:
        return value
    try:
        chunks = decode_header(value)
    except Exception:
        return value
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset))
        else:
            out.append(chunk)
    # decode_header drops the space between an encoded word and plain text on some inputs.
    return "".join(out) if len(chunks) > 1 else out[0]


_FOLD = re.compile(r"\r?\n[ \t]+")


def unfold(value: str) -> str:
    """RFC 5322 section 2.2.3 unfolding: a line break followed by white space is a space."""
    if "\n" not in value:
        return value.strip()
    return _FOLD.sub(" ", value).replace("\r", "").replace("\n", " ").strip()


_TAG = re.compile(r"<(?:script|style)\b.*?</(?:script|style)\s*>|<[^>]*>", re.S | re.I)
_BLOCK = re.compile(r"<\s*(?:br|/p|/div|/tr|/li|/h\d|/table|p|div|tr|li)\b[^>]*>", re.I)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n\s*\n+")


def html_to_text(markup: str) -> str:
    """A plain-text rendering of an HTML body, good enough to find the diagnostic in it."""
    text = _BLOCK.sub("\n", markup)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


_WS = re.compile(r"\s+")


def squeeze(value: str) -> str:
    """Collapse all white space runs to one space and strip."""
    return _WS.sub(" ", value).strip()

"""Turning the bytes of real bounces into text: charsets, encoded words, HTML.

Bounces are the least standard mail there is: undeclared 8-bit bodies, ISO-2022-JP and
Shift_JIS from Japanese carriers, charset names that do not exist ("unicode-1-1-utf-7",
"x-unknown"), RFC 2047 words split across lines. Everything here returns text and never
raises.
"""

from __future__ import annotations

import binascii
import codecs
import re
from collections.abc import Iterator
from email import base64mime, quoprimime
from email.errors import HeaderParseError

from bounceloop.core import rx

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


def decode_header(header: str) -> list[tuple[bytes | str, str | None]]:
    """``email.header.decode_header(header)``: the same result, in time linear in the header.

    The stdlib's takes each encoded word off the front of a list (``pop(0)``), deletes the
    blanks between words one ``del`` at a time and glues a run of words with ``bytes +=``:
    each quadratic in the number of encoded words. It is written again here with its steps
    and their order kept, word by word: only the bookkeeping differs.
    """
    if next(_encoded_words(header), None) is None:
        return [(header, None)]
    collapsed: list[tuple[bytes | str, str | None]] = []
    run: list[bytes] = []  # the words of one charset in a row, glued when the run ends
    run_charset: str | None = None
    # White space between two encoded words is dropped (the three words as written, drops
    # or not): a word is given on once the word after next has shown that it is not.
    held: list[tuple[tuple[str, str | None, str | None], bool]] = []  # (word, dropped)
    for word in _header_words(header):
        if len(held) == 2:
            (before, dropped), (between, _) = held
            if word[1] and before[1] and between[0].isspace():
                held[1] = (between, True)
            if not dropped:
                run_charset = _collapse(before, run, run_charset, collapsed)
            del held[0]
        held.append((word, False))
    for word, dropped in held:
        if not dropped:
            run_charset = _collapse(word, run, run_charset, collapsed)
    collapsed.append(((b" " if run_charset is None else b"").join(run), run_charset))
    return collapsed


def _header_words(header: str) -> Iterator[tuple[str, str | None, str | None]]:
    """(text, encoding, charset) of each part of a header: encoding and charset are None
    for plain text (lowercased for encoded words)."""
    for line in header.splitlines():
        first, pos = True, 0
        for start, end, label, kind, encoded in _encoded_words(line):
            plain = line[pos:start]
            if first:
                plain, first = plain.lstrip(), False
            if plain:
                yield plain, None, None
            yield encoded, kind.lower(), label.lower()
            pos = end
        plain = line[pos:].lstrip() if first else line[pos:]
        if plain:
            yield plain, None, None


def _collapse(word: tuple[str, str | None, str | None], run: list[bytes],
              run_charset: str | None, collapsed: list[tuple[bytes | str, str | None]]
              ) -> str | None:
    """Decode a word into ``run``, first closing the run into ``collapsed`` when the charset
    changes (plain words are glued with a space, encoded ones without). Returns the run's
    charset."""
    text, encoding, charset = word
    data: bytes | str
    if encoding is None:
        data = text
    elif encoding == "q":
        data = quoprimime.header_decode(text)
    else:
        if len(text) % 4:
            text += "==="[:4 - len(text) % 4]  # Postel's law: add missing padding
        try:
            data = base64mime.decode(text)
        except binascii.Error:
            raise HeaderParseError("Base64 decoding error") from None
    if run and charset != run_charset:
        collapsed.append(((b" " if run_charset is None else b"").join(run), run_charset))
        run.clear()
    run.append(bytes(data, "raw-unicode-escape") if isinstance(data, str) else data)
    return charset


def _encoded_words(text: str) -> Iterator[tuple[int, int, str, str, str]]:
    """(start, end, charset, encoding, encoded text) of each encoded word, as the stdlib's
    pattern ``=\\?([^?]*?)\\?([qQbB])\\?(.*?)\\?=`` finds them one after another.

    The charset runs to the first "?" and the text to the first "?=" (not past a line
    break). That pattern read from every "=?" to the end of its line when no "?=" followed
    (quadratic); the next "?=" and line break are found once, and again only when passed.
    """
    pos, closing, newline = 0, -2, -2
    while (start := text.find("=?", pos)) >= 0:
        mark = text.find("?", start + 2)
        if mark < 0:
            return  # every later "=?" has a "?" after it: none is left
        if text[mark + 1:mark + 2] in ("q", "Q", "b", "B") and text[mark + 2:mark + 3] == "?":
            # -1: none after where it was looked for, so none after this either.
            if closing != -1 and closing < mark + 3:
                closing = text.find("?=", mark + 3)
            if newline != -1 and newline < mark + 3:
                newline = text.find("\n", mark + 3)
            if closing >= 0 and (newline < 0 or closing < newline):
                yield (start, closing + 2, text[start + 2:mark], text[mark + 1],
                       text[mark + 3:closing])
                pos = closing + 2
                continue
        pos = start + 1


_FOLD = rx.compile(r"\r?\n[ \t]+")


def unfold(value: str) -> str:
    """RFC 5322 section 2.2.3 unfolding: a line break followed by white space is a space."""
    if "\n" not in value:
        return value.strip()
    return _FOLD.sub(" ", value).replace("\r", "").replace("\n", " ").strip()


_TAG = rx.compile(r"<(?:script|style)\b.*?</(?:script|style)\s*>|<[^>]*>", re.S | re.I)
_CLOSING = rx.compile(r"</(?:script|style)\s*>", re.I)
_ANGLE = rx.compile(r"<[^>]*>")
_BLOCK = rx.compile(r"<\s*(?:br|/p|/div|/tr|/li|/h\d|/table|p|div|tr|li|pre|/pre|hr)\b[^>]*>",
                    re.I)
_PRE = rx.compile(r"<\s*(/?)pre\b[^>]*>", re.I)
_LEAD = rx.compile(r"^[ \t\u00a0]+", re.M)
_SPACES = rx.compile(r"[ \t\u00a0]+")
_BLANKS = rx.compile(r"\n\s*\n+")
_LEADING_BLANKS = rx.compile(r"\A(?:[ \t]*\n)+")


def html_to_text(markup: str) -> str:
    """A plain-text rendering of an HTML body, good enough to find the diagnostic in it."""
    # Every tag ends with ">": none starts after the last one. A "<br" with no ">" after it
    # would read on to the end of the text and fail, for every such "<" (quadratic).
    end = markup.rfind(">") + 1
    if _BLOCK.search(markup, 0, end):
        markup = _line_ends_as_spaces(markup)
        end = markup.rfind(">") + 1
    text = _BLOCK.sub("\n", markup[:end]) + markup[end:]
    text = _strip_tags(text)
    import html  # with html.entities: imported for HTML parts only

    text = html.unescape(text)
    # A line's indentation in no-break spaces is shown, as a browser shows it: notices
    # written as HTML indent an address and the reply under it so (the layout that
    # line-based readers of Exim's and Sendmail's notices follow). Marked with NULs while
    # the runs of white space are made one space, then spaces again.
    text = _SPACES.sub(" ", _LEAD.sub(_indentation, text))
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines).replace("\0", " ")
    # Blank lines before the first are dropped, not the first line's indentation.
    return _LEADING_BLANKS.sub("", _BLANKS.sub("\n\n", text)).rstrip()


def _indentation(lead: re.Match[str]) -> str:
    return "\0" * lead.group().count("\u00a0")


def _line_ends_as_spaces(markup: str) -> str:
    """Line ends in HTML markup are white space, as a browser shows them (HTML 4.01 9.1:
    "line breaks ... are white space"; the CSS ``white-space: normal`` of every element but
    ``pre``): a notice written ``line<br>\\n`` is one line break, not a blank line between
    every two lines, and a sentence wrapped in the source is one sentence. Inside ``pre``
    they are kept. Markup with no block tag at all is left alone: that is text sent as
    text/html, and its line ends are all the lines it has."""
    out: list[str] = []
    pos = 0
    pre = False
    # Up to the last ">" only: a "<pre" with none after it would read to the end for each.
    for m in _PRE.finditer(markup, 0, markup.rfind(">") + 1):
        chunk = markup[pos:m.start()]
        out += [chunk if pre else _spaced(chunk), m.group()]
        pos = m.end()
        pre = not m.group(1)
    rest = markup[pos:]
    out.append(rest if pre else _spaced(rest))
    return "".join(out)


def _spaced(chunk: str) -> str:
    return chunk.replace("\r\n", " ").replace("\n", " ")


def _strip_tags(text: str) -> str:
    """``_TAG.sub("", text)`` in linear time.

    A "<script" with no closing tag after it reads to the end of the text before it is taken
    as a plain tag: quadratic with many of them. After the last closing tag no script or
    style block can match, and after the last ">" no tag at all; no match crosses either
    point, since both follow a ">".
    """
    closing = 0
    for m in _CLOSING.finditer(text):
        closing = m.end()
    end = text.rfind(">") + 1
    return _TAG.sub("", text[:closing]) + _ANGLE.sub("", text[closing:end]) + text[end:]


_WS = rx.compile(r"\s+")


def squeeze(value: str) -> str:
    """Collapse all white space runs to one space and strip."""
    return _WS.sub(" ", value).strip()


def unflow(text: str, delsp: bool = False) -> str:
    """The text of a format=flowed body as its lines were written (RFC 3676 section 4): a
    line that ends in a space is a soft break, joined to the next line of the same quote
    depth (its trailing space deleted with ``delsp``, section 4.2); the space a sender
    stuffs before a line that begins with a space, ">" or "From " is taken off (4.4); the
    signature separator "-- " stays a line of its own (4.3). Mail clients that wrap what
    their user forwards inline (Thunderbird at 72 columns by default) send it so: read as
    fixed lines, a reply split in the middle would be two."""
    out: list[str] = []
    pieces: list[str] = []
    depth = -1
    for line in text.split("\n"):
        line = line.rstrip("\r")
        content = line.lstrip(">")
        quotes = len(line) - len(content)
        if content.startswith(" "):
            content = content[1:]  # stuffed, or the space after the quote marks
        if pieces and quotes != depth:
            # A soft break before a line of another depth: the paragraph ends there.
            out.append(_quoted(depth, "".join(pieces)))
            pieces = []
        depth = quotes
        soft = content.endswith(" ") and content != "-- "
        pieces.append(content[:-1] if soft and delsp else content)
        if not soft:
            out.append(_quoted(depth, "".join(pieces)))
            pieces = []
    if pieces:
        out.append(_quoted(depth, "".join(pieces)))
    return "\n".join(out)


def _quoted(depth: int, text: str) -> str:
    return (">" * depth + " " + text) if depth > 0 else text

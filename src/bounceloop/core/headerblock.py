"""Whether bytes given to be sent are a message: header fields first (RFC 5322 2.1).

A message is header fields, then optionally a blank line and a body. Each field is a name
of printable US-ASCII other than ``:``, a colon and a value (RFC 5322 2.2, 3.6.8), and may
be folded onto following lines that begin with a space or tab (2.2.3). The obsolete syntax
allows white space between the name and the colon (4.5). A file of plain text, an empty
file or binary data has no such block; sent, its first lines would be read as broken
header fields by every server and client on the way. So ``bounceloop send --mime`` and
``POST /api/v1/messages`` refuse it with :func:`problem`'s reason.

Only the header block is read: the body is the sender's business (and may be large).
"""

from __future__ import annotations

#: Bytes a field name may hold: US-ASCII 33-126 except the colon (RFC 5322 3.6.8, ftext).
_NAME = frozenset(range(33, 127)) - {ord(":")}
_WSP = b" \t"
_SHOWN = 40
_NOT = "not a MIME message"


def problem(data: bytes) -> str | None:
    """Why ``data`` is not a message with a header block, or None when it is one."""
    if not data.strip():
        return "the message is empty"
    fields = 0
    start = 0
    number = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        line = data[start:end].removesuffix(b"\r")
        number += 1
        start = end + 1
        if not line:
            if fields:
                return None  # the blank line after the header block
            return (f"{_NOT}: it begins with a blank line, no header fields before the "
                    "body (RFC 5322 2.1)")
        if line[:1] in (b" ", b"\t"):
            if fields:
                continue  # a folded field goes on (RFC 5322 2.2.3)
            return (f"{_NOT}: line {number} begins with white space, but no header field "
                    f"comes before it: {_shown(line)}")
        if not _is_field(line):
            unended = " and no blank line ends the header fields before it" if fields else ""
            return (f'{_NOT}: line {number} is not a header field ("Name: value", RFC 5322 '
                    f"2.2){unended}: {_shown(line)}")
        fields += 1
    return None  # header fields only: a message may have no body (RFC 5322 3.5)


def _is_field(line: bytes) -> bool:
    name, colon, _ = line.partition(b":")
    name = name.rstrip(_WSP)
    return bool(colon) and bool(name) and all(b in _NAME for b in name)


def _shown(line: bytes) -> str:
    text = line[:_SHOWN].decode("utf-8", "replace")
    return repr(text + ("..." if len(line) > _SHOWN else ""))

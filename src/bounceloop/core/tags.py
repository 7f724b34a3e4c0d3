"""HMAC-SHA256 tags in lower-case base32, as the VERP envelope (core.verp) and the signed
references (core.signed) write them: the first ``length`` characters of the RFC 4648
base32 encoding of the MAC (``base64.b32encode(mac).decode().lower()[:length]``).

Each message sent is signed twice (its envelope when queued, its token when sent), so this
is on the delivery path: ``hmac.new`` derives the two padded keys again on every call, and
``base64.b32encode`` is pure Python in CPython 3.11 (base64._b32encode). Here the keyed
HMAC is made once per secret and copied per message, and the first 80 bits are encoded
through a table of two-character pairs. tests/core/test_tags.py ties the result to the
standard library's spelling.

The one-shot ``hmac.digest`` is not used: CPython lets go of the GIL around OpenSSL's
call whatever the length (Modules/_hashopenssl.c, _hashlib_hmac_singleshot), so the
delivery loop, which signs every message it sends, would wait up to a switch interval
(5 ms) for the database thread after each one; an HMAC object keeps the GIL for data this
short.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
#: Ten bits -> their two base32 characters.
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)
#: The longest tag this encodes: 16 characters hold the first 80 bits of the MAC.
MAX_LENGTH = 16


@functools.lru_cache(maxsize=16)
def _keyed(secret: str) -> hmac.HMAC:
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def tag(secret: str, data: bytes, length: int) -> str:
    """The first ``length`` (at most 16) base32 characters of HMAC-SHA256(secret, data)."""
    if not 0 < length <= MAX_LENGTH:
        raise ValueError(f"a tag has 1 to {MAX_LENGTH} characters, not {length}")
    mac = _keyed(secret).copy()
    mac.update(data)
    n = int.from_bytes(mac.digest()[:10], "big")
    p = _PAIRS
    text = (p[n >> 70] + p[(n >> 60) & 1023] + p[(n >> 50) & 1023] + p[(n >> 40) & 1023]
            + p[(n >> 30) & 1023] + p[(n >> 20) & 1023] + p[(n >> 10) & 1023]
            + p[n & 1023])
    return text[:length]


__all__ = ["MAX_LENGTH", "tag"]

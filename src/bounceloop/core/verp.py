"""VERP envelopes: one return address per message, that names the message and cannot be forged.

Every message is sent with its own envelope sender (RFC 5321 MAIL FROM) at the bounce
domain, so a bounce is tied to its message by the address it comes back to, without parsing
anything in it (the spec's "envelope rewriting")::

    b-3f9c2a7e51d04b18-kq7vzd2m@bounces.example.org
      ^ message id        ^ tag: 8 base32 characters of HMAC-SHA256(secret, id)

The tag makes a forged or mistyped address detectable: mail to a made-up id is not our
bounce. Local parts are case-insensitive in practice (some relays lower-case them), so the
token uses only lower-case hex and base32.
"""

from __future__ import annotations

import hmac
import re

from bounceloop.core import tags

PREFIX = "b-"
TAG_LENGTH = 8
_TOKEN = re.compile(r"^b-([0-9a-f]{8,40})-([a-z2-7]{8})$")


def tag(message_id: str, secret: str) -> str:
    return tags.tag(secret, message_id.encode(), TAG_LENGTH)


def encode(message_id: str, domain: str, secret: str) -> str:
    """The envelope address of a message."""
    return f"{PREFIX}{message_id}-{tag(message_id, secret)}@{domain}"


def decode(address: str, domain: str, secret: str) -> str | None:
    """The message id an envelope address names, or None when it is not a valid one of ours."""
    local, _, host = address.strip().strip("<>").rpartition("@")
    if host.lower() != domain.lower():
        return None
    m = _TOKEN.match(local.lower())
    if m is None:
        return None
    message_id, mac = m.group(1), m.group(2)
    if not hmac.compare_digest(mac, tag(message_id, secret)):
        return None
    return message_id

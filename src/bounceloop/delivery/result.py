"""The outcome of one step of a delivery attempt: what every adapter returns, never raises.

A :class:`StepResult` names the SMTP state where the attempt ended, what happened (a reply,
a timeout, a refused connection, ...), and the reply's code and text. Errors we detect
ourselves get the fixed RFC 3463 codes the spec chooses (section 4.8)::

    NXDOMAIN / no mail host        5.1.2      null MX (RFC 7505)      5.1.10
    DNS failure or timeout         4.4.3      unroutable MX hosts     5.4.4
    connection failed              4.4.1      private address         5.4.4
    timeout / lost connection      4.4.2      garbage reply           4.5.0
    TLS handshake failed           4.7.0      expired                 4.4.7
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bounceloop.core.errortypes import errortype, step_of
from bounceloop.core.frozen import by_fields
from bounceloop.core.status import find_enhanced

#: Longest description kept: a reply is at most 512 octets a line (RFC 5321 4.5.3.1.5), but
#: multi-line replies and garbage can be longer.
MAX_DESCRIPTION = 2000
#: C0 and C1 control characters but tab, LF and CR (whitespace, collapsed below); C1 ones
#: (U+0080-U+009F) include the 8-bit CSI that terminals honour.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """A peer's text made safe to store and show: control characters (NUL included, which
    PostgreSQL text refuses) and lone surrogates escaped, whitespace runs as one space,
    the length bounded."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    # Undecodable bytes kept as lone surrogates cannot be stored as UTF-8 either.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = " ".join(text.split())
    return text if len(text) <= MAX_DESCRIPTION else text[:MAX_DESCRIPTION - 3] + "..."


#: Results with no reply code that are worth another try.
_TRANSIENT_RESULTS = frozenset({"timeout", "refused", "lost", "invalid", "tls", "indoubt"})


@dataclass(frozen=True, slots=True)
class StepResult:
    state: str
    result: str
    code: str = ""
    extended: str = ""
    description: str = ""
    mx: str = ""
    ip: str = ""

    def __post_init__(self) -> None:
        # Descriptions quote what peers sent; every adapter's text passes through here.
        object.__setattr__(self, "description", printable(self.description))

    @classmethod
    def reply(cls, state: str, code: int | str, text: str, mx: str = "",
              ip: str = "") -> StepResult:
        """A server's reply. The enhanced code is read from the text (RFC 2034: it opens
        each line); none is invented from the basic code."""
        code = str(code)
        text = " ".join(text.split())
        extended = find_enhanced(text, code[:1]) if text else ""
        result = "accepted" if code[:1] == "2" else "error"
        description = f"{code} {text}".strip() if text else code
        return cls(state, result, code, extended, description, mx, ip)

    @property
    def step(self) -> int:
        return step_of(self.state)

    @property
    def ok(self) -> bool:
        return self.result == "accepted"

    @property
    def permanent(self) -> bool:
        """A failure that no retry will cure: a 5xx reply (the enhanced code decides when
        it contradicts the reply, RFC 3463), or a 5.x.x verdict of ours."""
        first = (self.extended or self.code)[:1]
        if first:
            return first == "5"
        return self.result not in _TRANSIENT_RESULTS

    @property
    def errortype(self) -> str:
        return errortype(self.state, self.result, self.code)

    def at(self, mx: str, ip: str) -> StepResult:
        return replace(self, mx=mx, ip=ip)

    __reduce__ = by_fields  # to the delivery database process (core.frozen)

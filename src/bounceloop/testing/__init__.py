"""Loopback fakes for testing mail delivery for real, shipped like ``aiosmtpd.testing``.

* :class:`FakeDNS`: a DNS server on 127.0.0.1 answering from a zone the test writes;
* :class:`FakeMX`: an aiosmtpd SMTP server with scripted failures, stalls, STARTTLS and DSN,
  recording what it accepts; :func:`spawn_mx` runs one in its own process;
* :class:`ScriptedPeer`: a raw TCP server playing a fixed, possibly broken, SMTP dialogue;
* :func:`free_port`, :func:`closed_port`, :func:`blackhole_port`: ports that refuse or
  time out;
* :func:`tls_contexts`: server and client SSL contexts from a throwaway CA;
* :class:`Receiver`: an HTTP server taking webhook calls, answering as the test says.

Names are loaded on first use, so ``python -m bounceloop.testing.mx`` does not find its
module already imported by this package, and importing the ports helpers does not pull in
aiosmtpd or dnspython.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bounceloop.testing.dns import FakeDNS, Zone, ZoneValue
    from bounceloop.testing.mx import (
        FakeMX,
        MXProcess,
        ReceivedMessage,
        rcpt_reply_for,
        read_records,
        spawn_mx,
    )
    from bounceloop.testing.peer import PeerSession, ScriptedPeer, Step
    from bounceloop.testing.ports import blackhole_port, closed_port, free_port
    from bounceloop.testing.receiver import Received, Receiver
    from bounceloop.testing.tls import TLSContexts, tls_contexts

__all__ = [
    "FakeDNS",
    "FakeMX",
    "MXProcess",
    "PeerSession",
    "Received",
    "ReceivedMessage",
    "Receiver",
    "ScriptedPeer",
    "Step",
    "TLSContexts",
    "Zone",
    "ZoneValue",
    "blackhole_port",
    "closed_port",
    "free_port",
    "rcpt_reply_for",
    "read_records",
    "spawn_mx",
    "tls_contexts",
]

_HOMES = {
    "FakeDNS": "dns", "Zone": "dns", "ZoneValue": "dns",
    "FakeMX": "mx", "MXProcess": "mx", "ReceivedMessage": "mx", "rcpt_reply_for": "mx",
    "read_records": "mx", "spawn_mx": "mx",
    "PeerSession": "peer", "ScriptedPeer": "peer", "Step": "peer",
    "blackhole_port": "ports", "closed_port": "ports", "free_port": "ports",
    "TLSContexts": "tls", "tls_contexts": "tls",
    "Received": "receiver", "Receiver": "receiver",
}


def __getattr__(name: str) -> Any:
    """PEP 562: import the defining module when a public name is first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

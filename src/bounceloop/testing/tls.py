"""Certificates for STARTTLS tests, from a throwaway CA (trustme).

Opportunistic and enforced TLS (step 3) are tested against FakeMX with a real handshake:
a server context holding a certificate for the names given, and a client context that
trusts only the throwaway CA. A certificate for the wrong name gives the genuine
``ssl.SSLCertVerificationError`` the delivery engine must handle.

trustme is a test dependency (the ``test`` extra), not a runtime one, so it is imported
only when a pair is made.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

__all__ = ["TLSContexts", "tls_contexts"]


@dataclass(frozen=True)
class TLSContexts:
    """A server context (give it to ``FakeMX(tls_context=...)``), a client context that
    trusts the CA, and the ``trustme.CA`` itself for anything else."""

    server: ssl.SSLContext
    client: ssl.SSLContext
    ca: Any


def tls_contexts(*names: str) -> TLSContexts:
    """Contexts for a certificate valid for ``names`` (default ``mx.test``, 127.0.0.1)."""
    import trustme  # a test-only dependency: imported on use

    ca = trustme.CA()
    cert = ca.issue_cert(*(names or ("mx.test", "127.0.0.1")))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(client)
    return TLSContexts(server=server, client=client, ca=ca)

"""Feedback loops the operator trusts: a complaint signed by one of their domains (DKIM).

Most feedback loops return the copy they complain about, and our signed header in it ties
the report (inbound.correlate). Some strip or redact that copy; for those, an operator who
has a feedback-loop agreement with a mailbox provider may name the provider's signing
domains (``BOUNCELOOP_TRUSTED_FEEDBACK_DOMAINS``). A complaint then ties by the address it
names - to the latest message we sent there - when, and only when, a DKIM signature on the
report itself verifies (RFC 6376, with dkimpy) for one of those domains or a subdomain of
one. Verification needs the signer's public key from DNS (``<selector>._domainkey.<d>``),
asked of the resolver the sender uses (``BOUNCELOOP_DNS_SERVERS``). Off unless set: a
report is then just a claim.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import dkim
import dns.exception
import dns.rdatatype
import dns.resolver

log = logging.getLogger(__name__)

#: DKIM-Signature fields of one report that are tried: a relay may add its own signatures,
#: and each costs a DNS look-up and an RSA verification.
MAX_SIGNATURES = 4


class FeedbackTrust:
    """Which trusted domain, if any, signed a report (:meth:`signer`)."""

    def __init__(self, domains: Iterable[str], servers: Sequence[tuple[str, int]] = (),
                 timeout: float = 5.0) -> None:
        self.domains = tuple(d.strip().lower().rstrip(".") for d in domains if d.strip())
        self.timeout = timeout
        self._resolver = dns.resolver.Resolver(configure=not servers)
        if servers:
            self._resolver.nameservers = [host for host, _ in servers]
            self._resolver.nameserver_ports = dict(servers)
        self._resolver.lifetime = timeout

    def trusted(self, domain: str) -> bool:
        d = domain.lower().rstrip(".")
        return any(d == t or d.endswith("." + t) for t in self.domains)

    def _txt(self, name: bytes, timeout: float = 5.0) -> bytes | None:
        """dkimpy's DNS look-up, through our resolver."""
        try:
            answer = self._resolver.resolve(name.decode("ascii", "replace"),
                                            dns.rdatatype.TXT, raise_on_no_answer=False,
                                            lifetime=min(timeout, self.timeout))
        except (dns.exception.DNSException, UnicodeError):
            return None
        for rrset in answer.response.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(next(iter(rrset)).strings)
        return None

    def signer(self, raw: bytes) -> str:
        """The trusted domain (the signature's ``d=``) of the first signature on ``raw``
        that verifies, or "" (none does, or none is of a trusted domain)."""
        if not self.domains:
            return ""
        try:
            checker = dkim.DKIM(raw, timeout=int(self.timeout) or 1)
            count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
            for idx in range(min(count, MAX_SIGNATURES)):
                # The d= is read before the key is fetched: an untrusted domain costs no
                # DNS look-up.
                prep = checker.verify_headerprep(idx)
                if not prep or not self.trusted(prep[0][b"d"].decode("ascii", "replace")):
                    continue
                if checker.verify(idx, dnsfunc=self._txt):
                    return str(checker.domain.decode("ascii", "replace")).lower()
        except Exception as exc:  # dkimpy raises many kinds on broken input: none is ours
            log.info("a complaint's DKIM signature could not be checked: %s", exc)
        return ""

"""Step 1: from a recipient domain to the addresses to connect to (RFC 5321 section 5.1).

    MX records, by preference (equal preferences shuffled)    -> each host's A and AAAA
    no MX records (NODATA)                                    -> the domain itself ("implicit MX")
    a null MX "0 ." (RFC 7505)                                -> permanent 5.1.10, no mail at all
    NXDOMAIN                                                  -> permanent 5.1.2
    SERVFAIL, REFUSED, timeout                                -> temporary 4.4.3, try again later
    MX hosts that do not resolve                              -> skipped; none left: 5.4.4
    private, loopback or reserved addresses                   -> refused (5.4.4, errortype
                                                                 privateiprange) unless inside
                                                                 BOUNCELOOP_ALLOWED_TARGET_NETWORKS

With a smarthost configured, everything goes there instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from bounceloop.config import Settings, host_port
from bounceloop.core.network import forbidden, is_ip, networks
from bounceloop.delivery.result import StepResult


@dataclass(frozen=True, slots=True)
class Target:
    """One address to try: the MX host name (for EHLO/SNI and the record) and its IP."""

    mx: str
    ip: str
    port: int
    preference: int = 0


class Resolver:
    """MX routing with dnspython; DNS failures become :class:`StepResult`, never exceptions."""

    def __init__(self, settings: Settings, rng: random.Random | None = None) -> None:
        servers = settings.dns_server_addresses
        self._dns = dns.asyncresolver.Resolver(configure=not servers)
        if servers:
            self._dns.nameservers = [dns.nameserver.Do53Nameserver(h, p) for h, p in servers]
        self._dns.lifetime = settings.dns_timeout
        self._dns.timeout = settings.dns_timeout
        self._port = settings.mx_port
        self._smarthost = settings.smarthost
        self._allowed = networks(settings.allowed_target_networks)
        self._rng = rng or random.Random()

    async def route(self, domain: str) -> list[Target] | StepResult:
        """The targets for ``domain`` in the order to try them, or why there are none."""
        if self._smarthost:
            host, port = host_port(self._smarthost, 25)
            ips = [host] if is_ip(host) else await self.addresses(host)
            if isinstance(ips, StepResult):
                return ips
            return [Target(host, ip, port) for ip in ips]
        domain = domain.rstrip(".").lower()
        try:
            answer = await self._dns.resolve(domain, "MX", search=False)
            records = sorted(answer, key=lambda r: r.preference)
        except dns.resolver.NXDOMAIN:
            return StepResult("dns", "error", "", "5.1.2", f"{domain}: domain does not exist "
                              "(NXDOMAIN)")
        except dns.resolver.NoAnswer:
            records = []
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
            return _temporary(domain, "MX", exc)
        except dns.exception.DNSException as exc:
            return _temporary(domain, "MX", exc)
        hosts: list[tuple[int, str]]
        if not records:
            hosts = [(0, domain)]  # RFC 5321 5.1: the implicit MX
        else:
            if any(r.exchange.to_text() == "." for r in records):
                # RFC 7505 section 3: a null MX says the domain accepts no mail at all.
                return StepResult("dns", "error", "", "5.1.10",
                                  f"{domain}: null MX, the domain accepts no mail (RFC 7505)")
            hosts = self._ordered([(r.preference, r.exchange.to_text().rstrip("."))
                                   for r in records])
        targets: list[Target] = []
        temporary: StepResult | None = None
        private: list[str] = []
        for preference, host in hosts:
            ips = await self.addresses(host)
            if isinstance(ips, StepResult):
                temporary = temporary or ips  # only temporary failures come back
                continue
            for ip in ips:
                if self._forbidden(ip):
                    private.append(f"{host}[{ip}]")
                    continue
                targets.append(Target(host, ip, self._port, preference))
        if targets:
            return targets
        if private:
            return StepResult("dns", "private", "", "5.4.4",
                              f"{domain}: mail hosts resolve to private or reserved addresses "
                              f"({', '.join(private[:4])})")
        if temporary is not None:
            return temporary
        return StepResult("dns", "error", "", "5.4.4",
                          f"{domain}: no address for its mail hosts "
                          f"({', '.join(h for _, h in hosts[:4])})")

    def _ordered(self, hosts: list[tuple[int, str]]) -> list[tuple[int, str]]:
        # RFC 5321 5.1: lowest preference first; among equals, spread the load at random.
        out: list[tuple[int, str]] = []
        for pref in sorted({p for p, _ in hosts}):
            same = [h for h in hosts if h[0] == pref]
            self._rng.shuffle(same)
            out += same
        return out

    async def addresses(self, host: str) -> list[str] | StepResult:
        """A then AAAA addresses of a host; NXDOMAIN/NODATA for both -> empty list."""
        ips: list[str] = []
        failure: StepResult | None = None
        for rdtype in ("A", "AAAA"):
            try:
                answer = await self._dns.resolve(host, rdtype, search=False)
                ips += [r.to_text() for r in answer]
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            except dns.exception.DNSException as exc:
                failure = failure or _temporary(host, rdtype, exc)
        if not ips and failure is not None:
            return failure
        return ips

    def _forbidden(self, ip: str) -> bool:
        return forbidden(ip, self._allowed)


def _temporary(name: str, rdtype: str, exc: Exception) -> StepResult:
    kind = "timeout" if isinstance(exc, dns.exception.Timeout) else "error"
    what = "timed out" if kind == "timeout" else (
        "no server could answer (SERVFAIL or REFUSED)"
        if isinstance(exc, dns.resolver.NoNameservers) else type(exc).__name__)
    return StepResult("dns", kind, "", "4.4.3", f"{name} {rdtype} lookup {what}")


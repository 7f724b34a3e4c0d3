"""FakeDNS: a real DNS server on 127.0.0.1, answering from a zone the test writes.

Step 1 of a delivery (finding the MX) fails in ways a resolver reports differently:
NXDOMAIN (hard: no such domain), NODATA (no MX: fall back to the A record, RFC 5321
section 5.1), a null MX (RFC 7505: the domain takes no mail), SERVFAIL (soft: try later)
and silence (soft: timeout). The sender is tested against a server that speaks the
protocol on a loopback socket, so dnspython's own parsing, retry and timeout logic runs
exactly as in production; only the data is made up.

The server runs in the caller's event loop (no thread), answers UDP and, on the same port
number, TCP (for truncated answers), and reads the zone at every query, so a test can turn a
SERVFAIL into an answer between two delivery attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Final, Literal, TypeAlias, cast

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rrset

from bounceloop.testing.lifecycle import Served

__all__ = ["FakeDNS", "Status", "Zone", "ZoneValue"]

#: What a zone entry can say instead of records.
Status: TypeAlias = Literal["NXDOMAIN", "SERVFAIL", "REFUSED", "DROP"]
#: Records in zone-file presentation format (``"10 mx1.example.org."``,
#: ``'"v=spf1 -all"'``), or a status. An empty list is NOERROR with no records (NODATA).
ZoneValue: TypeAlias = Sequence[str] | Status

_STATUSES: Final = frozenset({"NXDOMAIN", "SERVFAIL", "REFUSED", "DROP"})
_RCODES: Final = {
    "NXDOMAIN": dns.rcode.NXDOMAIN,
    "SERVFAIL": dns.rcode.SERVFAIL,
    "REFUSED": dns.rcode.REFUSED,
}
#: How many CNAMEs the server follows inside its own zone before answering with what it has
#: (a loop guard; real recursive servers stop around 8-16 as well).
_MAX_CHAIN: Final = 8
#: RFC 1035 section 4.2.1: a UDP answer to a query without EDNS is at most 512 octets.
_CLASSIC_UDP_SIZE: Final = 512

_Key: TypeAlias = tuple[dns.name.Name, dns.rdatatype.RdataType]
#: What Zone and FakeDNS take: Mapping's key type is invariant, so a dict literal keyed by
#: ``(str, str)`` must be accepted as such, not only as ``(str, str | int)``.
_Entries: TypeAlias = (
    Mapping[tuple[str, str], ZoneValue]
    | Mapping[tuple[str, int], ZoneValue]
    | Mapping[tuple[str, str | int], ZoneValue]
)


def _name(name: str | dns.name.Name) -> dns.name.Name:
    # from_text makes "example.org" and "example.org." the same absolute name; Name equality
    # and hashing ignore case, as DNS does (RFC 4343).
    return name if isinstance(name, dns.name.Name) else dns.name.from_text(name)


def _rdtype(rdtype: str | int) -> dns.rdatatype.RdataType:
    if isinstance(rdtype, str):
        return dns.rdatatype.from_text(rdtype.upper())
    return dns.rdatatype.RdataType.make(rdtype)


class Zone(MutableMapping[tuple[str, str | int], ZoneValue]):
    """The data FakeDNS answers from: ``(name, rdtype) -> records | status``.

    Names are case-insensitive, with or without the trailing dot; types are names
    (``"MX"``, ``"aaaa"``) or numbers. Record texts are parsed when set, so a typo fails
    in the test that wrote it and not as a puzzling answer later. The type ``"ANY"`` is a
    wildcard: it answers every type of that name that has no entry of its own (handy for
    ``"SERVFAIL"`` or ``"DROP"`` on a whole name).

    A name is *present* when it has an entry other than ``"NXDOMAIN"``; a query for a type
    a present name lacks gets NOERROR with an empty answer (NODATA), a query for an absent
    name gets NXDOMAIN. A ``CNAME`` entry is followed inside the zone for other types.
    """

    def __init__(self, entries: _Entries | None = None, *, ttl: int = 300) -> None:
        self.ttl = ttl
        self._values: dict[_Key, tuple[ZoneValue, dns.rrset.RRset | None]] = {}
        for key, value in (entries or {}).items():
            self[key] = value

    def _key(self, key: tuple[str, str | int]) -> _Key:
        name, rdtype = key
        return _name(name), _rdtype(rdtype)

    def __getitem__(self, key: tuple[str, str | int]) -> ZoneValue:
        return self._values[self._key(key)][0]

    def __setitem__(self, key: tuple[str, str | int], value: ZoneValue) -> None:
        name, rdtype = self._key(key)
        if isinstance(value, str):
            if value not in _STATUSES:
                raise ValueError(
                    f"zone value {value!r}: want a list of records or one of {sorted(_STATUSES)}"
                )
            self._values[name, rdtype] = (value, None)
            return
        texts = list(value)
        if rdtype == dns.rdatatype.ANY and texts:
            raise ValueError("records cannot be given for type ANY, only a status")
        rrset = dns.rrset.from_text_list(name, self.ttl, dns.rdataclass.IN, rdtype, texts)
        self._values[name, rdtype] = (texts, rrset)

    def __delitem__(self, key: tuple[str, str | int]) -> None:
        del self._values[self._key(key)]

    def __iter__(self) -> Iterator[tuple[str, str | int]]:
        for name, rdtype in list(self._values):
            yield name.to_text(omit_final_dot=True).lower(), dns.rdatatype.to_text(rdtype)

    def __len__(self) -> int:
        return len(self._values)

    def _present(self, name: dns.name.Name) -> bool:
        return any(n == name and v[0] != "NXDOMAIN" for (n, _), v in self._values.items())

    def _entry(self, name: dns.name.Name,
               rdtype: dns.rdatatype.RdataType) -> tuple[ZoneValue, dns.rrset.RRset | None] | None:
        found = self._values.get((name, rdtype))
        if found is None and rdtype != dns.rdatatype.CNAME:
            found = self._values.get((name, dns.rdatatype.ANY))
        return found

    def resolve(self, qname: dns.name.Name,
                rdtype: dns.rdatatype.RdataType) -> tuple[Status | None, list[dns.rrset.RRset]]:
        """Answer one question: (status or None for NOERROR, answer RRsets in order)."""
        answer: list[dns.rrset.RRset] = []
        name = qname
        for _ in range(_MAX_CHAIN):
            found = self._entry(name, rdtype)
            if found is not None:
                value, rrset = found
                if rrset is None:
                    return cast(Status, value), answer
                if len(rrset):
                    answer.append(rrset)
                return None, answer
            cname = self._values.get((name, dns.rdatatype.CNAME))
            if cname is None or cname[1] is None or not len(cname[1]):
                break
            answer.append(cname[1])
            target = cname[1][0]
            assert isinstance(target, dns.rdtypes.ANY.CNAME.CNAME)
            name = target.target
        if answer or self._present(name):
            return None, answer
        return "NXDOMAIN", answer


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, server: FakeDNS) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = self.server.respond(data, udp=True)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable for an answer to a client that gave up: nothing to do.
        pass


class FakeDNS(Served):
    """A DNS server on ``host`` (127.0.0.1), port ``port`` (0: any free one).

    Use as ``async with FakeDNS({("example.org", "MX"): ["10 mx.example.org."]}) as fake:``
    and point a resolver at ``(fake.host, fake.port)``; :meth:`resolver` builds one.
    ``zone`` may be read, changed or replaced while the server runs. ``queries`` lists
    every question seen, as ``(name, type)`` with the name lower-cased and without the
    trailing dot, e.g. ``("example.org", "MX")``.
    """

    def __init__(self, zone: _Entries | None = None, *,
                 host: str = "127.0.0.1", port: int = 0, ttl: int = 300,
                 tcp: bool = True) -> None:
        self._zone = Zone(zone, ttl=ttl)
        self.host = host
        self.port = port
        self.tcp = tcp
        self.queries: list[tuple[str, str]] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tcp_tasks: set[asyncio.Task[None]] = set()
        self._tcp_writers: set[asyncio.StreamWriter] = set()

    @property
    def zone(self) -> Zone:
        """The live zone: changes apply to the next query."""
        return self._zone

    @zone.setter
    def zone(self, entries: _Entries) -> None:
        self._zone = Zone(entries, ttl=self._zone.ttl)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Bind UDP (and TCP on the same port number) and start answering."""
        loop = asyncio.get_running_loop()
        # With port 0 the UDP port is random; TCP then needs that same number, which another
        # socket may hold: pick again rather than fail (only when the port was ours to pick).
        for _attempt in range(20):
            udp, _ = await loop.create_datagram_endpoint(
                lambda: _UDP(self), local_addr=(self.host, self.port)
            )
            port: int = udp.get_extra_info("sockname")[1]
            if not self.tcp:
                break
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port)
            except OSError as error:
                udp.close()
                if error.errno != errno.EADDRINUSE or self.port != 0:
                    raise
                continue
            break
        else:
            raise OSError(errno.EADDRINUSE, "no port free for both UDP and TCP")
        self._udp = udp
        self.port = port

    async def close(self) -> None:
        """Stop answering and close every socket, including open TCP connections."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            # Closing the transports ends each handler with EOF. Cancelling the handler
            # tasks instead makes Python 3.11's start_server callback log a CancelledError.
            for writer in list(self._tcp_writers):
                writer.close()
            await asyncio.gather(*self._tcp_tasks, return_exceptions=True)
            await self._tcp.wait_closed()
            self._tcp = None

    # -- helpers for tests -------------------------------------------------------------

    @property
    def nameserver(self) -> dns.nameserver.Do53Nameserver:
        """This server as a dnspython nameserver (UDP, TCP fallback on truncation)."""
        return dns.nameserver.Do53Nameserver(self.host, self.port)

    def resolver(self, *, lifetime: float = 1.0, timeout: float | None = None
                 ) -> dns.asyncresolver.Resolver:
        """An async resolver that asks this server only, ignoring /etc/resolv.conf."""
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [self.nameserver]
        resolver.lifetime = lifetime
        resolver.timeout = lifetime if timeout is None else timeout
        return resolver

    # -- the protocol ------------------------------------------------------------------

    def respond(self, wire: bytes, *, udp: bool) -> bytes | None:
        """The wire answer to one query, or None to stay silent (DROP, or not a query)."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if query.flags & dns.flags.QR or len(query.question) != 1:
            return None
        question = query.question[0]
        self.queries.append(
            (question.name.to_text(omit_final_dot=True).lower(),
             dns.rdatatype.to_text(question.rdtype))
        )
        status, answer = self._zone.resolve(question.name, question.rdtype)
        if status == "DROP":
            return None
        response = dns.message.make_response(query, recursion_available=True)
        response.flags |= dns.flags.AA
        response.answer = answer
        if status is not None:
            response.set_rcode(_RCODES[status])
        if udp:
            # Truncate (TC bit) what does not fit, so the client retries over TCP.
            size = query.payload if query.edns >= 0 else _CLASSIC_UDP_SIZE
            return response.to_wire(max_size=size, prefer_truncation=True)
        return response.to_wire()

    async def _serve_tcp(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        # RFC 1035 section 4.2.2 / RFC 7766: each message is preceded by its 2-octet length.
        task = asyncio.current_task()
        assert task is not None
        self._tcp_tasks.add(task)
        self._tcp_writers.add(writer)
        try:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                while True:
                    length = int.from_bytes(await reader.readexactly(2), "big")
                    reply = self.respond(await reader.readexactly(length), udp=False)
                    if reply is not None:
                        writer.write(len(reply).to_bytes(2, "big") + reply)
                        await writer.drain()
        finally:
            self._tcp_tasks.discard(task)
            self._tcp_writers.discard(writer)
            writer.close()

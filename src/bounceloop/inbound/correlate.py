"""Tie a returned message to mail we sent, and decide which of its records may act.

A returned message is evidence from outside: anybody can send a DSN or an ARF report to our
bounce domain and name any address in it. It changes what we know about an address only
through a tie nobody but us could have made (issue 16), strongest first:

    verp        the envelope it came back to names the message (core.verp: HMAC-checked)
    header      our ``X-Bounceloop-Id`` token in the returned copy (core.signed)
    envid       the token echoed as Original-Envelope-Id (RFC 3461 section 6.3)
    message-id  the token as our Message-ID, quoted (a returned copy, an In-Reply-To)
    fbl         a complaint signed (DKIM) by a feedback loop the operator trusts

A record (one recipient block of a report) then *acts* - writes an error row, an event, a
suppression - on a tied message only when it names that message's recipient
(Final-Recipient or Original-Recipient: an alias or a forward may report the address it
rewrote ours to), or names nobody and that message is the only one tied. The recipient of
record is always ours, from the database; the address the report named is kept beside it as
evidence. One message is acted on once (the first failure of it; then the first record of
another kind); every other record is evidence only. A mailing token (a transaction of
several recipients, no VERP) ties a record naming a recipient of that mailing at the
token's domain.

What ties nothing: a bare message id or ENVID without a valid signature (what was sent
before tokens were signed, or a forgery), the document's shared Message-ID, a recipient
match. These are *hints*, shown beside an untied report to help a person, never acted on.

The database is reached through :class:`Lookup`, so this module is tested with a dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bounceloop.core import signed, verp
from bounceloop.core.address import domain_of
from bounceloop.core.model import Bounce, Kind

#: The ways a returned message can be tied, strongest first (received.tied_by).
BY = ("verp", "header", "envid", "message-id", "fbl")
#: Look-ups of a recipient in a mailing one returned message may cost: a report that names
#: thousands of addresses beside a valid mailing token costs no more than this.
MAX_LOOKUPS = 100
#: Which record of one message acts when a report has several for it.
_PRIORITY = {Kind.FAILURE: 0, Kind.COMPLAINT: 1, Kind.DELAY: 2, Kind.DELIVERY: 3,
             Kind.AUTOREPLY: 4, Kind.UNRECOGNIZED: 5}


@dataclass(frozen=True, slots=True)
class Sent:
    """What correlation needs of a message we sent."""

    id: str
    mailing_id: int
    recipient: str
    envelope: str
    tags: tuple[str, ...] = ()


class Lookup(Protocol):
    def message(self, message_id: str) -> Sent | None: ...

    def in_mailing(self, mailing_id: int, recipient: str) -> Sent | None: ...

    def mailing_with_message_id(self, header_message_id: str) -> int | None: ...

    def latest_to(self, recipient: str) -> Sent | None: ...


@dataclass(frozen=True, slots=True)
class Act:
    """A record that acts on one of our messages."""

    index: int
    """The record's place in the parse result."""
    sent: Sent
    by: str
    reported: str = ""
    """The address the record named, when it is not our recipient (an alias, a forward)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What may act of one returned message."""

    acts: tuple[Act, ...] = ()
    evidence: tuple[int, ...] = ()
    """Records kept as evidence only (untied, or a second record of a message)."""
    sent: Sent | None = None
    """The message the returned message is tied to (its first act's), or None: untied."""
    by: str = ""
    hint: Sent | None = None
    """For an untied message: the message a weak clue points to (display only)."""
    hint_by: str = ""
    """verp (the envelope names a message the records do not), unsigned, message-id or
    recipient."""

    @property
    def tied(self) -> bool:
        return self.sent is not None


def envelope(rcpts: Iterable[str], domains: Iterable[str], secret: str
             ) -> tuple[str, str] | None:
    """The first valid VERP address among ``rcpts``, and the message id it names."""
    domains = list(domains)
    for rcpt in rcpts:
        for domain in domains:
            message_id = verp.decode(rcpt, domain, secret)
            if message_id is not None:
                return rcpt, message_id
    return None


def _names(r: Bounce) -> list[str]:
    return list(dict.fromkeys(a.lower() for a in (r.recipient, r.original_recipient) if a))


def ties(verp_id: str | None, text: str, secret: str, lookup: Lookup
         ) -> tuple[list[tuple[Sent, str]], list[signed.Found]]:
    """The messages this returned message is verifiably tied to (with how), and the mailing
    tokens in it (checked per record: they sign the recipients' domain)."""
    out: list[tuple[Sent, str]] = []
    if verp_id:
        sent = lookup.message(verp_id)
        if sent is not None:
            out.append((sent, "verp"))
    mailings: list[signed.Found] = []
    for found in signed.find(text):
        if found.kind == "mailing":
            mailings.append(found)
            continue
        sent = lookup.message(found.ref)
        if (sent is not None and all(s.id != sent.id for s, _ in out)
                and signed.message_valid(found.tag, sent.id, sent.recipient, secret)):
            out.append((sent, found.by))
    return out, mailings


def judge(records: Sequence[Bounce], verp_id: str | None, text: str, secret: str,
          lookup: Lookup, *, trusted_complaint: bool = False) -> Verdict:
    """Which records act on which of our messages (see the module doc). ``text`` is the
    returned message as Latin-1 text (where tokens are looked for); ``trusted_complaint``:
    it is a report from a feedback loop the operator trusts (its DKIM signature checked)."""
    tied, mailings = ties(verp_id, text, secret, lookup)
    by_address = {s.recipient.lower(): (s, by) for s, by in reversed(tied)}
    acts: list[Act] = []
    evidence: list[int] = []
    lookups = 0
    for i, r in enumerate(records):
        names = _names(r)
        hit: tuple[Sent, str] | None = next(
            (by_address[n] for n in names if n in by_address), None)
        if hit is None and not names and len(tied) == 1:
            hit = tied[0]
        if hit is None and mailings and names and lookups < MAX_LOOKUPS:
            for name in names:
                for m in mailings:
                    if not signed.mailing_valid(m.tag, int(m.ref), domain_of(name), secret):
                        continue
                    lookups += 1
                    sent = lookup.in_mailing(int(m.ref), name)
                    if sent is not None:
                        hit = (sent, m.by)
                        break
                if hit is not None:
                    break
        if (hit is None and trusted_complaint and r.kind == Kind.COMPLAINT and names
                and lookups < MAX_LOOKUPS):
            lookups += 1
            sent = lookup.latest_to(names[0])
            if sent is not None:
                hit = (sent, "fbl")
        if hit is None:
            evidence.append(i)
            continue
        sent, by = hit
        reported = r.recipient if r.recipient.lower() not in ("", sent.recipient.lower()) \
            else ""
        acts.append(Act(i, sent, by, reported))
    kept: dict[str, Act] = {}
    for act in acts:
        best = kept.get(act.sent.id)
        if best is None or (_PRIORITY.get(Kind(records[act.index].kind), 9)
                            < _PRIORITY.get(Kind(records[best.index].kind), 9)):
            kept[act.sent.id] = act
    chosen = sorted(kept.values(), key=lambda a: a.index)
    evidence = sorted(evidence + [a.index for a in acts if kept[a.sent.id] is not a])
    if chosen:
        main = min(chosen, key=lambda a: (_PRIORITY.get(Kind(records[a.index].kind), 9),
                                          a.index))
        return Verdict(tuple(chosen), tuple(evidence), main.sent, main.by)
    if not records and tied:
        # Nothing read in it (an unrecognised reply at a VERP address): the tie is all
        # there is, and the message names no other address.
        return Verdict((), (), tied[0][0], tied[0][1])
    hint, hint_by = _hint(records, tied, text, lookup)
    return Verdict((), tuple(evidence), None, "", hint, hint_by)


def _hint(records: Sequence[Bounce], tied: list[tuple[Sent, str]], text: str,
          lookup: Lookup) -> tuple[Sent | None, str]:
    """The message an untied report probably answers: for a person to judge, not to act."""
    if tied:
        return tied[0][0], tied[0][1]
    for message_id in signed.unsigned_ids(text):
        sent = lookup.message(message_id)
        if sent is not None:
            return sent, "unsigned"
    names = _names(records[0]) if records else []
    if records and records[0].original_message_id and names:
        mailing = lookup.mailing_with_message_id(records[0].original_message_id)
        if mailing is not None:
            sent = lookup.in_mailing(mailing, names[0])
            if sent is not None:
                return sent, "message-id"
    if names:
        sent = lookup.latest_to(names[0])
        if sent is not None:
            return sent, "recipient"
    return None, ""

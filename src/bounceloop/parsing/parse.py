"""bytes -> records: the parser's one entry point.

    raw bytes --read--> Mail --detectors--> [Fact] --finish--> [Bounce]

:func:`parse` never raises: a bug in a detector on some odd message is caught here and
reported in :attr:`Result.error`, with no records, so a batch run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bounceloop.core.model import Bounce
from bounceloop.core.severity import Convention
from bounceloop.parsing.checkpoint import checkpoint
from bounceloop.parsing.detectors import plan
from bounceloop.parsing.fact import Fact
from bounceloop.parsing.finish import finish_all
from bounceloop.parsing.mail import Mail, read


@dataclass(frozen=True, slots=True)
class Result:
    """What one message yielded."""

    records: tuple[Bounce, ...] = ()
    detector: str = ""
    """The format family that recognised the message, "" when none did."""
    error: str = ""
    """Set when parsing failed on this message (a bug to report); records is then empty."""
    subject: str = field(default="", compare=False)
    sender: str = field(default="", compare=False)

    @property
    def recognized(self) -> bool:
        return bool(self.records)

    def __reduce__(self) -> tuple[type[Result], tuple[tuple[Bounce, ...], str, str, str, str]]:
        # Pickled by its fields, as the parser processes send it (inbound/parser.py):
        # compiled (bounceloop.native), a frozen class is not unpickled attribute by
        # attribute, which its __setattr__ refuses.
        return (Result, (self.records, self.detector, self.error, self.subject, self.sender))


def parse(raw: bytes, convention: Convention = Convention.CODE) -> Result:
    """Parse one message (raw bytes as received) into records."""
    try:
        mail = read(raw)
    except Exception as exc:
        return Result(error=f"unreadable message: {exc!r}")
    try:
        name, facts = detect(mail)
        records = finish_all(facts, mail, name, convention)
    except Exception:
        # Imported on this path only: traceback (with textwrap, ~1 ms) is not needed by a
        # run in which no message breaks the parser.
        import traceback

        tb = traceback.format_exc(limit=-3).strip().splitlines()
        return Result(error="parser error: " + " | ".join(tb[-3:]), subject=mail.header("Subject"),
                      sender=mail.sender)
    return Result(records=records, detector=name if records else "", subject=mail.header("Subject"),
                  sender=mail.sender)


def detect(mail: Mail) -> tuple[str, list[Fact]]:
    """The first detector whose format this is, and what it found.

    The families that write the message's Subject are asked first (``BY_SUBJECT``), then
    the others; each ``match`` is a header lookup, so a message costs few of them.
    """
    for detector in plan(mail.subject):
        checkpoint()
        if detector.match(mail):
            facts = detector.inquire(mail)
            if facts:
                return detector.name, facts
    return "", []

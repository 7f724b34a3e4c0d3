"""correlate.Lookup over the database: the queries correlation asks, each one indexed.

The statements are built once (bound parameters), and answers are remembered for the
lookup's life - one batch - since a burst of bounces often names the same messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, select

from bounceloop.inbound.correlate import Sent
from bounceloop.storage.engine import chunks
from bounceloop.storage.plan import unindexed
from bounceloop.storage.tables import mailings, messages

_COLUMNS = (messages.c.id, messages.c.mailing_id, messages.c.recipient, messages.c.envelope,
            messages.c.tags)


def _sent(row: Any) -> Sent | None:
    if row is None:
        return None
    return Sent(id=row.id, mailing_id=row.mailing_id, recipient=row.recipient,
                envelope=row.envelope, tags=tuple(json.loads(row.tags)))


_BY_ID = select(*_COLUMNS).where(messages.c.id == bindparam("id"))
# By the recipient's index (storage.plan): SQLite without statistics took the mailing's,
# and read every message of the mailing for each bounce.
_IN_MAILING = (select(*_COLUMNS).where((unindexed(messages.c.mailing_id) == bindparam("mailing"))
                                       & (messages.c.recipient == bindparam("rcpt")))
               .order_by(messages.c.created_at.desc()).limit(1))
_MAILING_BY_HEADER = (select(mailings.c.id)
                      .where(mailings.c.header_message_id == bindparam("hid"))
                      .order_by(mailings.c.id.desc()).limit(1))
_LATEST_TO = (select(*_COLUMNS).where(messages.c.recipient == bindparam("rcpt"))
              .order_by(messages.c.created_at.desc()).limit(1))


class DatabaseLookup:
    """Answers correlation's questions from one connection (a read transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._memo: dict[tuple[object, ...], Any] = {}

    def _ask(self, name: str, stmt: Any, params: dict[str, object]) -> Any:
        key = (name, *params.values())
        if key not in self._memo:
            self._memo[key] = self.conn.execute(stmt, params).first()
        return self._memo[key]

    def prefetch(self, message_ids: Iterable[str]) -> None:
        """Read these messages in one query per chunk, for :meth:`message` to answer from
        (a batch's VERP addresses: one query for the batch instead of one per message)."""
        wanted = sorted({i for i in message_ids if ("id", i) not in self._memo})
        for chunk in chunks(wanted):
            found = {r.id: r for r in self.conn.execute(
                select(*_COLUMNS).where(messages.c.id.in_(chunk)))}
            for message_id in chunk:
                self._memo["id", message_id] = found.get(message_id)

    def message(self, message_id: str) -> Sent | None:
        # Asked twice for most returned messages (their VERP address, then the token in
        # our header): the Sent is made once (Sent is frozen, so it can be shared).
        key = ("sent", message_id)
        if key not in self._memo:
            self._memo[key] = _sent(self._ask("id", _BY_ID, {"id": message_id}))
        found: Sent | None = self._memo[key]
        return found

    def in_mailing(self, mailing_id: int, recipient: str) -> Sent | None:
        return _sent(self._ask("mailing", _IN_MAILING, {"mailing": mailing_id,
                                                         "rcpt": recipient}))

    def mailing_with_message_id(self, header_message_id: str) -> int | None:
        found = self._ask("hid", _MAILING_BY_HEADER, {"hid": header_message_id})
        return None if found is None else int(found[0])

    def latest_to(self, recipient: str) -> Sent | None:
        return _sent(self._ask("to", _LATEST_TO, {"rcpt": recipient}))

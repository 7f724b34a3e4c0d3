"""correlate.Lookup over the database: the queries correlation asks, each one indexed."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from bounceloop.inbound.correlate import Sent
from bounceloop.storage.tables import mailings, messages

_COLUMNS = (messages.c.id, messages.c.mailing_id, messages.c.recipient, messages.c.envelope,
            messages.c.tags)


def _sent(row: Any) -> Sent | None:
    if row is None:
        return None
    return Sent(id=row.id, mailing_id=row.mailing_id, recipient=row.recipient,
                envelope=row.envelope, tags=tuple(json.loads(row.tags)))


class DatabaseLookup:
    """Answers correlation's questions from one connection (a read transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def message(self, message_id: str) -> Sent | None:
        return _sent(self.conn.execute(
            select(*_COLUMNS).where(messages.c.id == message_id)).first())

    def in_mailing(self, mailing_id: int, recipient: str) -> Sent | None:
        return _sent(self.conn.execute(
            select(*_COLUMNS).where((messages.c.mailing_id == mailing_id)
                                    & (messages.c.recipient == recipient))
            .order_by(messages.c.created_at.desc()).limit(1)).first())

    def mailing_with_message_id(self, header_message_id: str) -> int | None:
        found = self.conn.execute(
            select(mailings.c.id).where(mailings.c.header_message_id == header_message_id)
            .order_by(mailings.c.id.desc()).limit(1)).scalar()
        return None if found is None else int(found)

    def latest_to(self, recipient: str) -> Sent | None:
        return _sent(self.conn.execute(
            select(*_COLUMNS).where(messages.c.recipient == recipient)
            .order_by(messages.c.created_at.desc()).limit(1)).first())

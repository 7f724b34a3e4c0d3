"""REST API tokens: made by ``bounceloop token create``, kept only as a SHA-256.

A token is ``blt_`` plus 32 random bytes (URL-safe base64): 256 bits, so a plain SHA-256
is enough to keep it at rest (a slow password hash is for guessable secrets). Scopes:
``read`` may GET, ``write`` may do everything.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from bounceloop.storage.engine import utcnow
from bounceloop.storage.tables import api_tokens

SCOPES = ("read", "write")
PREFIX = "blt_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(conn: Connection, scope: str, name: str = "",
           now: datetime | None = None) -> tuple[int, str]:
    """A new token of ``scope``: (id, the token). The token is shown once, never stored."""
    if scope not in SCOPES:
        raise ValueError(f"scope is one of {', '.join(SCOPES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    token_id = conn.execute(insert(api_tokens).values(
        name=name, scope=scope, digest=digest(token), created_at=now or utcnow())
        .returning(api_tokens.c.id)).scalar_one()
    return int(token_id), token


def scope_of(conn: Connection, token: str) -> str | None:
    """The scope of a valid, unrevoked token; None for anything else."""
    if not token.startswith(PREFIX):
        return None
    row = conn.execute(select(api_tokens.c.scope).where(
        api_tokens.c.digest == digest(token), api_tokens.c.revoked_at.is_(None))).first()
    return None if row is None else str(row.scope)


def listing(conn: Connection) -> list[dict[str, Any]]:
    return [{"id": r.id, "name": r.name, "scope": r.scope,
             "created_at": r.created_at.isoformat(),
             "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None}
            for r in conn.execute(select(api_tokens).order_by(api_tokens.c.id))]


def revoke(conn: Connection, token_id: int, now: datetime | None = None) -> bool:
    result = conn.execute(update(api_tokens).where(api_tokens.c.id == token_id,
                                                   api_tokens.c.revoked_at.is_(None))
                          .values(revoked_at=now or utcnow()))
    return bool(result.rowcount)

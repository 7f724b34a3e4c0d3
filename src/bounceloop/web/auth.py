"""Bearer-token auth of the REST API (storage.tokens): no token or a bad one is 401, a
read token asking to write is 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from bounceloop.storage import tokens

_bearer = HTTPBearer(auto_error=False, description="A token from `bounceloop token create`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def requirer(db: Engine) -> Callable[[str], Callable[..., None]]:
    """``need("read")`` / ``need("write")``: dependencies that check the caller's token."""

    def need(scope: str) -> Callable[..., None]:
        def check(creds: Credentials) -> None:
            if creds is None:
                raise HTTPException(401, "an API token is needed: Authorization: Bearer "
                                    "TOKEN (bounceloop token create)",
                                    headers={"WWW-Authenticate": "Bearer"})
            with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                found = tokens.scope_of(conn, creds.credentials)
            if found is None:
                raise HTTPException(401, "the API token is not valid (unknown or revoked)",
                                    headers={"WWW-Authenticate": "Bearer"})
            if scope == "write" and found != "write":
                raise HTTPException(403, "this token may only read (scope read)")

        return check

    return need

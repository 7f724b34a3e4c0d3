"""The most a request body may hold, enforced before anything holds it.

Starlette reads a body whole when asked for it, and FastAPI asks before it checks the
caller's token (a JSON body is read and parsed before the dependencies run). Without a
limit, anyone who can reach the port makes the process hold a body of any size: 40 MB
posted to ``/api/v1/messages`` without a token cost 128 MB, answered 401 only after. So:
a declared ``Content-Length`` over the limit is a 413 at once, no byte of the body read;
a body without one (chunked) is counted as it arrives and refused as soon as it passes
the limit. A pure ASGI middleware, as web.timing.
"""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bounceloop.config import Settings
from bounceloop.web.suppressions import MAX_CSV


def largest_body(settings: Settings) -> int:
    """The limit: a mailing's MIME document at the largest we send (``smtp_max_size``)
    written as a JSON string (escaped CR, LF and quotes make text at most about twice as
    long), or the largest CSV an import or a selection takes, and 1 MiB for the rest."""
    return max(2 * settings.smtp_max_size, MAX_CSV) + 1024 * 1024


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.detail = f"the request body is larger than {limit} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await JSONResponse({"detail": self.detail}, 413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # Raised where the body is read: the API answers it as JSON, the UI
                    # as its error page (both handle HTTPException).
                    raise HTTPException(413, self.detail)
            return message

        await self.app(scope, counted, send)

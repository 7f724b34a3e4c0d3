"""REST API: sending, one message's story, and the messages returned to us.

    POST /api/v1/messages            queue a mailing: JSON with from, recipients (each with
                                     its tags and fields), and the MIME document or a
                                     subject with text and/or html (202)
    GET  /api/v1/messages/{id}       the message, every attempt, event, error and bounce
    GET  /api/v1/bounces/{id}        a returned message: what it was read as, its errors
    GET  /api/v1/bounces/{id}/raw    its bytes exactly as received (message/rfc822)

Sending is ``bounceloop send`` over HTTP: the messages are queued in one transaction and
the service delivers them. A bad recipient is reported by its index and left out (one typo
must not stop a mailing); a request with no good recipient is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from pydantic import ConfigDict, Field, model_validator
from sqlalchemy import Engine

from bounceloop.config import Settings
from bounceloop.core import headerblock
from bounceloop.core.address import AddressError, normalize
from bounceloop.core.retry import parse_schedule
from bounceloop.storage import messages as store
from bounceloop.storage import story
from bounceloop.storage.engine import utcnow
from bounceloop.web.common import MAX_BIGINT, Body, no_nul, problems, reading

MAX_RECIPIENTS = 10_000
MessageId = Annotated[str, Path(pattern=r"^[0-9a-f]{1,40}$")]
ReceivedId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]


class RecipientIn(Body):
    email: str = Field(min_length=1, max_length=320)
    tags: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=50)
    fields: dict[str, Annotated[str, Field(max_length=10_000)]] = Field(default={},
                                                                         max_length=100)


class SendIn(Body):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    escaped: ClassVar[frozenset[str]] = frozenset({"mime"})

    sender: str = Field(alias="from", min_length=3, max_length=320)
    recipients: list[RecipientIn] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    mime: str | None = Field(default=None, description="The whole message (RFC 5322): header "
                             "fields first, then a blank line and the body.")
    subject: str | None = Field(default=None, max_length=1000, pattern=r"^[^\r\n]*$",
                                description="One line: a header cannot break.")
    text: str | None = None
    html: str | None = None
    tags: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=50)
    mailing: str = Field(default="", max_length=200, description="A name for the mailing.")
    retry_schedule: str | None = Field(default=None, max_length=500,
                                       description="Seconds between retries: 600,1800")
    max_delivery_time: int | None = Field(default=None, ge=1, le=30 * 86400)

    @model_validator(mode="after")
    def _content(self) -> SendIn:
        composed = self.subject is not None or self.text is not None or self.html is not None
        if (self.mime is None) == (not composed):
            raise ValueError("give the message as mime, or as subject with text and/or html")
        if composed and (self.subject is None or (self.text is None and self.html is None)):
            raise ValueError("a composed message needs a subject and text and/or html")
        if self.mime is not None:
            why = headerblock.problem(self.mime.encode("utf-8", "surrogateescape"))
            if why is not None:
                raise ValueError(f"mime: {why}")
        return self


def compose(body: SendIn, sender: str, to: str) -> bytes:
    """The MIME document of a composed mailing: text, html, or both as alternatives."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = body.subject or ""
    msg["Date"] = formatdate(usegmt=True)
    # No Message-ID here: the sender adds a signed one to each copy (core.signed), which
    # an auto-reply's In-Reply-To then ties to its message.
    if body.text is not None:
        msg.set_content(body.text)
        if body.html is not None:
            msg.add_alternative(body.html, subtype="html")
    else:
        msg.set_content(body.html or "", subtype="html")
    return msg.as_bytes()


def router(db: Engine, settings: Settings, need: Callable[[str], Callable[..., None]]
           ) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["messages"], responses=problems(401))
    read = [Depends(need("read")), Depends(no_nul)]
    write = [Depends(need("write")), Depends(no_nul)]

    @api.post("/messages", dependencies=write, status_code=202,
              responses=problems(400, 403, 413))
    def send(body: SendIn) -> dict[str, Any]:
        """Queue the message to every good recipient; the bad ones are listed."""
        try:
            sender = normalize(body.sender)
        except AddressError as exc:
            raise HTTPException(400, f"from: {exc}") from None
        retry = None
        if body.retry_schedule is not None:
            try:
                retry = parse_schedule(body.retry_schedule)
            except ValueError as exc:
                raise HTTPException(400, f"retry_schedule: {exc}") from None
        good: list[store.NewMessage] = []
        rejected: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for i, r in enumerate(body.recipients):
            try:
                address = normalize(r.email)
            except AddressError as exc:
                rejected.append({"index": i, "email": r.email, "error": str(exc)})
                continue
            if address.lower() in seen:
                rejected.append({"index": i, "email": r.email,
                                 "error": f"already at index {seen[address.lower()]}"})
                continue
            seen[address.lower()] = i
            tags = tuple(dict.fromkeys((*body.tags, *r.tags)))
            good.append(store.NewMessage(address, tags, dict(r.fields)))
        if not good:
            raise HTTPException(400, {"message": "no valid recipients", "rejected": rejected})
        if body.mime is not None:
            mime = body.mime.encode("utf-8", "surrogateescape")
        else:
            to = good[0].recipient if len(good) == 1 else "undisclosed-recipients:;"
            mime = compose(body, sender, to)
        if len(mime) > settings.smtp_max_size:
            raise HTTPException(413, f"the message is {len(mime)} bytes; at most "
                                     f"{settings.smtp_max_size}")
        now = utcnow()
        with db.begin() as conn:
            mailing_id = store.create_mailing(
                conn, name=body.mailing, sender=sender, mime=mime, tags=body.tags,
                retry_schedule=retry, max_delivery_time=body.max_delivery_time, now=now)
            ids = store.queue(conn, mailing_id, sender, good,
                              bounce_domain=settings.bounce_domain,
                              verp_secret=settings.verp_secret.get_secret_value(),
                              max_delivery_time=body.max_delivery_time
                              or settings.max_delivery_time, now=now)
            rows = store.summaries(conn, ids)
        return {"mailing": mailing_id,
                "messages": [{k: r[k] for k in ("id", "recipient", "envelope")}
                             | {"status": "queued"} for r in rows],
                "rejected": rejected}

    @api.get("/messages/{message_id}", dependencies=read, responses=problems(404))
    def message(message_id: MessageId) -> dict[str, Any]:
        """The message with its mailing, tags, fields, every attempt (step, state, code,
        extended, description, MX, duration), event, error and returned message."""
        found = reading(db, lambda conn: story.message(conn, message_id))
        if found is None:
            raise HTTPException(404, f"no message {message_id}")
        return found

    @api.get("/bounces/{received_id}", dependencies=read, responses=problems(404))
    def bounce(received_id: ReceivedId) -> dict[str, Any]:
        found = reading(db, lambda conn: story.bounce(conn, received_id))
        if found is None:
            raise HTTPException(404, f"no returned message {received_id}")
        return found

    @api.get("/bounces/{received_id}/raw", dependencies=read, response_class=Response,
             responses={200: {"content": {"message/rfc822": {}},
                              "description": "The bytes as received."}, **problems(404)})
    def bounce_raw(received_id: ReceivedId, download: bool = False) -> Response:
        found = reading(db, lambda conn: story.raw(conn, received_id))
        if found is None:
            raise HTTPException(404, f"no returned message {received_id}")
        disposition = "attachment" if download else "inline"
        return Response(found.raw, media_type="message/rfc822", headers={
            "Content-Disposition": f'{disposition}; filename="bounce-{received_id}.eml"',
            "X-Content-Type-Options": "nosniff"})

    return api

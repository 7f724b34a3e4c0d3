"""The FastAPI application: ``/health``, ``/ready``, ``/metrics``, the REST API (``/api/v1``,
its OpenAPI description at ``/api/openapi.json``, browsable at ``/api/docs``) and the UI.

``/api/docs`` is Swagger UI served from the package (web/static/swagger-ui, vendored with
its licenses; static/README says from where), under the UI's Content-Security-Policy: it
loads nothing from elsewhere and works offline. FastAPI's own page loads Swagger UI from a
CDN and starts it with an inline script, which that policy forbids; ours starts it from
static/api-docs.js."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bounceloop import __version__
from bounceloop.config import Settings
from bounceloop.observability.metrics import Metrics
from bounceloop.storage import migrate
from bounceloop.storage.engine import is_sqlite
from bounceloop.storage.tables import messages
from bounceloop.web import messages as message_api
from bounceloop.web import reports, suppressions, ui, webhooks
from bounceloop.web.auth import requirer
from bounceloop.web.common import database_unavailable, invalid_request
from bounceloop.web.limits import BodyLimit, largest_body
from bounceloop.web.timing import ServerTiming
from bounceloop.web.ui.render import HEADERS

OPENAPI_URL = "/api/openapi.json"
DOCS_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bounceloop API</title>
<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
<script src="/static/swagger-ui/swagger-ui-bundle.js" defer></script>
<script src="/static/api-docs.js" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi-url="{OPENAPI_URL}"></div>
</body>
</html>
"""

#: A write that changes nothing, to a table every role writes (the outbox): refused all the
#: same, whatever rows it would touch, by a database that cannot be written.
_WRITE_NOTHING = text("UPDATE jobs SET status = status WHERE 1 = 0")


def unwritable(db: Engine) -> str | None:
    """Why the database cannot take a write now, or None: it can. Cheap enough for every
    probe: one statement that writes nothing, in a transaction rolled back.

    On SQLite ``BEGIN IMMEDIATE`` alone is not enough: in WAL mode it takes the write lock
    in the -shm file, which a process that may not write the database file can still do;
    the first statement that would write fails ("attempt to write a readonly database").
    The probe waits for a writer that holds the lock, as any write does (busy_timeout).
    On PostgreSQL the statement fails in a read-only transaction (a hot standby, or a
    database or role with ``default_transaction_read_only``) and without the UPDATE
    privilege.
    """
    try:
        with db.connect() as conn, conn.begin() as transaction:  # SQLite: BEGIN IMMEDIATE
            if not is_sqlite(conn):
                # Not behind a migration's lock on the table for long.
                conn.execute(text("SET LOCAL lock_timeout = '2s'"))
            conn.execute(_WRITE_NOTHING)
            transaction.rollback()
    except SQLAlchemyError as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        return " ".join(f"{type(cause).__name__}: {cause}".split())
    return None


def create_app(db: Engine, metrics: Metrics, settings: Settings | None = None, *,
               interactive: bool = True,
               starting: Callable[[], Sequence[str]] | None = None) -> FastAPI:
    """The app, bound to one database, one metrics registry and the settings (no
    globals). Without ``interactive`` (the smtp and worker roles) only the probes and
    ``/metrics``: no API, no UI. ``starting`` names the parts of the service still
    starting (the worker's parser processes, its delivery database process): /ready says
    503 until it names none."""
    settings = settings or Settings()
    app = FastAPI(title="bounceloop", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=OPENAPI_URL)
    # Around the routes: a body too large is refused before it is read, token or not
    # (inside ServerTiming, the outermost, so its 413 is timed like any answer).
    app.add_middleware(BodyLimit, limit=largest_body(settings))
    app.add_middleware(ServerTiming)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(DBAPIError, database_unavailable)
    if interactive:
        need = requirer(db)
        app.include_router(webhooks.router(db, settings, need))
        app.include_router(suppressions.router(db, settings, need))
        app.include_router(reports.router(db, need))
        app.include_router(message_api.router(db, settings, need))
        app.include_router(ui.router(db, settings))

        @app.get("/api/docs", include_in_schema=False)
        def docs() -> HTMLResponse:
            """Swagger UI on the OpenAPI document (see the module doc); its files come
            from the UI's /static."""
            return HTMLResponse(DOCS_PAGE, headers={**HEADERS, "Cache-Control": "no-cache"})

    @app.get("/ready", responses={503: {
        "description": "Not ready: parts of the service are still starting, or the "
                       "database does not answer, has another schema or cannot be "
                       "written."}})
    def ready() -> JSONResponse:
        """Ready for work: the service's parts have started, and the database answers,
        has this version's schema and takes writes (a load balancer or orchestrator sends
        traffic only then: a read-only database would answer every inbound message 451;
        a worker whose parser processes are still loading would parse its first returned
        messages only after them, and their start competes with the work for the CPU)."""
        waiting = list(starting()) if starting is not None else []
        if waiting:
            return JSONResponse({"status": "starting", "starting": waiting}, 503)
        try:
            revision = migrate.current(db)
        except Exception as exc:  # report, do not crash the probe
            return JSONResponse({"status": "not ready",
                                 "database": f"{type(exc).__name__}: {exc}"}, 503)
        if revision != migrate.head():
            return JSONResponse({"status": "not ready", "schema": revision,
                                 "needs": migrate.head()}, 503)
        why = unwritable(db)
        if why is not None:
            return JSONResponse({"status": "not ready", "schema": revision,
                                 "database": f"not writable: {why}"}, 503)
        return JSONResponse({"status": "ready", "schema": revision})

    @app.get("/health", responses={503: {
        "description": "The database does not answer: the body says why."}})
    def health() -> JSONResponse:
        """Up, and the database answers; the queue by message status."""
        body: dict[str, Any] = {"status": "ok", "version": __version__}
        try:
            with db.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                conn.execute(text("SELECT 1"))
                # Rows unpack as tuples (Result.tuples() is deprecated in SQLAlchemy 2.1).
                counts = {str(status): int(n) for status, n in conn.execute(
                    select(messages.c.status, func.count()).group_by(messages.c.status))}
        except Exception as exc:  # report, do not crash the probe
            body.update(status="error", database=f"{type(exc).__name__}: {exc}")
            return JSONResponse(body, status_code=503)
        body.update(database="ok", messages=counts)
        return JSONResponse(body)

    @app.get("/metrics", response_class=Response, responses={200: {
        "content": {"text/plain": {}}, "description": "Prometheus text format."}})
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app

"""The FastAPI application: ``/health``, ``/metrics`` and the REST API (``/api/v1``, its
OpenAPI description at ``/api/openapi.json`` and browsable at ``/api/docs``). The UI arrives
with issue 7."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, func, select, text

from bounceloop import __version__
from bounceloop.config import Settings
from bounceloop.observability.metrics import Metrics
from bounceloop.storage.tables import messages
from bounceloop.web import suppressions, webhooks
from bounceloop.web.auth import requirer


def create_app(db: Engine, metrics: Metrics, settings: Settings | None = None) -> FastAPI:
    """The app, bound to one database, one metrics registry and the settings (no
    globals)."""
    settings = settings or Settings()
    app = FastAPI(title="bounceloop", version=__version__, docs_url="/api/docs",
                  redoc_url=None, openapi_url="/api/openapi.json")
    need = requirer(db)
    app.include_router(webhooks.router(db, settings, need))
    app.include_router(suppressions.router(db, settings, need))

    @app.get("/health")
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

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app

"""The FastAPI application: ``/health`` and ``/metrics`` (the API and UI arrive later)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, func, select, text

from bounceloop import __version__
from bounceloop.observability.metrics import Metrics
from bounceloop.storage.tables import messages


def create_app(db: Engine, metrics: Metrics) -> FastAPI:
    """The app, bound to one database and one metrics registry (no globals)."""
    app = FastAPI(title="bounceloop", version=__version__, docs_url=None, redoc_url=None)

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

"""The HTTP side: health and metrics now; the REST API and UI in later issues."""

from __future__ import annotations

from bounceloop.web.app import create_app

__all__ = ["create_app"]

"""The ``bounceloop`` command line."""

from __future__ import annotations

from bounceloop.cli.main import cli, main

__all__ = ["cli", "main"]

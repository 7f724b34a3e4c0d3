"""``python -m bounceloop`` runs the command line."""

from __future__ import annotations

from bounceloop.cli import main

main()

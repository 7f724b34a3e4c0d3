"""The pure core stays pure: core/ and parsing/ import no I/O framework.

A rule of DEVELOPERS.md: the model, status codes, classification and parsing take values and
return values; asyncio, databases, HTTP, SMTP and the file system belong to the shell.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "bounceloop"
PURE = ("core", "parsing")
FORBIDDEN = {
    "asyncio", "socket", "ssl", "selectors", "subprocess", "multiprocessing", "threading",
    "sqlite3", "sqlalchemy", "alembic", "psycopg", "aiosqlite", "httpx", "httpx2", "fastapi",
    "starlette", "uvicorn", "aiosmtpd", "aiosmtplib", "dns", "smtplib", "urllib", "http",
    "requests", "click", "rich", "os", "shutil", "pathlib", "io", "logging",
}
FILES = sorted(p for sub in PURE for p in (PACKAGE / sub).rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PACKAGE)) for p in FILES])
def test_pure_module_imports(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open", f"{path.name} opens files"

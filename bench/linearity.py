#!/usr/bin/env python3
"""Parse time against input size: is it linear?

Grows one dimension of a bounce at a time - the returned message's body (to 10 MB), the
number of header fields (to 10,000), the length of one diagnostic line, the number of
recipients in the report - and prints the parse time per size and the time per unit. A
linear parser shows a flat "per unit" column; a quadratic one grows with size. Uses our own
sample ``tests/data/bounces/rfc3464-01.eml`` (no corpus needed). Median of 3 runs.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from bounceloop.parsing import parse  # noqa: E402

BASE = (ROOT / "tests" / "data" / "bounces" / "rfc3464-01.eml").read_bytes()


def timed(raw: bytes) -> float:
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = parse(raw)
        runs.append(time.perf_counter() - t0)
        assert not result.error, result.error
    return statistics.median(runs)


def series(title: str, unit: str, sizes: list[int], build: Callable[[int], bytes]) -> None:
    print(f"\n{title}")
    print(f"{'size':>10} {unit:>8}  {'parse s':>9}  {'us per ' + unit:>14}")
    first = None
    for n in sizes:
        t = timed(build(n))
        per = t / n * 1e6
        first = first or per
        print(f"{n:>10} {unit:>8}  {t:9.4f}  {per:14.3f}  x{per / first:5.2f}")


def body(mb: int) -> bytes:
    line = b"A" * 76 + b"\n"
    return BASE.replace(b"X-Bounceloop-Id: inv-2024-0311\n",
                        b"X-Bounceloop-Id: inv-2024-0311\n\n" + line * (mb * 1024 * 1024 // 77))


def headers(n: int) -> bytes:
    return b"".join(b"X-Header-%d: value %d\n" % (i, i) for i in range(n)) + BASE


def diagnostic(kb: int) -> bytes:
    return BASE.replace(b"Please check the address.", b"word " * (kb * 1024 // 5))


def recipients(n: int) -> bytes:
    block = (b"Final-Recipient: rfc822; user%d@example.net\nAction: failed\nStatus: 5.1.1\n"
             b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n")
    many = b"".join(block % i for i in range(n))
    return BASE.replace(b"Final-Recipient: rfc822; k.sato@example.jp", many +
                        b"Final-Recipient: rfc822; k.sato@example.jp")


def main() -> int:
    series("returned message body", "MB", [1, 2, 4, 8, 10], body)
    series("header fields", "headers", [1000, 2500, 5000, 10000], headers)
    series("one diagnostic line", "KB", [64, 256, 1024, 4096], diagnostic)
    series("recipients in one report", "rcpts", [250, 1000, 4000], recipients)
    return 0


if __name__ == "__main__":
    sys.exit(main())

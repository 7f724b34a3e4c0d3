#!/usr/bin/env python3
"""The classifier on the reply catalogue: reason accuracy per reason, source and family.

Each entry of ``src/bounceloop/parsing/rules/catalogue/*.toml`` is a reply text a mail
server's documentation or source gives, with the reason it describes. Each is wrapped as a
reporting MTA returns it (an RFC 3464 report, ``catalogue.as_dsn``) and run through the real
parser. Prints the accuracy per family, per source and per reason, then every entry the
classifier gets wrong (id, expected, got). The issue 18 figure: >= 0.97 per family. No
corpus needed.

    bench/catalogue.py [--family NAME]... [--src DIR] [--quiet]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def table(title: str, tally: dict[str, tuple[int, int]]) -> None:
    print(f"\n{title:<28} {'right':>6} {'total':>6} {'accuracy':>9}")
    for name, (right, total) in sorted(tally.items(), key=lambda kv: (kv[1][0] / kv[1][1], kv[0])):
        print(f"{name:<28} {right:>6} {total:>6} {right / total:>9.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", action="append", help="only these families (repeatable)")
    ap.add_argument("--src", type=Path, default=ROOT / "src",
                    help="the source tree to measure (default: this checkout's src)")
    ap.add_argument("--quiet", action="store_true", help="no list of misclassified entries")
    args = ap.parse_args()
    sys.path.insert(0, str(args.src))
    from bounceloop import catalogue

    entries = [e for e in catalogue.load() if not args.family or e.family in args.family]
    if not entries:
        print("no entries")
        return 1
    outcomes = catalogue.run(entries)
    right = sum(o.right for o in outcomes)
    print(f"catalogue: {len(entries)} entries, {len({e.source for e in entries})} sources, "
          f"{len({e.family for e in entries})} families, languages "
          f"{', '.join(sorted({e.lang for e in entries}))}")
    print(f"reason accuracy: {right}/{len(entries)} = {right / len(entries):.3f}")
    table("family", catalogue.accuracy(outcomes, "family"))
    table("source", catalogue.accuracy(outcomes, "source"))
    table("reason (expected)", catalogue.accuracy(outcomes, "reason"))
    if not args.quiet:
        print(f"\n{'misclassified':<50} {'expected':<16} got")
        for o in outcomes:
            if not o.right:
                print(f"{o.entry.id:<50} {o.entry.reason:<16} {o.got or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

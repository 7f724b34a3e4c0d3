#!/usr/bin/env python3
"""The classifier on the reply catalogue: reason accuracy per reason, source and family.

Each entry of ``src/bounceloop/parsing/rules/catalogue/*.toml`` is a reply text a mail
server's documentation or source gives, with the reason it describes. Each is wrapped as a
reporting MTA returns it (an RFC 3464 report, ``catalogue.as_dsn``) and run through the real
parser. Prints the accuracy per family, per source and per reason, then every entry the
classifier gets wrong (id, expected, got). The issue 18 figure: >= 0.97 per family. No
corpus needed.

``--frames`` then reads every permanent reply again in the plain-text bounces of Postfix,
qmail, Exim and Sendmail (``catalogue.FRAMES``: no Status field, the command named in each
MTA's own words) and in Gmail's, Yahoo's and Microsoft 365's bounces relaying a remote's
reply (Gmail's and Microsoft's name no command), and prints each frame's accuracy and the
entries whose reason differs from their reading in the RFC 3464 report: a rule that holds
only where a DSN carries the code or the command does not hold on the mail servers' other
notices.

    bench/catalogue.py [--family NAME]... [--src DIR] [--quiet] [--frames]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

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
    ap.add_argument("--frames", action="store_true",
                    help="also read the replies in Postfix's, qmail's, Exim's and Sendmail's "
                         "plain bounces")
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
    if args.frames:
        frames(catalogue, entries, {o.entry.id: o.got for o in outcomes}, args.quiet)
    return 0


def frames(catalogue: Any, entries: list[Any], in_dsn: dict[str, str], quiet: bool) -> None:
    print(f"\n{'frame':<12} {'right':>6} {'total':>6} {'accuracy':>9} {'differ from dsn':>16}")
    differing: list[tuple[str, Any, str]] = []
    for frame in catalogue.FRAMES:
        if frame == "dsn":
            continue
        chosen = catalogue.frame_entries(entries, frame)
        outcomes = catalogue.run(chosen, frame)
        right = sum(o.right for o in outcomes)
        differ = [(frame, o.entry, o.got) for o in outcomes if o.got != in_dsn[o.entry.id]]
        differing += differ
        print(f"{frame:<12} {right:>6} {len(chosen):>6} {right / len(chosen):>9.3f} "
              f"{len(differ):>16}")
    if not quiet and differing:
        print(f"\n{'frame':<8} {'entry':<46} {'expected':<16} {'in dsn':<16} in frame")
        for frame, entry, got in differing:
            print(f"{frame:<8} {entry.id:<46} {entry.reason:<16} {in_dsn[entry.id]:<16} "
                  f"{got or '-'}")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Hostile input costs bounded work: parse time per shape of message, at 1x, 2x and 4x size.

Each shape grows one thing a message can have a lot of: a header folded over many lines,
many header fields, many MIME parts, deep nesting, many per-recipient groups in a DSN,
long lines of the kinds the parser's patterns read (runs of blanks, of "@", of "<br",
of "KEY=VALUE" words, of RFC 2047 words) and the report formats whose readers
matched recipients against lines. The largest size is the SMTP size limit
(``Settings().smtp_max_size``, 26,214,400 bytes): nothing bigger reaches the parser.

Each message is built and parsed once in a child process (``--src`` chooses the source tree
it imports, to measure another version), so a parse that overruns ``--limit`` seconds is
stopped and shown as ">limit", one that runs out of its ``--memory`` as ">4GiB", and the
child's peak memory is its own. Printed per shape:
the time at each size, the ratio to the size before (linear: about 2 per doubling), the
peak resident memory of the parse at 4x (over the message itself) and the records found;
then the worst time at the size limit. No corpus needed.

    bench/adversarial.py [--shape NAME]... [--limit SECONDS] [--memory GIB] [--src DIR]
                         [--largest BYTES]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]

#: A returned message's parts are each read up to 1 MB (parsing.mail.MAX_TEXT_PART): a
#: shape that grows text spreads it over parts of this size.
PART = 900_000

HEAD = (b"From: MAILER-DAEMON@mx.example.net\n"
        b"To: sender@example.org\n"
        b"Subject: Undelivered Mail Returned to Sender\n"
        b"Date: Mon, 2 Jun 2025 10:00:00 +0000\n"
        b"MIME-Version: 1.0\n")
NOTICE = (b"This is the mail system at host mx.example.net.\n\n"
          b"<jane@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1\n"
          b"    <jane@example.org>: Recipient address rejected: User unknown (in reply to\n"
          b"    RCPT TO command)\n")
GROUP = (b"Final-Recipient: rfc822; jane@example.org\nAction: failed\nStatus: 5.1.1\n"
         b"Diagnostic-Code: smtp; 550 5.1.1 <jane@example.org>: User unknown\n")
DSN = b"Reporting-MTA: dns; mx.example.net\n\n" + GROUP


def repeat(unit: bytes, room: int) -> bytes:
    return unit * max(1, room // len(unit))


def report(*parts: tuple[bytes, bytes], head: bytes = HEAD) -> bytes:
    """A multipart/report of (content type, body) parts."""
    body = b"".join(b"--B\nContent-Type: " + ctype + b"\n\n" + text + b"\n"
                    for ctype, text in parts)
    return (head + b'Content-Type: multipart/report; report-type=delivery-status; '
            b'boundary="B"\n\n' + body + b"--B--\n")


def spread(ctype: bytes, unit: bytes, size: int, first: bytes = b"", last: bytes = b""
           ) -> list[tuple[bytes, bytes]]:
    """Parts of ``ctype`` filled with ``unit`` up to about ``size`` bytes in all."""
    out, left = [], size - len(first) - len(last) - 2000
    while left > 0:
        room = min(PART, left)
        out.append((ctype, repeat(unit, room)))
        left -= room + 60
    if out:
        out[0] = (ctype, first + out[0][1])
        out[-1] = (ctype, out[-1][1] + last)
    return out


def folded_header(size: int) -> bytes:
    return report((b"text/plain", NOTICE), (b"message/delivery-status", DSN),
                  head=HEAD + b"X-Folded: start\n" + repeat(b" continued\n", size - 2000))


def many_headers(size: int) -> bytes:
    fields = b"".join(b"X-Header-%d: value %d\n" % (i, i)
                      for i in range(max(1, (size - 2000) // 30)))
    return report((b"text/plain", NOTICE), (b"message/delivery-status", DSN),
                  head=HEAD + fields)


def many_parts(size: int) -> bytes:
    part = b"--B\nContent-Type: text/plain\n\nsome words\n"
    body = repeat(part, size - 2000)
    return (HEAD + b'Content-Type: multipart/mixed; boundary="B"\n\n' + body
            + b"--B\nContent-Type: message/delivery-status\n\n" + DSN + b"--B--\n")


def deep_nesting(size: int) -> bytes:
    unit = b'Content-Type: multipart/mixed; boundary="b%07d"\n\n--b%07d\n'
    levels = max(1, (size - 2000) // len(unit % (0, 0)))
    return HEAD + b"".join(unit % (i, i) for i in range(levels)) + b"\n" + NOTICE


def dsn_recipients(size: int) -> bytes:
    group = (b"Final-Recipient: rfc822; user%07d@example.org\nAction: failed\n"
             b"Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n\n")
    per_part = PART // len(group % 0)
    parts, n, left = [], 0, size - 2000
    while left > 0:
        count = min(per_part, left // len(group % 0) + 1)
        parts.append((b"message/delivery-status",
                      b"Reporting-MTA: dns; mx.example.net\n\n"
                      + b"".join(group % (n + i) for i in range(count))))
        n, left = n + count, left - count * len(group % 0) - 80
    return report((b"text/plain", b"Delivery failed.\n"), *parts)


def long_diagnostic(size: int) -> bytes:
    # A report part per recipient, each with a Diagnostic-Code of a whole part's length.
    group = (b"Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; jane@example.org\n"
             b"Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 " + repeat(b"word ", PART)
             + b"\n")
    count = max(1, size // (len(group) + 60))
    return report((b"text/plain", b"Delivery failed.\n"),
                  *[(b"message/delivery-status", group)] * count)


def blank_lines(size: int) -> bytes:
    # amavisd-new's notice: its findings are looked for at each line start; blank lines
    # that no finding follows.
    head = HEAD.replace(b"From: MAILER-DAEMON@mx.example.net",
                        b'From: "Content-filter at mx.example.net" <postmaster@example.net>')
    texts = spread(b"text/plain", b"\n", size,
                   first=b"A message from <s@example.org> to:\n-> jane@example.org\n\n"
                         b"was considered unsolicited bulk e-mail (UBE).\n",
                   last=b"Return-Path: <s@example.org>\n")
    return report(*texts, (b"message/delivery-status", DSN), head=head)


def space_runs(size: int) -> bytes:
    # Exchange Online's notice: "Reported error:" and its words, a long run of spaces inside.
    head = HEAD + b"X-MS-Exchange-Message-Is-Ndr: \n"
    line = (b"Reported error: 550 5.1.1 RESOLVER.ADR.RecipNotFound"
            + b" " * min(PART, max(1, size - 2000)) + b"x\n")
    texts = [(b"text/plain", b"Your message to jane@example.org couldn't be delivered.\n"
              + line)] * max(1, size // (len(line) + 100))
    return report(*texts, head=head)


def at_signs(size: int) -> bytes:
    # qmail: a line that starts like "<address>:" with many "@"s in its one word, unclosed.
    texts = spread(b"text/plain", b"a@", size,
                   first=b"Hi. This is the qmail-send program at mx.example.net.\n\n<",
                   last=b" no\n\n<jane@example.org>:\nno mailbox here by that name.\n")
    return report(*texts)


def exim_parameters(size: int) -> bytes:
    # Exim: MAIL FROM parameters "KEY=VALUE" with three "=" each, and no reply after.
    head = HEAD.replace(b"Undelivered Mail Returned to Sender",
                        b"Mail delivery failed: returning message to sender")
    text = (b"This message was created automatically by mail delivery software.\n\n"
            b"A message that you sent could not be delivered to one or more of its\n"
            b"recipients. This is a permanent error. The following address(es) failed:\n\n"
            b"  jane@example.org\n"
            b"    SMTP error from remote mail server after MAIL FROM:<s@example.org>"
            + repeat(b" a=b=c=d", size - 2000) + b":\n    no reply\n")
    return head + b"Content-Type: text/plain\n\n" + text


def html_tags(size: int) -> bytes:
    return report(*spread(b"text/html", b"<br", size), (b"message/delivery-status", DSN))


def encoded_words(size: int) -> bytes:
    words = repeat(b" =?utf-8?b?YQ==?=", size - 2000)
    return report((b"text/plain", NOTICE), (b"message/delivery-status", DSN),
                  head=HEAD.replace(b"Subject: Undelivered Mail Returned to Sender",
                                    b"Subject: Undelivered Mail Returned to Sender" + words))


def sendmail_transcript(size: int) -> bytes:
    # Sendmail pipelining: one DATA block with a reply and a verdict per recipient.
    head = HEAD.replace(b"Undelivered Mail Returned to Sender",
                        b"Returned mail: see transcript for details")
    unit = (b"<<< 550 5.1.1 <user%07d@example.org>... User unknown\n"
            b"550 5.1.1 <user%07d@example.org>... User unknown\n")
    count = max(1, (size - 3000) // (2 * len(unit % (0, 0))))
    listed = b"".join(b"<user%07d@example.org>\n" % i for i in range(count))
    text = (b"The original message was received at Mon, 2 Jun 2025 10:00:00 +0000\n"
            b"from client.example.org [192.0.2.10]\n\n"
            b"   ----- The following addresses had permanent fatal errors -----\n"
            + listed + b"\n   ----- Transcript of session follows -----\n"
            b"... while talking to mx.example.org.:\n>>> DATA\n"
            + b"".join(unit % (i, i) for i in range(count)))
    texts = [(b"text/plain", text[i:i + PART]) for i in range(0, len(text), PART)]
    return report(*texts, head=head)


def postfix_entries(size: int) -> bytes:
    # Postfix: many "<address>: ..." entries of the notice, each matched to its DSN group.
    entry = (b"<user%07d@example.org>: host mx.example.org[192.0.2.25] said: 550 5.1.1\n"
             b"    User unknown (in reply to RCPT TO command)\n\n")
    group = b"Final-Recipient: rfc822; user%07d@example.org\nAction: failed\nStatus: 5.1.1\n\n"
    count = max(1, (size - 3000) // (len(entry % 0) + len(group % 0)))
    notice = (b"This is the mail system at host mx.example.net.\n\n"
              + b"".join(entry % i for i in range(count)))
    groups = b"Reporting-MTA: dns; mx.example.net\n\n" + b"".join(group % i
                                                                  for i in range(count))
    return report(*[(b"text/plain", notice[i:i + PART]) for i in range(0, len(notice), PART)],
                  *[(b"message/delivery-status", groups[i:i + PART])
                    for i in range(0, len(groups), PART)])


def shared_host(size: int) -> bytes:
    # One long Reporting-MTA (many labels) that every recipient's record carries.
    group = b"Final-Recipient: rfc822; user%07d@example.org\nAction: failed\nStatus: 5.1.1\n\n"
    host = b"Reporting-MTA: dns; " + repeat(b"a.", PART // 2) + b"example.net\n\n"
    count = max(1, (size - len(host) - 2000) // len(group % 0))
    groups = host + b"".join(group % i for i in range(count))
    return report(*[(b"message/delivery-status", groups[i:i + PART])
                    for i in range(0, len(groups), PART)])


def nested_quotes(size: int) -> bytes:
    # Recipients wrapped in many quotes, taken off one layer at a time.
    layers = PART // 4
    group = (b"Final-Recipient: rfc822; " + b"'" * layers + b"jane@example.org" + b"'" * layers
             + b"\nAction: failed\nStatus: 5.1.1\n")
    count = max(1, size // (len(group) + 100))
    return report(*[(b"message/delivery-status", b"Reporting-MTA: dns; mx.example.net\n\n"
                     + group)] * count)


def apostrophes(size: int) -> bytes:
    # Apostrophes inside one word ("a'a'a'..."), where an address may keep one in its local
    # part (o'brien@...): in the bounce's From and the returned original's senders.
    word = repeat(b"a'", min(PART, size // 3))
    head = HEAD.replace(b"From: MAILER-DAEMON@mx.example.net",
                        b"From: " + word + b" <MAILER-DAEMON@mx.example.net>")
    original = (b"Return-Path: <" + word + b">\nFrom: " + word + b"\nTo: jane@example.org\n"
                b"Subject: hi\n")
    return report((b"text/plain", NOTICE), (b"message/delivery-status", DSN),
                  (b"text/rfc822-headers", original), head=head)


SHAPES: dict[str, Callable[[int], bytes]] = {
    "folded-header": folded_header,
    "many-headers": many_headers,
    "many-parts": many_parts,
    "deep-nesting": deep_nesting,
    "dsn-recipients": dsn_recipients,
    "long-diagnostic": long_diagnostic,
    "blank-lines": blank_lines,
    "space-runs": space_runs,
    "at-signs": at_signs,
    "exim-parameters": exim_parameters,
    "html-tags": html_tags,
    "encoded-words": encoded_words,
    "sendmail-transcript": sendmail_transcript,
    "postfix-entries": postfix_entries,
    "shared-host": shared_host,
    "nested-quotes": nested_quotes,
    "apostrophes": apostrophes,
}


class Figures(NamedTuple):
    """What one parse cost (a child's JSON line)."""

    size: int
    seconds: float
    peak_kib: int
    """The child's peak resident memory."""
    over_kib: int
    """... of which the parse added over the built message."""
    records: int
    error: str


def child(shape: str, size: int, memory_gib: float) -> None:
    """Build one message, parse it, print what it cost as JSON (run in its own process,
    its address space limited: a parse that runs out of memory fails, not the machine)."""
    import resource
    import time

    from bounceloop.parsing import parse

    cap = int(memory_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    raw = SHAPES[shape](size)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    result = parse(raw)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(Figures(len(raw), seconds, peak, max(peak - before, 0),
                             len(result.records), result.error[:200])._asdict()))


def measure(shape: str, size: int, src: Path, limit: float, memory_gib: float
            ) -> tuple[Figures | None, str]:
    """One child's figures, or None and why: it overran the time limit, ran out of the
    memory it may use (the parser reports a MemoryError), or was killed."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", shape, str(size),
                               str(memory_gib)],
                              capture_output=True, env=env, timeout=limit + 15, check=False)
    except subprocess.TimeoutExpired:
        return None, f">{limit:g}"
    if proc.returncode < 0:
        return None, signal.Signals(-proc.returncode).name
    if proc.returncode != 0:
        if b"MemoryError" in proc.stderr:
            return None, f">{memory_gib:g}GiB"
        raise SystemExit(f"{shape} at {size}: {proc.stderr.decode()[-2000:]}")
    figures = Figures(**json.loads(proc.stdout))
    if "MemoryError" in figures.error:
        return None, f">{memory_gib:g}GiB"
    return (None, f">{limit:g}") if figures.seconds > limit else (figures, "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", action="append", choices=sorted(SHAPES),
                    help="measure only this shape (repeatable; default all)")
    ap.add_argument("--limit", type=float, default=60.0,
                    help="seconds a parse may take before it is stopped (default 60)")
    ap.add_argument("--src", type=Path, default=ROOT / "src",
                    help="the source tree to parse with (default this one's)")
    ap.add_argument("--largest", type=int, default=0,
                    help="the largest size in bytes (default the SMTP size limit)")
    ap.add_argument("--memory", type=float, default=4.0,
                    help="GiB of address space a parse may use (default 4)")
    ap.add_argument("--child", nargs=3, metavar=("SHAPE", "BYTES", "GIB"),
                    help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child[0], int(a.child[1]), float(a.child[2]))
        return 0
    sys.path.insert(0, str(ROOT / "src"))
    from bounceloop.config import Settings

    limit_size = Settings().smtp_max_size
    largest = a.largest or limit_size
    sizes = [largest // 4, largest // 2, largest]
    print(f"parser: {a.src}\nsizes: {', '.join(f'{s:,}' for s in sizes)} bytes "
          f"(the SMTP size limit is {limit_size:,}); at most {a.limit:g} s per parse\n")
    print(f"{'shape':<20} {'1x s':>8} {'2x s':>8} {'4x s':>8}  {'2x/1x':>6} {'4x/2x':>6}"
          f"  {'peak MB':>8} {'parse MB':>8} {'records':>8}")
    worst: tuple[float, str] | None = None
    for shape in a.shape or list(SHAPES):
        runs: list[Figures | None] = []
        notes: list[str] = []
        for size in sizes:
            # Once a size overran the limit (or was killed), a larger one would too.
            run, note = (measure(shape, size, a.src, a.limit, a.memory)
                         if not notes or not notes[-1] else (None, notes[-1]))
            runs.append(run)
            notes.append(note)
        cells = [f"{r.seconds:8.3f}" if r is not None else f"{note:>8}"
                 for r, note in zip(runs, notes, strict=True)]
        ratios = [f"{b.seconds / p.seconds:6.2f}" if p is not None and b is not None
                  else f"{'-':>6}" for p, b in itertools.pairwise(runs)]
        top = runs[-1]
        memory = (f"{top.peak_kib / 1024:8.0f} {top.over_kib / 1024:8.0f} {top.records:>8}"
                  if top is not None else f"{'-':>8} {'-':>8} {'-':>8}")
        print(f"{shape:<20} {' '.join(cells)}  {' '.join(ratios)}  {memory}")
        for r in runs:
            if r is not None and r.error:
                print(f"  {shape} at {r.size:,} bytes: {r.error}")
        at_largest = top.seconds if top is not None else float("inf")
        if worst is None or at_largest > worst[0]:
            worst = (at_largest, f"{shape}, " + (f"{at_largest:.1f} s" if top is not None
                                                 else notes[-1]))
    if worst is not None:
        print(f"\nworst at {sizes[-1]:,} bytes: {worst[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

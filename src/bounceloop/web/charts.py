"""Server-side SVG charts for the statistics page: daily stacked bars and horizontal bars.

Why on the server: the page then works without JavaScript (htmx only swaps fragments), a
chart is cached, tested and diffed like any other HTML, and no charting library has to be
shipped. These are pure functions of the data (stdlib only: no database, no FastAPI), and
the same data gives the same bytes.

Each chart is an ``<svg role="img">`` named by its own ``<title>`` and ``<desc>`` (a text
summary of the data for screen readers), scales to its container (a ``viewBox`` and width
100%, so it fits a phone), and gives every bar a ``<title>`` tooltip. Series carry the
classes ``s0``, ``s1``... with a default fill: a presentation attribute, so any stylesheet
rule overrides it. Labels are user data (domains, reasons, mailing names), so all text is
escaped.
"""

from __future__ import annotations

import datetime
import html
import math
import re
import zlib
from collections.abc import Sequence

#: Width of every chart in viewBox units; heights follow the content.
WIDTH = 640
#: Default fills (Tableau 10), one per series in order, repeated past ten.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
#: Font size, and the mean advance of one character at that size: layout is estimated, as
#: the server knows no font metrics.
FONT = 11
CHAR = 6.6
#: Height of the plot area of ``daily``; rows of ``bars``.
PLOT = 200
ROW = 22
#: A date label on the x axis ("11-20"), with the room it needs.
DATE_LABEL = CHAR * 5 + 8
#: Longer labels of ``bars`` are shortened on screen (the tooltip keeps them whole).
LABEL_MAX = 28

# Characters XML 1.0 forbids: a NUL in a label must not make the page's SVG unparseable.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def daily(days: Sequence[datetime.date], series: Sequence[tuple[str, Sequence[int]]], *,
          title: str) -> str:
    """A stacked bar chart: one bar per day, one segment per series (in the order given,
    the first at the bottom), with y ticks, date labels (thinned to stay readable), a legend
    and a tooltip per segment ("2026-11-20 · failed: 1,234").

    Each series has one count per day. Raises ValueError when a series' length does not
    match the days or a count is negative; no days or no series give a "no data" chart.
    """
    for name, values in series:
        if len(values) != len(days):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(days)} days")
        if any(v < 0 for v in values):
            raise ValueError(f"series {name!r} has a negative count")
    if not days or not series:
        return _empty("daily", title)

    totals = [sum(values[i] for _, values in series) for i in range(len(days))]
    marks = ticks(max(totals))
    scale = PLOT / (marks[-1] or 1)  # all zero: one tick at 0, and bars of no height
    left = 10 + CHAR * max(len(_count(m)) for m in marks)
    right = WIDTH - DATE_LABEL / 2  # the latest day's label is centred under its bar
    legend, legend_h = _legend([name for name, _ in series])
    top = legend_h + 10
    base = top + PLOT
    body = [*legend]

    for m in marks:
        y = _num(base - m * scale)
        body.append(f'<line class="grid" x1="{_num(left)}" x2="{_num(right)}" y1="{y}" y2="{y}" '
                    f'stroke="#ddd"/>')
        body.append(f'<text class="tick" x="{_num(left - 6)}" y="{y}" dy="0.35em" '
                    f'text-anchor="end" fill="#555">{_count(m)}</text>')

    slot = (right - left) / len(days)
    width = min(slot * 0.75, 48)
    every = max(1, math.ceil(DATE_LABEL / slot))  # a date label every `every` days...
    for i, day in enumerate(days):
        x = left + i * slot + (slot - width) / 2
        body.append('<g class="day">')
        below = 0  # count already stacked under this segment
        for k, (name, values) in enumerate(series):
            v = values[i]
            if not v:
                continue
            y_top, y_bottom = base - (below + v) * scale, base - below * scale
            below += v
            body.append(
                f'<rect class="s{k}" x="{_num(x)}" y="{_num(y_top)}" width="{_num(width)}" '
                f'height="{_num(y_bottom - y_top)}" fill="{PALETTE[k % len(PALETTE)]}">'
                f"<title>{day.isoformat()} · {_esc(name)}: {_count(v)}</title></rect>")
        body.append("</g>")
    for i, day in enumerate(days):
        if (len(days) - 1 - i) % every == 0:  # ...counted back from the latest day
            body.append(f'<text class="date" x="{_num(left + (i + 0.5) * slot)}" '
                        f'y="{_num(base + 16)}" text-anchor="middle" fill="#555">'
                        f"{day.isoformat()[5:]}</text>")
    body.append(f'<line class="axis" x1="{_num(left)}" x2="{_num(right)}" y1="{_num(base)}" '
                f'y2="{_num(base)}" stroke="#888"/>')

    sums = ", ".join(f"{name} {_count(sum(values))}" for name, values in series)
    desc = (f"{title}: daily counts from {days[0].isoformat()} to {days[-1].isoformat()} "
            f"({len(days)} days). Totals: {sums}; {_count(sum(totals))} in all.")
    if any(totals):
        peak = totals.index(max(totals))
        desc += f" Busiest day: {days[peak].isoformat()} with {_count(totals[peak])}."
    return _svg("daily", title, desc, base + 26, body)


def bars(items: Sequence[tuple[str, int]], *, title: str) -> str:
    """A horizontal bar chart, one row per item in the order given: label, bar (the largest
    count fills the width) and count, with a tooltip per bar ("userunknown: 1,234 (48.6 %)",
    the share of all the counts).

    Raises ValueError on a negative count; no items give a "no data" chart.
    """
    if any(n < 0 for _, n in items):
        raise ValueError("negative count in " + ", ".join(repr(k) for k, n in items if n < 0))
    if not items:
        return _empty("bars", title)

    total = sum(n for _, n in items)
    peak = max(n for _, n in items)
    shown = [_clip(label) for label, _ in items]
    x0 = 8 + CHAR * max(len(s) for s in shown)
    span = WIDTH - 8 - CHAR * max(len(_count(n)) for _, n in items) - x0
    body = []
    for i, ((label, n), text) in enumerate(zip(items, shown, strict=True)):
        y = 6 + i * ROW
        mid = _num(y + 7)
        width = n / peak * span if peak else 0
        whole = f"<title>{_esc(label)}</title>" if text != label else ""
        body += [
            '<g class="item">',
            f'<text class="label" x="{_num(x0 - 6)}" y="{mid}" dy="0.35em" '
            f'text-anchor="end">{whole}{_esc(text)}</text>',
            f'<rect class="bar s0" x="{_num(x0)}" y="{y}" width="{_num(width)}" height="14" '
            f'fill="{PALETTE[0]}"><title>{_esc(label)}: {_count(n)} ({_percent(n, total)})'
            "</title></rect>",
            f'<text class="count" x="{_num(x0 + width + 4)}" y="{mid}" dy="0.35em" '
            f'fill="#555">{_count(n)}</text>',
            "</g>",
        ]
    rows = "; ".join(f"{label}: {_count(n)} ({_percent(n, total)})" for label, n in items)
    desc = f"{title}: {len(items)} items, {_count(total)} in all. {rows}."
    return _svg("bars", title, desc, 6 + len(items) * ROW + 2, body)


def ticks(peak: int, most: int = 5) -> list[int]:
    """Axis ticks from 0 to at least `peak`, at most `most` steps of 1, 2 or 5 times a power
    of ten (counts are whole: no step under 1); [0] when peak is 0."""
    if peak <= 0:
        return [0]
    power = 1
    while True:
        for m in (1, 2, 5):
            step = m * power
            if step * most >= peak:
                return list(range(0, -(-peak // step) * step + 1, step))
        power *= 10


def _legend(names: Sequence[str]) -> tuple[list[str], float]:
    """The legend (a swatch and a name per series, in rows that wrap), and its height."""
    out: list[str] = []
    x, y = 8.0, 4
    for k, name in enumerate(names):
        room = 14 + CHAR * len(name) + 16
        if x > 8 and x + room > WIDTH - 8:
            x, y = 8.0, y + 18
        out.append(f'<g class="legend"><rect class="s{k}" x="{_num(x)}" y="{y + 1}" '
                   f'width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>'
                   f'<text x="{_num(x + 14)}" y="{y + 6}" dy="0.35em">{_esc(name)}</text></g>')
        x += room
    return out, y + 14


def _empty(kind: str, title: str) -> str:
    body = [f'<text class="empty" x="{WIDTH // 2}" y="30" dy="0.35em" text-anchor="middle" '
            'fill="#777">no data</text>']
    return _svg(kind, title, f"{title}: no data.", 60, body)


def _svg(kind: str, title: str, desc: str, height: float, body: list[str]) -> str:
    # Ids from the content: two charts on one page get two ids, and output stays the same.
    key = zlib.crc32("\n".join([kind, title, desc, *body]).encode("utf-8", "replace"))
    ident = f"chart-{key:08x}"
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
        f'viewBox="0 0 {WIDTH} {_num(height)}" width="100%" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-family="sans-serif" '
        f'font-size="{FONT}">',
        f'<title id="{ident}-title">{_esc(title)}</title>',
        f'<desc id="{ident}-desc">{_esc(desc)}</desc>',
        *body,
        "</svg>",
    ])


def _esc(text: str) -> str:
    """Text for an element or a quoted attribute: markup and quotes escaped, characters XML
    forbids replaced by U+FFFD."""
    return html.escape(_FORBIDDEN.sub("\ufffd", text), quote=True)


def _clip(label: str) -> str:
    return label if len(label) <= LABEL_MAX else label[:LABEL_MAX - 1] + "…"


def _count(n: int) -> str:
    return f"{n:,}"


def _percent(n: int, total: int) -> str:
    return f"{100 * n / total:.1f} %" if total else "0.0 %"


def _num(x: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text

"""SVG charts (web.charts): parsed back with ElementTree, for what a reader of the page sees:
bars proportional to the counts, tooltips, axis labels that stay readable, and labels that
cannot break out of the markup."""

from __future__ import annotations

import datetime
import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from bounceloop.web import charts

SVG = "{http://www.w3.org/2000/svg}"
START = datetime.date(2026, 11, 1)


def days(n: int) -> list[datetime.date]:
    return [START + datetime.timedelta(days=i) for i in range(n)]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything but well-formed XML


def all_(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    found = root.iter(SVG + tag)
    return [e for e in found if cls is None or cls in e.get("class", "").split()]


def tooltip(e: ET.Element) -> str:
    title = e.find(SVG + "title")
    assert title is not None
    return title.text or ""


def attr(e: ET.Element, name: str) -> float:
    return float(e.get(name, "nan"))


# ---------------------------------------------------------------------------------------------
# daily: stacked bars per day
# ---------------------------------------------------------------------------------------------

DAILY = {
    "one series": [("delivered", [5, 0, 7])],
    "three series": [("delivered", [120, 80, 0, 95]), ("deferred", [3, 0, 0, 12]),
                     ("failed", [1, 9, 0, 0])],
    "millions": [("delivered", [1_234_567, 2_000_000]), ("failed", [45_678, 0])],
    "a single day": [("delivered", [42]), ("deferred", [8])],
}


@pytest.mark.parametrize("series", DAILY.values(), ids=DAILY.keys())
def test_daily_bars(series: list[tuple[str, list[int]]]) -> None:
    dates = days(len(series[0][1]))
    root = parse(charts.daily(dates, series, title="Deliveries"))
    groups = all_(root, "g", "day")
    assert len(groups) == len(dates)

    top = max(int(t.text.replace(",", "")) for t in all_(root, "text", "tick") if t.text)
    scale = charts.PLOT / top
    base = attr(all_(root, "line", "axis")[0], "y1")
    for day, group, i in zip(dates, groups, range(len(dates)), strict=True):
        rects = group.findall(SVG + "rect")
        present = [(k, name, values[i]) for k, (name, values) in enumerate(series) if values[i]]
        assert len(rects) == len(present)  # no segment for a zero
        bottom = base
        for rect, (k, name, value) in zip(rects, present, strict=True):
            assert rect.get("class") == f"s{k}"
            assert rect.get("fill") == charts.PALETTE[k]
            assert tooltip(rect) == f"{day.isoformat()} · {name}: {value:,}"
            height = attr(rect, "height")
            assert height == pytest.approx(value * scale, abs=0.011)  # two decimals
            assert attr(rect, "y") + height == pytest.approx(bottom, abs=0.011)  # stacked
            bottom = attr(rect, "y")
        total = sum(values[i] for _, values in series)
        assert base - bottom == pytest.approx(total * scale, abs=0.011)

    legend = [(g.find(SVG + "rect"), g.find(SVG + "text")) for g in all_(root, "g", "legend")]
    assert [(r.get("class"), t.text) for r, t in legend if r is not None and t is not None] \
        == [(f"s{k}", name) for k, (name, _) in enumerate(series)]


@pytest.mark.parametrize(("peak", "expected"), [
    (0, [0]),
    (1, [0, 1]),
    (3, [0, 1, 2, 3]),
    (5, [0, 1, 2, 3, 4, 5]),
    (7, [0, 2, 4, 6, 8]),
    (10, [0, 2, 4, 6, 8, 10]),
    (101, [0, 50, 100, 150]),
    (12_345, [0, 5_000, 10_000, 15_000]),
    (1_000_000, [0, 200_000, 400_000, 600_000, 800_000, 1_000_000]),
])
def test_ticks(peak: int, expected: list[int]) -> None:
    assert charts.ticks(peak) == expected
    root = parse(charts.daily(days(1), [("delivered", [peak])], title="t"))
    assert [t.text for t in all_(root, "text", "tick")] == [f"{n:,}" for n in expected]


@pytest.mark.parametrize(("n", "fewest", "most"), [
    (1, 1, 1),
    (7, 7, 7),
    (14, 14, 14),
    (30, 8, 15),
    (90, 8, 15),
    (365, 8, 15),
])
def test_date_labels_thinned(n: int, fewest: int, most: int) -> None:
    dates = days(n)
    root = parse(charts.daily(dates, [("delivered", [1] * n)], title="t"))
    labels = all_(root, "text", "date")
    assert fewest <= len(labels) <= most
    assert labels[-1].text == dates[-1].isoformat()[5:]  # the latest day is always named
    xs = [attr(t, "x") for t in labels]
    gaps = [b - a for a, b in itertools.pairwise(xs)] or [charts.DATE_LABEL]
    assert max(gaps) - min(gaps) < 0.02  # evenly spaced (coordinates have two decimals)...
    assert min(gaps) >= charts.DATE_LABEL - 0.01  # ...and not overlapping


def test_daily_description() -> None:
    root = parse(charts.daily(days(3), [("delivered", [1_000, 2_500, 0]), ("failed", [0, 4, 0])],
                              title="November"))
    desc = root.find(SVG + "desc")
    assert desc is not None
    assert desc.text == ("November: daily counts from 2026-11-01 to 2026-11-03 (3 days). "
                         "Totals: delivered 3,500, failed 4; 3,504 in all. "
                         "Busiest day: 2026-11-02 with 2,504.")


def test_daily_all_zero() -> None:
    root = parse(charts.daily(days(5), [("delivered", [0] * 5), ("failed", [0] * 5)],
                              title="Quiet"))
    groups = all_(root, "g", "day")
    assert len(groups) == 5
    assert all(g.find(SVG + "rect") is None for g in groups)  # no bar of height 0
    assert [t.text for t in all_(root, "text", "tick")] == ["0"]
    desc = root.find(SVG + "desc")
    assert desc is not None and "0 in all." in (desc.text or "")
    assert "Busiest" not in (desc.text or "")


@pytest.mark.parametrize(("series", "message"), [
    ([("delivered", [1, 2])], "has 2 values for 3 days"),
    ([("delivered", [1, -2, 3])], "negative"),
])
def test_daily_bad_input(series: list[tuple[str, list[int]]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        charts.daily(days(3), series, title="t")


# ---------------------------------------------------------------------------------------------
# bars: one horizontal bar per item
# ---------------------------------------------------------------------------------------------

BARS = {
    "reasons": [("userunknown", 600), ("mailboxfull", 300), ("blocked", 100)],
    "one": [("example.com", 1)],
    "thousands": [("gmail.com", 1_234_567), ("outlook.com", 89_012), ("tiny.test", 3)],
    "with zeros": [("a", 5), ("b", 0), ("c", 15)],
}


@pytest.mark.parametrize("items", BARS.values(), ids=BARS.keys())
def test_bars(items: list[tuple[str, int]]) -> None:
    root = parse(charts.bars(items, title="Reasons"))
    rows = all_(root, "g", "item")
    assert len(rows) == len(all_(root, "rect", "bar")) == len(items)
    total = sum(n for _, n in items)
    peak = max(n for _, n in items)
    widths = [attr(r, "width") for r in all_(root, "rect", "bar")]
    full = max(widths)
    for row, (label, n), width in zip(rows, items, widths, strict=True):
        rect = row.find(SVG + "rect")
        texts = row.findall(SVG + "text")
        assert rect is not None
        assert tooltip(rect) == f"{label}: {n:,} ({100 * n / total:.1f} %)"
        assert width == pytest.approx(full * n / peak, abs=0.011)
        assert [t.text for t in texts] == [label, f"{n:,}"]
        assert attr(texts[1], "x") > attr(rect, "x") + width  # the count after its bar
    assert full <= charts.WIDTH - attr(all_(root, "rect", "bar")[0], "x")


@pytest.mark.parametrize(("items", "tooltips"), [
    ([("a", 1), ("b", 2)], ["a: 1 (33.3 %)", "b: 2 (66.7 %)"]),
    ([("a", 0), ("b", 0)], ["a: 0 (0.0 %)", "b: 0 (0.0 %)"]),  # no division by zero
    ([("x", 1), ("y", 999)], ["x: 1 (0.1 %)", "y: 999 (99.9 %)"]),
    ([("big", 10_000_000)], ["big: 10,000,000 (100.0 %)"]),
])
def test_bar_tooltips(items: list[tuple[str, int]], tooltips: list[str]) -> None:
    root = parse(charts.bars(items, title="t"))
    assert [tooltip(r) for r in all_(root, "rect", "bar")] == tooltips


def test_long_label_shortened_on_screen_only() -> None:
    label = "a-very-long-subdomain.of.some-mail-provider.example"
    root = parse(charts.bars([(label, 3)], title="t"))
    text = all_(root, "text", "label")[0]
    whole = text.find(SVG + "title")
    assert whole is not None and whole.text == label
    assert whole.tail == label[:charts.LABEL_MAX - 1] + "…"
    assert tooltip(all_(root, "rect", "bar")[0]) == f"{label}: 3 (100.0 %)"


def test_bars_description() -> None:
    root = parse(charts.bars([("userunknown", 3_000), ("blocked", 1_000)], title="Why"))
    desc = root.find(SVG + "desc")
    assert desc is not None
    assert desc.text == ("Why: 2 items, 4,000 in all. userunknown: 3,000 (75.0 %); "
                         "blocked: 1,000 (25.0 %).")


def test_bars_negative() -> None:
    with pytest.raises(ValueError, match="'b'"):
        charts.bars([("a", 1), ("b", -1)], title="t")


# ---------------------------------------------------------------------------------------------
# Both: no data, escaping, accessibility, scaling, determinism
# ---------------------------------------------------------------------------------------------

EMPTY = {
    "daily, no days": lambda: charts.daily([], [], title="Nothing"),
    "daily, no days but series": lambda: charts.daily([], [("delivered", [])], title="Nothing"),
    "daily, days but no series": lambda: charts.daily(days(7), [], title="Nothing"),
    "bars, no items": lambda: charts.bars([], title="Nothing"),
}


@pytest.mark.parametrize("make", EMPTY.values(), ids=EMPTY.keys())
def test_no_data(make: Callable[[], str]) -> None:
    root = parse(make())
    assert [t.text for t in all_(root, "text")] == ["no data"]
    assert all_(root, "rect") == []
    desc = root.find(SVG + "desc")
    assert desc is not None and desc.text == "Nothing: no data."


HOSTILE = [
    "<script>alert(1)</script>",
    "\"&'",
    "]]><svg onload=alert(1)>",
    "a &amp; b",
    "</title><script>x</script>",
    "nul\x00and\x1bescape",
]


def _hostile_charts(label: str) -> list[str]:
    return [charts.daily(days(2), [(label, [1, 2])], title=label),
            charts.bars([(label, 5), ("ok", 1)], title=label)]


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_labels_stay_text(label: str) -> None:
    shown = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", label)  # what XML can carry
    for svg in _hostile_charts(label):
        root = parse(svg)
        assert not any(e.tag.endswith("script") for e in root.iter())
        assert all(not k.startswith("on") for e in root.iter() for k in e.attrib)
        title = root.find(SVG + "title")
        assert title is not None and title.text == shown
        texts = ["".join(t.itertext()) for t in all_(root, "text")]
        tips = [tooltip(r) for r in all_(root, "rect") if r.find(SVG + "title") is not None]
        assert shown in texts  # the legend or the bar's label
        assert any(shown in tip for tip in tips)
        assert "<script" not in svg and "\x00" not in svg


CHARTS = {
    "daily": lambda: charts.daily(days(30), [("delivered", list(range(30))),
                                             ("failed", [2] * 30)], title="Daily"),
    "bars": lambda: charts.bars([("a", 1), ("b", 2)], title="Bars"),
    "empty": lambda: charts.bars([], title="Empty"),
}


@pytest.mark.parametrize("make", CHARTS.values(), ids=CHARTS.keys())
def test_accessible_and_scalable(make: Callable[[], str]) -> None:
    svg = make()
    root = parse(svg)
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.get("height") is None  # the viewBox gives the aspect ratio
    x, y, w, h = (float(v) for v in root.get("viewBox", "").split())
    assert (x, y, w) == (0, 0, charts.WIDTH) and h > 0
    ids = (root.get("aria-labelledby") or "").split()
    named = {e.get("id"): e.tag for e in root.iter() if e.get("id")}
    assert [named.get(i) for i in ids] == [SVG + "title", SVG + "desc"]
    assert list(root)[:2] == [root.find(SVG + "title"), root.find(SVG + "desc")]
    assert make() == svg  # deterministic


def test_ids_differ_between_charts() -> None:
    one = parse(charts.bars([("a", 1)], title="Same"))
    two = parse(charts.bars([("a", 2)], title="Same"))
    assert one.get("aria-labelledby") != two.get("aria-labelledby")

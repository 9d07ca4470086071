"""Charts drawn on the server as SVG (no script, no inline style: the page's
Content-Security-Policy holds): bars for an indicator, stacked or side-by-side bars and lines
for its breakdown; the table under each chart carries the same numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

from stats.breakdown import Breakdown
from stats.indicators import TOTAL, Result

WIDTH, LABEL, BAR, GAP = 640, 260, 22, 8
PLOT = WIDTH - LABEL - 60


@dataclass
class Bar:
    label: str
    shown: str
    y: int
    width: int
    text_y: int
    value_x: int


@dataclass
class Chart:
    bars: list[Bar]
    height: int
    width: int = WIDTH
    label_x: int = LABEL - 8
    bar_x: int = LABEL


def bar_chart(result: Result) -> Chart | None:
    """Horizontal bars for the rows shown (hidden ones are not drawn); None when none is."""
    rows = [r for r in result.bars if r.value is not None]
    if not rows:
        return None
    top = max(float(r.value or 0) for r in rows) or 1.0
    bars = []
    for i, r in enumerate(rows):
        y = GAP + i * (BAR + GAP)
        width = round(PLOT * float(r.value or 0) / top)
        bars.append(Bar(label=r.label[:40], shown=r.shown, y=y, width=width,
                        text_y=y + BAR // 2 + 5, value_x=LABEL + width + 6))
    return Chart(bars=bars, height=GAP + len(rows) * (BAR + GAP))


# Okabe and Ito's palette: told apart by people with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999", "#882255", "#117733", "#332288")


@dataclass
class Series:
    label: str
    colour: str


@dataclass
class Segment:
    x: int
    y: int
    width: int
    height: int
    colour: str
    title: str


@dataclass
class GroupBar:
    label: str
    text_y: int
    segments: list[Segment]


@dataclass
class BreakdownChart:
    kind: str  # "stacked", "grouped" or "line"
    series: list[Series]
    height: int
    bars: list[GroupBar] = field(default_factory=list)
    lines: list[Polyline] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    width: int = WIDTH
    label_x: int = LABEL - 8
    bar_x: int = LABEL
    top: int = 0


@dataclass
class Polyline:
    series: Series
    points: str  # "x,y x,y ..." of one unbroken run (a hidden value breaks the line)
    dots: list[tuple[int, int, str]]


@dataclass
class Tick:
    x: int
    label: str


def _parts(b: Breakdown) -> list[tuple[int, str, Series]]:
    """The columns drawn (the total is the sum of the stacked parts, not a part of them)."""
    keys = [(i, label) for i, (key, label) in enumerate(b.columns) if key != TOTAL]
    return [(i, label, Series(label, PALETTE[n % len(PALETTE)])) for n, (i, label) in enumerate(keys)]


def breakdown_chart(b: Breakdown) -> BreakdownChart | None:
    """By month: a line per category. Otherwise a bar per group, its categories stacked
    where they are parts of a whole, side by side where they are not. Hidden cells are not
    drawn; None when nothing is shown."""
    parts = _parts(b)
    shown = [float(v) for line in b.lines for i, _l, _s in parts
             if (v := line.cells[i].value) is not None]
    if not shown or not any(shown):
        return None
    if b.by == "month":
        return _line_chart(b, parts)
    stacked = b.indicator.totalled
    if stacked:
        top = max(sum(float(line.cells[i].value or 0) for i, _l, _s in parts) for line in b.lines)
    else:
        top = max(shown)
    top = top or 1.0
    height_each = BAR if stacked else max(6, BAR // 2) * len(parts)
    bars, y = [], GAP
    for line in b.lines:
        segments, x = [], LABEL
        for n, (i, label, series) in enumerate(parts):
            cell = line.cells[i]
            width = round(PLOT * float(cell.value or 0) / top)
            title = f"{line.group.label} · {label}: {cell.shown}"
            if stacked:
                if cell.value:
                    segments.append(Segment(x, y, width, BAR, series.colour, title))
                x += width
            elif cell.value:
                h = max(6, BAR // 2)
                segments.append(Segment(LABEL, y + n * h, width, h, series.colour, title))
        bars.append(GroupBar(line.group.label[:40], y + height_each // 2 + 5, segments))
        y += height_each + GAP
    return BreakdownChart("stacked" if stacked else "grouped", [s for *_r, s in parts],
                          height=y, bars=bars)


LINE_HEIGHT, LINE_TOP, LINE_LEFT = 240, 12, 48


def _line_chart(b: Breakdown, parts: list[tuple[int, str, Series]]) -> BreakdownChart:
    top = max(float(line.cells[i].value or 0) for line in b.lines for i, _l, _s in parts) or 1.0
    step = (WIDTH - LINE_LEFT - 20) / max(1, len(b.lines) - 1)

    def at(n: int, value: float) -> tuple[int, int]:
        return (round(LINE_LEFT + n * step), round(LINE_TOP + LINE_HEIGHT * (1 - value / top)))

    polylines = []
    for i, _label, series in parts:
        run: list[tuple[int, int]] = []
        dots = []
        for n, line in enumerate(b.lines):
            cell = line.cells[i]
            if cell.value is None:  # hidden: the line breaks here
                if len(run) > 1:
                    polylines.append(Polyline(series, " ".join(f"{x},{y}" for x, y in run), []))
                run = []
                continue
            point = at(n, float(cell.value))
            run.append(point)
            dots.append((*point, f"{line.group.label} · {series.label}: {cell.shown}"))
        if len(run) > 1:
            polylines.append(Polyline(series, " ".join(f"{x},{y}" for x, y in run), []))
        if dots:
            polylines.append(Polyline(series, "", dots))
    ticks = [Tick(at(n, 0)[0], line.group.label[:3]) for n, line in enumerate(b.lines)]
    return BreakdownChart("line", [s for *_r, s in parts], height=LINE_TOP + LINE_HEIGHT + 28,
                          lines=polylines, ticks=ticks, top=round(top))

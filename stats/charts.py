"""Bar charts drawn on the server as SVG (no script, no inline style: the page's
Content-Security-Policy holds); the table under each chart carries the same numbers."""

from __future__ import annotations

from dataclasses import dataclass

from stats.indicators import Result

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

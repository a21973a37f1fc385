"""Charts as plain geometry for server-rendered SVG (``admin/onboarding/chart.html`` draws them).

No script and no inline style: shapes carry presentation attributes (position, size) and CSS classes
that ``onboarding/overview.css`` colours, so the charts work under the strict Content-Security-Policy
and follow the admin's light and dark themes. Every bar and point has a ``<title>`` (a tooltip); the
overview page also lists every number in a table for screen readers.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

WIDE = 960
NARROW = 320
ROW_HEIGHT = 26


@dataclass(frozen=True)
class Series:
    key: str
    label: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    css: str = "chart-label"


@dataclass(frozen=True)
class Segment:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    css: str
    title: str


@dataclass(frozen=True)
class Polyline:
    points: str
    css: str


@dataclass(frozen=True)
class LegendEntry:
    x: float
    label: str
    css: str

    @property
    def label_x(self) -> float:
        return self.x + 20


@dataclass
class Chart:
    """A chart's shapes in the coordinates of its ``viewBox`` (``0 0 width height``)."""

    width: int
    height: int
    title: str
    description: str
    texts: list[Text] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    polylines: list[Polyline] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    legend: list[LegendEntry] = field(default_factory=list)


@dataclass(frozen=True)
class _Plot:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


def nice_axis(maximum: float, *, ticks: int = 4, whole: bool = True) -> list[float]:
    """Ticks from 0 to a round number at or above ``maximum``, steps of 1, 2, 2.5 or 5 times a power of 10."""
    maximum = max(maximum, 1.0)
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(1.0, math.ceil(step))
    count = math.ceil(maximum / step - 1e-9)
    return [round(step * n, 6) for n in range(count + 1)]


def _legend(series: Sequence[Series], chart: Chart, plot: _Plot) -> None:
    x = plot.left
    for item in series:
        chart.legend.append(LegendEntry(x=round(x, 1), label=item.label, css=f"chart-fill-{item.key}"))
        x += 28 + 7.5 * len(item.label)


def _value_axis(chart: Chart, plot: _Plot, ticks: list[float], label: Callable[[float], str]) -> None:
    for tick in ticks:
        y = round(plot.bottom - plot.height * tick / ticks[-1], 1)
        chart.segments.append(Segment(plot.left, y, plot.right, y, "chart-grid"))
        chart.texts.append(Text(plot.left - 6, y + 4, label(tick), anchor="end", css="chart-tick"))
    chart.segments.append(Segment(plot.left, plot.bottom, plot.right, plot.bottom, "chart-axis"))


def _category_axis(chart: Chart, plot: _Plot, labels: list[str], every: int) -> float:
    """Day labels under the plot, every ``every``-th counted back from the last; returns the slot width."""
    slot = plot.width / len(labels)
    for index, label in enumerate(labels):
        x = round(plot.left + slot * (index + 0.5), 1)
        chart.segments.append(Segment(x, plot.bottom, x, plot.bottom + 4, "chart-axis"))
        if (len(labels) - 1 - index) % every == 0:
            chart.texts.append(Text(x, plot.bottom + 18, label, css="chart-tick"))
    return slot


def stacked_columns(
    *,
    title: str,
    description: str,
    categories: list[str],
    stacks: list[dict[str, int]],
    series: Sequence[Series],
    label_every: int = 5,
) -> Chart:
    """One column per category, its series stacked from the bottom in the order of ``series``."""
    chart = Chart(width=WIDE, height=280, title=title, description=description)
    plot = _Plot(left=56, top=40, right=WIDE - 24, bottom=236)
    _legend(series, chart, plot)
    ticks = nice_axis(max((sum(stack.values()) for stack in stacks), default=0))
    _value_axis(chart, plot, ticks, lambda tick: f"{tick:g}")
    slot = _category_axis(chart, plot, categories, label_every)
    scale = plot.height / ticks[-1]
    for index, (category, stack) in enumerate(zip(categories, stacks, strict=True)):
        bottom = plot.bottom
        for item in series:
            count = stack.get(item.key, 0)
            if not count:
                continue
            height = count * scale
            chart.bars.append(
                Bar(
                    x=round(plot.left + slot * (index + 0.15), 1),
                    y=round(bottom - height, 1),
                    width=round(slot * 0.7, 1),
                    height=round(height, 1),
                    css=f"chart-fill-{item.key}",
                    title=f"{category}: {count} {item.label.lower()}",
                )
            )
            bottom -= height
    return chart


def lines(
    *,
    title: str,
    description: str,
    categories: list[str],
    values: dict[str, list[float | None]],
    series: Sequence[Series],
    value_label: Callable[[float], str],
    label_every: int = 5,
) -> Chart:
    """One line per series across the categories, broken where a value is missing (``None``)."""
    chart = Chart(width=WIDE, height=280, title=title, description=description)
    plot = _Plot(left=64, top=40, right=WIDE - 24, bottom=236)
    _legend(series, chart, plot)
    known = [value for item in series for value in values[item.key] if value is not None]
    ticks = nice_axis(max(known, default=0), whole=False)
    _value_axis(chart, plot, ticks, value_label)
    slot = _category_axis(chart, plot, categories, label_every)
    for item in series:
        run: list[str] = []
        for index, value in enumerate([*values[item.key], None]):
            if value is None:
                if run:
                    chart.polylines.append(Polyline(" ".join(run), f"chart-line-{item.key}"))
                run = []
                continue
            x = round(plot.left + slot * (index + 0.5), 1)
            y = round(plot.bottom - plot.height * value / ticks[-1], 1)
            run.append(f"{x},{y}")
            chart.dots.append(
                Dot(x, y, f"chart-dot-{item.key}", f"{categories[index]}: {item.label} {value_label(value)}")
            )
    return chart


def horizontal_bars(
    *, title: str, description: str, rows: list[tuple[str, int, str]], value_name: str
) -> Chart:
    """One bar per row (label, value, CSS key), the value written at the end of its bar."""
    plot = _Plot(left=118, top=12, right=NARROW - 36, bottom=12 + ROW_HEIGHT * max(len(rows), 1))
    chart = Chart(width=NARROW, height=int(plot.bottom) + 30, title=title, description=description)
    ticks = nice_axis(max((value for _, value, _ in rows), default=0), ticks=3)
    for tick in ticks:
        x = round(plot.left + plot.width * tick / ticks[-1], 1)
        chart.segments.append(Segment(x, plot.top, x, plot.bottom, "chart-grid"))
        chart.texts.append(Text(x, plot.bottom + 16, f"{tick:g}", css="chart-tick"))
    chart.segments.append(Segment(plot.left, plot.top, plot.left, plot.bottom, "chart-axis"))
    for index, (label, value, key) in enumerate(rows):
        y = plot.top + ROW_HEIGHT * index
        width = round(plot.width * value / ticks[-1], 1)
        chart.texts.append(Text(plot.left - 8, y + 17, label, anchor="end", css="chart-category"))
        chart.bars.append(
            Bar(
                plot.left,
                y + 5,
                width,
                ROW_HEIGHT - 10,
                f"chart-fill-{key}",
                f"{label}: {value} {value_name}",
            )
        )
        chart.texts.append(Text(plot.left + width + 5, y + 17, str(value), anchor="start", css="chart-value"))
    return chart

"""Line charts as inline SVG, rendered on the server from the rows: no JavaScript library, no CDN.

Every plotted value is a ``<circle>`` carrying ``data-date`` and ``data-value``, so what the browser
shows can be checked against the database. An unknown value (None) is never drawn as zero: the line
stops and starts again after it (a new ``M`` in the path), and series that ask for it get a shaded
band labelled "not reported" over the unknown dates.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import escape

from covid_dashboard.text import distinct_time_format

Value = int | float | None

WIDTH = 640
HEIGHT = 240
# The least left margin; a y axis with longer labels gets a wider one (LABEL_CHAR_WIDTH per character).
MARGIN_LEFT = 52
LABEL_CHAR_WIDTH = 7  # the widest digit of the page's 11 px sans-serif, rounded up
MARGIN_RIGHT = 14
MARGIN_TOP = 12
MARGIN_BOTTOM = 26
PLOT_HEIGHT = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Series:
    """One line: a value per date of its chart (None = unknown)."""

    key: str
    label: str
    values: tuple[Value, ...]
    # "main" draws a bold line; "raw" a thin, light one under it (e.g. daily values under their average).
    weight: str = "main"
    mark_gaps: bool = False


@dataclass(frozen=True)
class Chart:
    chart_id: str
    title: str
    dates: tuple[date, ...]
    series: tuple[Series, ...]


@dataclass(frozen=True)
class Axis:
    low: float
    high: float
    ticks: tuple[int | float, ...]


def nice_step(span: float, max_ticks: int = 5) -> int:
    """The smallest 1, 2 or 5 × 10^k step that cuts ``span`` into at most ``max_ticks`` parts (at least 1:
    the charts plot counts, and a fractional tick would be a count nobody can have)."""
    raw = span / max_ticks
    if raw <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def _nice_axis(low: float, high: float) -> Axis:
    """Ticks every nice step from the last one at or below ``low`` to the first at or above ``high``.

    Each tick is an exact integer (index × step), never a sum of floats that drifts off the step."""
    step = nice_step(high - low)
    first, last = math.floor(low / step), math.ceil(high / step)
    return Axis(first * step, last * step, tuple(i * step for i in range(first, last + 1)))


def value_axis(values: Sequence[float]) -> Axis:
    """A y axis from 0 (or the lowest negative value) to the highest value, on round numbers."""
    low = min(0.0, *values) if values else 0.0
    high = max(0.0, *values) if values else 1.0
    return _nice_axis(low, high if high > low else low + 1)


def tight_axis(values: Sequence[float]) -> Axis:
    """A y axis around the values only (not from 0): revisions are small next to the counts they revise.

    One value (a count no publication revised) is the axis's one tick, in the middle of the chart."""
    low, high = min(values), max(values)
    if high == low:
        return Axis(low - 1, high + 1, (low,))
    return _nice_axis(low, high)


# (unit, its suffix, the least largest tick that uses it): below 10,000 the full number reads best.
UNITS = ((10**9, "B", 10**9), (10**6, "M", 10**6), (10**3, "k", 10**4))


def _fixed(values: Sequence[Decimal], unit: int, suffix: str) -> tuple[str, ...]:
    """Each value / unit, all with the fewest decimals that write every one of them exactly."""
    scaled = [value / unit for value in values]
    decimals = max(0, *(-s.normalize().as_tuple().exponent for s in scaled))
    return tuple("0" if s == 0 else f"{s:,.{decimals}f}{suffix}" for s in scaled)


def tick_labels(ticks: Sequence[int | float]) -> tuple[str, ...]:
    """The labels of one axis: every tick written exactly, in the shorter of two forms: with the unit of
    the largest tick (29.10M, 29.11M, …; 0, 0.5M, 1.0M) or in full (525,517). Exact values on distinct
    ticks are distinct labels, however narrow the range."""
    exact = [Decimal(str(tick)) for tick in ticks]
    largest = max(abs(value) for value in exact)
    unit, suffix = next(((unit, suffix) for unit, suffix, least in UNITS if largest >= least), (1, ""))
    # On a tie the full number: it needs no unit to be read.
    return min(_fixed(exact, 1, ""), _fixed(exact, unit, suffix), key=lambda labels: max(map(len, labels)))


def month_ticks(first: date, last: date, max_ticks: int = 7) -> tuple[date, ...]:
    """First days of months between ``first`` and ``last``, every 1, 2, 3, 6 or 12 months."""
    months = (last.year - first.year) * 12 + last.month - first.month
    step = next((s for s in (1, 2, 3, 6, 12) if months / s <= max_ticks), 12 * math.ceil(months / (12 * max_ticks)))
    index = first.year * 12 + first.month - 1 + (first.day != 1)
    ticks = []
    while (tick := date(index // 12, index % 12 + 1, 1)) <= last:
        if index % step == 0:
            ticks.append(tick)
        index += 1
    return tuple(ticks)


def format_value(value: int | float) -> str:
    """The exact value, as written in ``data-value``."""
    return str(value) if isinstance(value, int) else repr(float(value))


def segments(dates: Sequence[date], values: Sequence[Value]) -> list[list[tuple[date, float]]]:
    """Runs of known values on consecutive days: where a line may be drawn without inventing data."""
    runs: list[list[tuple[date, float]]] = []
    previous: date | None = None
    for day, value in zip(dates, values, strict=True):
        if value is None:
            previous = None
            continue
        if previous is None or day != previous + timedelta(days=1):
            runs.append([])
        runs[-1].append((day, value))
        previous = day
    return runs


def unknown_spans(dates: Sequence[date], values: Sequence[Value]) -> list[tuple[date, date]]:
    """(first, last) date of each run of unknown values."""
    spans: list[tuple[date, date]] = []
    start: date | None = None
    for index, (day, value) in enumerate(zip(dates, values, strict=True)):
        if value is None and start is None:
            start = day
        if start is not None and (index + 1 == len(dates) or values[index + 1] is not None):
            spans.append((start, day))
            start = None
    return spans


class _Scale:
    """Days across, values up; the left margin fits the y axis's longest label."""

    def __init__(self, dates: Sequence[date], axis: Axis) -> None:
        self.first = dates[0]
        self.days = max(1, (dates[-1] - dates[0]).days)
        self.axis = axis
        self.labels = tick_labels(axis.ticks)
        self.left = max(MARGIN_LEFT, 12 + LABEL_CHAR_WIDTH * max(map(len, self.labels)))
        self.right = WIDTH - MARGIN_RIGHT
        self.width = self.right - self.left

    def x(self, day: date) -> float:
        return round(self.left + (day - self.first).days / self.days * self.width, 1)

    def y(self, value: float) -> float:
        span = self.axis.high - self.axis.low
        return round(MARGIN_TOP + (self.axis.high - value) / span * PLOT_HEIGHT, 1)


def _axes(scale: _Scale, dates: Sequence[date]) -> Iterator[str]:
    yield from _y_axis(scale)
    yield from _x_axis(scale, dates)


def _y_axis(scale: _Scale) -> Iterator[str]:
    """Grid lines and labels; each label carries its tick's exact value (``data-value``) to be checked."""
    yield '<g class="axis y">'
    for tick, label in zip(scale.axis.ticks, scale.labels, strict=True):
        y = scale.y(tick)
        zero = " zero" if tick == 0 else ""
        yield (
            f'<line class="grid{zero}" x1="{scale.left}" x2="{scale.right}" y1="{y}" y2="{y}"/>'
            f'<text x="{scale.left - 6}" y="{y}" dy="0.32em" text-anchor="end" '
            f'data-value="{format_value(tick)}">{label}</text>'
        )
    yield "</g>"


def _x_axis(scale: _Scale, dates: Sequence[date]) -> Iterator[str]:
    yield '<g class="axis x">'
    bottom = MARGIN_TOP + PLOT_HEIGHT
    for tick in month_ticks(dates[0], dates[-1]):
        x = scale.x(tick)
        yield (
            f'<line class="tick" x1="{x}" x2="{x}" y1="{bottom}" y2="{bottom + 4}"/>'
            f'<text x="{x}" y="{bottom + 16}" text-anchor="middle">{MONTHS[tick.month - 1]} {tick.year}</text>'
        )
    yield "</g>"


def _gaps(scale: _Scale, series: Series, dates: Sequence[date]) -> Iterator[str]:
    half_day = scale.width / scale.days / 2
    for first, last in unknown_spans(dates, series.values):
        x1 = max(scale.left, scale.x(first) - half_day)
        x2 = min(scale.right, scale.x(last) + half_day)
        yield (
            f'<g class="gap" data-series="{series.key}" data-from="{first.isoformat()}" data-to="{last.isoformat()}">'
            f'<rect x="{x1:.1f}" y="{MARGIN_TOP}" width="{max(x2 - x1, 1):.1f}" height="{PLOT_HEIGHT}"/>'
            f'<text x="{(x1 + x2) / 2:.1f}" y="{MARGIN_TOP + 14}" text-anchor="middle">not reported</text></g>'
        )


def _line(scale: _Scale, series: Series, dates: Sequence[date]) -> Iterator[str]:
    commands = []
    for run in segments(dates, series.values):
        (first_day, first_value), rest = run[0], run[1:]
        commands.append(f"M{scale.x(first_day)} {scale.y(first_value)}")
        commands.extend(f"L{scale.x(day)} {scale.y(value)}" for day, value in rest)
        if not rest:
            commands.append("h0")  # a lone known day still shows, as a dot (round line caps)
    css = f"line {series.weight} s-{series.key}"
    yield f'<path class="{css}" data-series="{series.key}" d="{" ".join(commands)}"/>'
    yield f'<g class="points" data-series="{series.key}" data-label="{escape(series.label)}">'
    for day, value in zip(dates, series.values, strict=True):
        if value is not None:
            yield (
                f'<circle cx="{scale.x(day)}" cy="{scale.y(value)}" r="3" '
                f'data-date="{day.isoformat()}" data-value="{format_value(value)}"/>'
            )
    yield "</g>"


def render_chart(chart: Chart) -> str:
    """The chart as an ``<svg>`` element that scales to its container's width."""
    known = [float(v) for s in chart.series for v in s.values if v is not None]
    head = (
        f'<svg class="chart" id="chart-{chart.chart_id}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(chart.title)}" xmlns="http://www.w3.org/2000/svg">'
    )
    if not chart.dates or not known:
        empty = f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">No data yet</text>'
        return f"{head}{empty}</svg>"
    scale = _Scale(chart.dates, value_axis(known))
    parts = [head, *_axes(scale, chart.dates)]
    for series in chart.series:
        if series.mark_gaps:
            parts.extend(_gaps(scale, series, chart.dates))
    # Thin raw lines first, so the bold ones are drawn on top of them.
    for series in sorted(chart.series, key=lambda s: s.weight != "raw"):
        parts.extend(_line(scale, series, chart.dates))
    parts.append("</svg>")
    return "".join(parts)


def render_step_chart(
    chart_id: str, title: str, points: Sequence[tuple[datetime, Value]], *, before: Value = None
) -> str:
    """A day's published value over publication time, as steps: each value holds until the next one.

    Every publication is a ``<circle>`` with ``data-published-at`` and ``data-value`` (none for None).
    ``before`` is the value the first publication revised when the document does not say when that value
    was published (a state's or a county's revisions): a dashed step from the chart's left edge, marked
    "before", with its value in ``data-value``.
    """
    head = (
        f'<svg class="chart step" id="chart-{chart_id}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    )
    known = [(moment, value) for moment, value in points if value is not None]
    if not known:
        empty = f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">Not reported</text>'
        return f"{head}{empty}</svg>"
    first, last = known[0][0], known[-1][0]
    # A lone publication gets a day's width to hold its value over; a quarter of the span is "before".
    span = last - first if last > first else timedelta(days=1)
    start, end = (first - span / 4 if before is not None else first), last + span / 10
    values = [value for _, value in known] + ([] if before is None else [before])
    y_scale = _Scale((start.date(), end.date()), tight_axis(values))

    def x(moment: datetime) -> float:
        return round(y_scale.left + (moment - start) / (end - start) * y_scale.width, 1)

    parts = [head, *_y_axis(y_scale)]
    if before is not None:
        parts.append(
            f'<path class="line before s-step" data-value="{format_value(before)}" '
            f'd="M{y_scale.left} {y_scale.y(before)} H{x(first)} V{y_scale.y(known[0][1])}"/>'
        )
    # Horizontal until the next publication, then vertical to its value; the last holds to the edge.
    path = [f"M{x(first)} {y_scale.y(known[0][1])}"]
    path += [f"H{x(moment)} V{y_scale.y(value)}" for moment, value in known[1:]]
    path.append(f"H{y_scale.right}")
    parts.append(f'<path class="line main s-step" d="{" ".join(path)}"/>')
    parts.append('<g class="points steps">')
    parts.extend(
        f'<circle cx="{x(moment)}" cy="{y_scale.y(value)}" r="3" data-published-at="{moment.isoformat()}" '
        f'data-value="{format_value(value)}"/>'
        for moment, value in known
    )
    parts.append("</g>")
    parts.extend(_step_x_axis(first, last, x, y_scale.left if before is not None else None))
    parts.append("</svg>")
    return "".join(parts)


def _step_x_axis(first: datetime, last: datetime, x, before_x: float | None) -> Iterator[str]:
    """The first and last publication's time under their points (the day, or to the minute or second in
    UTC when that is what tells them apart), and "before" at the left edge when the chart starts with
    that step."""
    when = distinct_time_format((first, last))
    bottom = MARGIN_TOP + PLOT_HEIGHT + 16
    yield '<g class="axis x">'
    if before_x is not None:
        yield f'<text x="{before_x}" y="{bottom}" font-style="italic">before</text>'
    yield f'<text x="{x(first)}" y="{bottom}">{first.astimezone(UTC):{when}}</text>'
    if last > first:
        yield f'<text x="{x(last)}" y="{bottom}" text-anchor="end">{last.astimezone(UTC):{when}}</text>'
    yield "</g>"

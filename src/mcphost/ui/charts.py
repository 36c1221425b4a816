"""Charts as inline SVG, drawn on the server: no JavaScript library, readable by screen readers.

A chart is a list of ``Series`` (a name, a CSS class of console.css and one value per time) drawn as lines or as
grouped bars, with axes, a few horizontal grid lines labelled with values and a few time labels. The SVG has
``role="img"``, an ``aria-label`` and a ``<title>`` that summarise what it shows, so the picture is never the
only way to learn it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape

WIDTH, HEIGHT = 560, 200
RIGHT, TOP, BOTTOM = 10, 10, 24
GRID_LINES = 4
#: The value labels' font size (console.css ``.chart .label``), in the SVG's units, and the widest glyph of the
#: labels (digits, ".", "/", "m", "s") as a share of it: the plot starts where the longest label ends, so none is
#: cut off at the left edge.
LABEL_FONT = 11
GLYPH_WIDTH = 0.66
LABEL_GAP = 6
MIN_LEFT = 24


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    css: str = "series-1"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least ``value`` (1 for nothing)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= value * (1 - 1e-9):
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def number(value: float) -> str:
    """A short label: 1234 → "1234", 12.5 → "12.5", 0.0333 → "0.033"."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def time_label(moment: datetime, step: timedelta) -> str:
    return moment.strftime("%a %H:%M" if step >= timedelta(hours=1) else "%H:%M")


def value_labels(top: float, unit: str) -> list[str]:
    """The labels of the grid lines, from 0 up to ``top`` (which carries the unit)."""
    return [number(top * i / GRID_LINES) + (unit if i == GRID_LINES else "") for i in range(GRID_LINES + 1)]


def left_margin(labels: Sequence[str]) -> int:
    """Where the plot starts: right of the longest value label, with a gap."""
    longest = max((len(label) for label in labels), default=0)
    return max(MIN_LEFT, math.ceil(longest * LABEL_FONT * GLYPH_WIDTH) + LABEL_GAP + 2)


def _frame(times: Sequence[datetime], step: timedelta, top: float, unit: str, left: int) -> list[str]:
    """Axes, grid lines with value labels, and time labels at the start, middle and end."""
    plot_w, plot_h = WIDTH - left - RIGHT, HEIGHT - TOP - BOTTOM
    parts: list[str] = []
    for i, label in enumerate(value_labels(top, unit)):
        y = TOP + plot_h - plot_h * i / GRID_LINES
        if i:
            parts.append(f'<line class="grid" x1="{left}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        text = escape(label)
        parts.append(f'<text class="label" x="{left - LABEL_GAP}" y="{y + 4:.1f}" text-anchor="end">{text}</text>')
    parts.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{TOP}" y2="{TOP + plot_h}"/>')
    parts.append(f'<line class="axis" x1="{left}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    if times:
        picks = sorted({0, len(times) // 2, len(times) - 1})
        for index in picks:
            x = left + plot_w * (index + 0.5) / len(times)
            anchor = "start" if index == 0 else "end" if index == len(times) - 1 else "middle"
            x = left if anchor == "start" else WIDTH - RIGHT if anchor == "end" else x
            label = escape(time_label(times[index], step))
            parts.append(f'<text class="label" x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}">{label}</text>')
    return parts


def _svg(parts: list[str], summary: str) -> Markup:
    label = escape(summary)
    return Markup(  # noqa: S704 - every text in it was escaped, the rest are numbers and class names
        f'<svg class="chart" role="img" aria-label="{label}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{label}</title>{"".join(parts)}</svg>'
    )


def _top(series: Sequence[Series]) -> float:
    return nice_ceiling(max((v for s in series for v in s.values if v is not None), default=0.0))


def line_chart(
    times: Sequence[datetime], series: Sequence[Series], *, summary: str, step: timedelta, unit: str = ""
) -> Markup:
    """One line per series; a missing value (None) breaks its line, a lone value is a dot."""
    top = _top(series)
    left = left_margin(value_labels(top, unit))
    plot_w, plot_h = WIDTH - left - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(times, step, top, unit, left)
    count = max(len(times), 1)
    for line in series:
        path: list[str] = []
        dots: list[str] = []
        previous: float | None = None
        for index, value in enumerate(line.values):
            if value is None:
                previous = None
                continue
            x = left + plot_w * (index + 0.5) / count
            y = TOP + plot_h - plot_h * min(value / top, 1.0)
            path.append(f"{'L' if previous is not None else 'M'}{x:.1f} {y:.1f}")
            following = line.values[index + 1] if index + 1 < len(line.values) else None
            if previous is None and following is None:
                dots.append(f'<circle class="{line.css}" cx="{x:.1f}" cy="{y:.1f}" r="2"/>')
            previous = value
        if path:
            parts.append(f'<path class="{line.css}" d="{" ".join(path)}"><title>{escape(line.name)}</title></path>')
        parts.extend(dots)
    return _svg(parts, summary)


def bar_chart(
    times: Sequence[datetime], series: Sequence[Series], *, summary: str, step: timedelta, unit: str = ""
) -> Markup:
    """Grouped bars: each time slot holds one bar per series (zero draws nothing)."""
    top = _top(series)
    left = left_margin(value_labels(top, unit))
    plot_w, plot_h = WIDTH - left - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(times, step, top, unit, left)
    slot = plot_w / max(len(times), 1)
    width = max(slot * 0.8 / max(len(series), 1), 1.0)
    for position, bars in enumerate(series):
        for index, value in enumerate(bars.values):
            if not value:
                continue
            height = max(plot_h * min(value / top, 1.0), 1.0)
            x = left + slot * index + slot * 0.1 + width * position
            y = TOP + plot_h - height
            tip = escape(f"{bars.name}: {number(value)} at {time_label(times[index], step)}")
            parts.append(
                f'<rect class="{bars.css}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}">'
                f"<title>{tip}</title></rect>"
            )
    return _svg(parts, summary)

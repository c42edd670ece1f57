"""An inline SVG chart of one resource's readings over the cycles of a test.

The detection cycles are drawn to scale, baseline first. The warm-up cycles
before them and the traced locate cycles after them are not sampled, so they
are hatched bands beside the line, labelled with their number of cycles.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from leakharness.units import signed_amount

if TYPE_CHECKING:  # the report's value types: no import at run time
    from leakharness.report.model import ResourceResult

WIDTH, HEIGHT = 280, 128
LEFT, RIGHT, TOP, BOTTOM = 58, 4, 8, 22
BAND, GAP = 20, 4  # a band's width in pixels (not to scale: no readings in it) and the gap beside it


def amount(value: float, unit: str) -> str:
    """A reading for an axis: ``4.6 MiB``, ``99,484``."""
    if unit == "bytes":
        return signed_amount(value, unit).lstrip("+")
    return f"{value:,.0f}"


def chart(result: ResourceResult, warmup: int = 0, located: int = 0) -> str:
    """The SVG of ``result.series``, with bands for ``warmup`` cycles before
    and ``located`` traced cycles after, when they ran."""
    series = result.series
    unit = result.resource.unit
    start = LEFT + (BAND + GAP if warmup else 0)
    end = WIDTH - RIGHT - (BAND + GAP if located else 0)
    parts = [_frame(start, end)]
    if warmup:
        parts.append(_band(LEFT, f"warm-up {warmup}", f"{warmup} warm-up cycles, not sampled"))
    if located:
        parts.append(
            _band(end + GAP, f"locate {located}", f"{located} traced cycles after detection, not sampled")
        )
    if len(series) < 2:
        parts.append(_text((start + end) / 2, TOP + _plot_height() / 2, "no readings", "middle", "empty"))
    else:
        parts.append(_axes(series, unit, start, end))
        parts.append(_line(series, start, end, result.verdict.value))
    title = _title(result, warmup, located)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>{"".join(parts)}</svg>'
    )


def _plot_height() -> float:
    return HEIGHT - TOP - BOTTOM


def _title(result: ResourceResult, warmup: int, located: int) -> str:
    series, unit = result.series, result.resource.unit
    named = "" if unit == "bytes" else f" {unit}"  # a size names its own unit: 4.6 MiB
    span = f": {amount(series[0], unit)} to {amount(series[-1], unit)}{named}" if series else ""
    extra = "".join(
        f", {text}" for n, text in ((warmup, f"{warmup} warm-up"), (located, f"{located} traced")) if n
    )
    cycles = max(0, len(series) - 1)
    return f"{result.resource.label} over {cycles} cycles{extra}{span} ({result.verdict.value})"


def _frame(start: float, end: float) -> str:
    bottom = TOP + _plot_height()
    return (
        f'<rect class="plot" x="{start}" y="{TOP}" width="{end - start}" height="{_plot_height()}"/>'
        f'<line class="axis" x1="{start}" y1="{bottom}" x2="{end}" y2="{bottom}"/>'
    )


def _band(x: float, label: str, tooltip: str) -> str:
    middle_x, middle_y = x + BAND / 2, TOP + _plot_height() / 2
    return (
        f'<g class="band"><title>{escape(tooltip)}</title>'
        f'<rect x="{x}" y="{TOP}" width="{BAND}" height="{_plot_height()}"/>'
        f'<text x="{middle_x}" y="{middle_y}" text-anchor="middle" dominant-baseline="central" '
        f'transform="rotate(-90 {middle_x} {middle_y})">{escape(label)}</text></g>'
    )


def _text(x: float, y: float, text: str, anchor: str, css: str = "tick") -> str:
    return f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'


def _scale(series: Sequence[int]) -> tuple[float, float]:
    low, high = min(series), max(series)
    return (low - 1, high + 1) if low == high else (low, high)


def _y(value: float, low: float, high: float) -> float:
    return TOP + (high - value) / (high - low) * _plot_height()


def _axes(series: Sequence[int], unit: str, start: float, end: float) -> str:
    low, high = min(series), max(series)
    bottom = TOP + _plot_height()
    scale = _scale(series)
    parts = [_text(LEFT - 4, _y(high, *scale) + 3.5, amount(high, unit), "end")]
    if low != high:
        top = amount(high, unit)
        if top == amount(low, unit):  # 23.1 MiB twice says nothing: the top says how much more
            top = "+" + amount(high - low, unit)
        parts = [
            _text(LEFT - 4, _y(high, *scale) + 3.5, top, "end"),
            _text(LEFT - 4, _y(low, *scale) + 3.5, amount(low, unit), "end"),
        ]
    first = _y(series[0], *scale)
    parts.append(f'<line class="baseline" x1="{start}" y1="{first:.1f}" x2="{end}" y2="{first:.1f}"/>')
    parts.append(_text(start, bottom + 14, "0", "start"))
    parts.append(_text((start + end) / 2, bottom + 14, "cycles", "middle", "tick axis-title"))
    parts.append(_text(end, bottom + 14, str(len(series) - 1), "end"))
    return "".join(parts)


def shape(series: Sequence[int], columns: int) -> list[int]:
    """Indices of the readings that shape the line: both ends and every bend
    (a straight run needs only its ends; a flat series is two points). With
    still more than two a pixel column, each column keeps its lowest and
    highest reading. A 400-cycle report of 500 tests was 56 MB before."""
    bends = [i for i in range(1, len(series) - 1) if series[i] - series[i - 1] != series[i + 1] - series[i]]
    kept = [0, *bends, len(series) - 1]
    if len(kept) <= 2 * columns:
        return kept
    width = (len(series) - 1) / columns
    buckets: dict[int, list[int]] = {}
    for i in kept:
        buckets.setdefault(int(i / width), []).append(i)
    thinned = {0, len(series) - 1}
    for members in buckets.values():
        thinned.update((min(members, key=series.__getitem__), max(members, key=series.__getitem__)))
    return sorted(thinned)


def _line(series: Sequence[int], start: float, end: float, verdict: str) -> str:
    scale = _scale(series)
    step = (end - start) / (len(series) - 1)
    points = " ".join(
        f"{start + i * step:.1f},{_y(series[i], *scale):.1f}" for i in shape(series, round(end - start))
    )
    bottom = TOP + _plot_height()
    area = f'<polygon class="area" points="{start:.1f},{bottom} {points} {end:.1f},{bottom}"/>'
    if verdict != "leak":  # only a leak's area is filled
        area = ""
    return f'<g class="series {verdict}">{area}<polyline class="line" points="{points}"/></g>'

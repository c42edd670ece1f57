"""The resource table: each watched resource's growth, trend, verdict and reason.

Wide enough, it is one table with the reason as its last column. Narrower
(a CI log of 80 or 100 columns), the reason would get a dozen columns and
wrap into many lines, so each reason goes on its own indented line under
its resource's row: a 150-character reason then takes two lines at 80.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from leakharness.judge.verdict import Verdict
from leakharness.units import signed_amount

if TYPE_CHECKING:
    from leakharness.report.model import ResourceResult

STYLES = {
    Verdict.LEAK: "bold red",
    Verdict.CLEAN: "green",
    Verdict.INCONCLUSIVE: "yellow",
    Verdict.ERROR: "bold magenta",
    Verdict.SKIPPED: "dim",
}
BARS = "▁▂▃▄▅▆▇█"
ASCII_BARS = "_.-=*#"
HEADINGS = ("resource", "growth/cycle", "trend", "verdict", "reason")
REASON_COLUMNS = 60  # the reason stays a column when it gets at least this many
GAP = 2  # columns between the stacked layout's fields
REASON_INDENT = 4


def sparkline(series: Sequence[float], width: int = 16, bars: str = BARS) -> str:
    """The series resampled to ``width`` points, scaled from its min to its max."""
    if len(series) < 2:
        return ""
    points = [series[min(len(series) - 1, round(i * (len(series) - 1) / (width - 1)))] for i in range(width)]
    low, high = min(points), max(points)
    if high == low:
        return bars[0] * width
    top = len(bars) - 1
    return "".join(bars[round((p - low) / (high - low) * top)] for p in points)


def verdict_text(verdict: Verdict) -> Text:
    return Text(verdict.value.upper(), style=STYLES[verdict])


class ResourceTable:
    """Renders as a table, or stacked (reasons under rows) when narrow."""

    def __init__(self, results: Iterable[ResourceResult], bars: str = BARS) -> None:
        self.rows = [
            (
                Text(r.resource.label),
                Text(signed_amount(r.growth_per_cycle, r.resource.unit)),
                Text(sparkline(r.series, bars=bars), style=STYLES[r.verdict]),
                verdict_text(r.verdict),
                Text(r.reason),
            )
            for r in results
        ]

    def widths(self) -> list[int]:
        """Of the first four columns: the widest cell or heading."""
        return [max([len(HEADINGS[i])] + [row[i].cell_len for row in self.rows]) for i in range(4)]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        fixed = sum(self.widths()) + 3 * 4  # a table puts " │ " between columns
        if options.max_width - fixed >= REASON_COLUMNS:
            yield self.table()
        else:
            yield from self.stacked()

    def table(self) -> Table:
        table = Table(title=None, expand=False, show_edge=False, pad_edge=False)
        for heading in HEADINGS:
            last = heading == "reason"
            justify: JustifyMethod = "right" if heading == "growth/cycle" else "left"
            table.add_column(heading, justify=justify, no_wrap=not last, ratio=1 if last else None)
        for row in self.rows:
            table.add_row(*row)
        return table

    def stacked(self) -> Iterator[RenderableType]:
        widths = self.widths()
        yield _joined([Text(h, style="bold") for h in HEADINGS[:4]], widths)
        for row in self.rows:
            yield _joined(list(row[:4]), widths)
            yield Padding(row[4], (0, 0, 0, REASON_INDENT))


def _joined(cells: list[Text], widths: list[int]) -> Text:
    """The cells side by side, each padded to its column (growth right-aligned)."""
    line = Text(no_wrap=True)
    for index, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        pad = " " * (width - cell_len(cell.plain))
        if index:
            line.append(" " * GAP)
        line.append_text(Text(pad) + cell if index == 1 else cell + Text(pad))
    line.rstrip()
    return line


def resource_table(results: Iterable[ResourceResult], bars: str = BARS) -> ResourceTable:
    return ResourceTable(results, bars)

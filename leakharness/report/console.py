"""Rich renderers of a Report: a summary table per test, top lines, trends.

Every user-supplied string (paths, source lines, reasons) is wrapped in
``Text`` so that ``hoard = [bytes(100)]`` is not parsed as markup.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from leakharness.diagnose.locate import Line
from leakharness.frames import display_path
from leakharness.judge.verdict import Verdict
from leakharness.report.diagnosis_tables import diagnosis_parts, inside_text
from leakharness.report.resource_table import ASCII_BARS, BARS, STYLES, resource_table, verdict_text
from leakharness.report.sites import one_line
from leakharness.units import signed_size

if TYPE_CHECKING:  # the report's value types call these renderers: no import at run time
    from leakharness.report.model import Report, TestReport


class Detail(Enum):
    """How much to show: QUIET one line a test, NORMAL tables for what is not
    clean, VERBOSE tables for everything plus notes."""

    QUIET = 0
    NORMAL = 1
    VERBOSE = 2


_TRAILING = re.compile(r"[ \t]+((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)
OUTPUT_LINES = 40  # of a test's captured output, on the console


def header(test: TestReport) -> Text:
    """The verdict, the test's id, its cycles and time, and the kind of leak, on one line."""
    text = _title(test)
    figures = _figures(test)
    if figures:
        text.append("  ").append_text(figures)
    return text


def _title(test: TestReport) -> Text:
    return Text().append(verdict_text(test.verdict)).append("  ").append(test.id, style="bold")


def _figures(test: TestReport) -> Text:
    text = Text()
    if test.cycles:
        text.append(f"{test.cycles} cycles, {test.seconds:.2f} s", style="dim")
    kind = test.classification.describe()
    if kind:
        text.append("  " if text else "").append(f"[{kind}]", style=STYLES[test.verdict])
    return text


class _Header:
    """``header``, with the figures on a line of their own when the whole does
    not fit: wrapped, it broke between a time and its unit ("10 cycles,"
    ending one line, "0.00 s" starting the next)."""

    def __init__(self, test: TestReport) -> None:
        self.test = test

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        whole = header(self.test)
        if whole.cell_len <= options.max_width:
            yield whole
            return
        yield _title(self.test)
        figures = _figures(self.test)
        if figures:
            yield Padding(figures, (0, 0, 0, 2))


def lines_table(lines: Sequence[Line]) -> Table:
    table = Table(expand=False, show_edge=False, pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("line", overflow="fold")
    table.add_column("source", ratio=1, overflow="fold")
    table.add_column("size/cycle", justify="right", no_wrap=True)
    table.add_column("count/cycle", justify="right", no_wrap=True)
    for rank, line in enumerate(lines, 1):
        place = Text(f"{short_path(line.file)}:{line.line}", style="cyan" if line.in_user_code else "dim")
        source = Text(line.source).append(f"  ({line.what})" if line.native else "", style="magenta")
        table.add_row(
            Text(str(rank)),
            place.append_text(inside_text(line.inside)),
            source,
            Text(signed_size(line.size_per_cycle)),
            Text("-" if line.native else f"{line.count_per_cycle:+.2f}"),
        )
    return table


def traceback_text(line: Line) -> Text:
    what = "native memory kept while running" if line.native else "allocated at"
    text = Text(f"{what} (innermost first):\n", style="dim")
    if line.inside:  # the library or stdlib frame that allocated, beneath the charged line
        text.append(f"  {line.inside.place}", style="dim")
        text.append(f"  {line.inside.source}\n" if line.inside.source else "\n", style="dim")
    for frame in line.traceback:
        text.append(f"  {short_path(frame.file)}:{frame.line}", style="cyan")
        source = frame.source
        if source:
            text.append(f"  {source}")
        text.append("\n")
    text.rstrip()  # the parts below keep one blank line above them, as the lines table does
    return text


def types_table(test: TestReport) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("growing type", overflow="fold")
    table.add_column("objects/cycle", justify="right", no_wrap=True)
    for growth in test.types[:5]:
        table.add_row(Text(growth.name), Text(f"{growth.per_cycle:+.2f}"))
    return table


def short_path(path: str) -> str:
    return display_path(path)


def render_test(
    test: TestReport, detail: Detail = Detail.NORMAL, bars: str = BARS
) -> Iterator[RenderableType]:
    if detail is Detail.QUIET:
        yield quiet_line(test)
        return
    yield _Header(test)
    full = detail is Detail.VERBOSE or test.verdict in (Verdict.LEAK, Verdict.INCONCLUSIVE)
    if test.verdict is Verdict.SKIPPED:
        if test.reason:
            yield Padding(Text(test.reason), (0, 0, 0, 2))
        return
    if test.reason and test.verdict is not Verdict.CLEAN:
        yield Padding(Text(test.reason), (0, 0, 0, 2))
    for warning in test.warnings:
        yield Padding(Text(f"warning: {warning}", style="yellow"), (0, 0, 0, 2))
    if test.error:
        yield Padding(Text(test.error.rstrip(), style="magenta"), (0, 0, 0, 2))
    if test.output:
        yield Padding(output_text(test.output), (0, 0, 0, 2))
    if full and test.resources:
        shown = (
            test.resources
            if detail is Detail.VERBOSE
            else [r for r in test.resources if r.verdict is not Verdict.CLEAN]
        )
        yield Padding(resource_table(shown, bars), (0, 0, 0, 2))
        hidden = [r.resource.label for r in test.resources if r not in shown]
        if hidden:
            yield Padding(Text("clean: " + ", ".join(hidden), style="dim"), (0, 0, 0, 2))
    if full and test.lines:
        yield Padding(lines_table(test.lines), (1, 0, 0, 2))
        yield Padding(traceback_text(test.lines[0]), (0, 0, 0, 4))
    if full and test.types:
        yield Padding(types_table(test), (1, 0, 0, 2))
    for part in diagnosis_parts(test.diagnosis):
        yield Padding(part, (1, 0, 0, 2))
    if detail is Detail.VERBOSE:
        for note in (*test.notes, *test.diagnosis.notes):
            yield Padding(Text(f"note: {note}", style="dim"), (0, 0, 0, 2))


def quiet_line(test: TestReport) -> Text:
    """One line: the verdict and id, then for a leak what grows, where, and
    what holds it; for an error, skip or inconclusive test the reason."""
    text = header(test)
    if test.verdict is Verdict.LEAK:
        text.append(f"  {one_line(test)}")
    elif test.reason and test.verdict is not Verdict.CLEAN:
        text.append(f"  {test.reason}")
    return text


def output_text(output: str, most: int = OUTPUT_LINES) -> Text:
    """A test's captured output, its first ``most`` lines."""
    lines = output.rstrip().splitlines()
    text = Text("captured output:\n", style="dim")
    text.append("\n".join(lines[:most]))
    if len(lines) > most:
        text.append(f"\n... {len(lines) - most} more lines (all in the JSON report)", style="dim")
    return text


def summary_line(report: Report) -> Text:
    counts = report.counts()
    text = Text(f"{len(report.tests)} test{'s' if len(report.tests) != 1 else ''}: ")
    parts = [(v, counts[v.value]) for v in Verdict if counts[v.value]]
    if not parts:
        text.append("nothing ran")
    for index, (verdict, count) in enumerate(parts):
        if index:
            text.append(", ")
        text.append(f"{count} {verdict.value}", style=STYLES[verdict])
    text.append(f" in {report.seconds:.1f} s")
    return text


def render_report(
    report: Report, detail: Detail = Detail.NORMAL, bars: str = BARS
) -> Iterator[RenderableType]:
    for test in report.tests:
        yield Group(*render_test(test, detail, bars))
        if detail is not Detail.QUIET:
            yield Text("")
    yield summary_line(report)


def make_console(**options: Any) -> Console:
    """The console a run prints to. ``NO_COLOR`` (set and not empty) means
    plain text: no colour, and no bold or dim either."""
    if os.environ.get("NO_COLOR"):
        options.setdefault("color_system", None)
    return Console(**options)


def bars_for(console: Console) -> str:
    return BARS if console.encoding.lower().startswith("utf") else ASCII_BARS


def to_text(value: Any, width: int = 100) -> str:
    """Plain text of a Report or TestReport, as in an assertion message."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, color_system=None, force_terminal=False)
    console.print(value)
    return strip_trailing(buffer.getvalue())


def strip_trailing(text: str) -> str:
    """``text`` with no space or tab at the end of a line (style codes kept):
    rich pads every line of a table to its width."""
    return _TRAILING.sub(r"\1", text)

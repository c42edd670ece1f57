"""Console lines of a Comparison: for ``compare``, and for a run against a baseline."""

from __future__ import annotations

from collections.abc import Iterator

from rich.text import Text

from leakharness.report.comparison import Change, Comparison, Difference
from leakharness.units import signed_amount, signed_size

STYLES = {
    Change.NEW: "bold red",
    Change.REGRESSED: "bold red",
    Change.STILL: "yellow",
    Change.FIXED: "green",
    Change.GONE: "dim",
    Change.UNCHANGED: "dim",
}
# Under --baseline a leak already in the baseline is "known"; what no longer
# leaks, or no longer ran, is a stale entry of the baseline.
BASELINE_NAMES = {Change.STILL: "known leak", Change.FIXED: "stale: fixed", Change.GONE: "stale: not run"}


def growth(difference: Difference) -> str:
    """``+1.04 fds/cycle``, ``+13 → +40 blocks/cycle``, ``+1 → 0 fds/cycle``, ``+4.1 KiB/cycle``."""
    unit = difference.unit

    def amount(value: float | None) -> str:
        return signed_size(value or 0.0) if unit == "bytes" else signed_amount(value or 0.0, "").strip()

    per_cycle = "/cycle" if unit in ("bytes", "") else f" {unit}/cycle"
    change = difference.change
    if change is Change.NEW:
        return amount(difference.after) + per_cycle
    if change is Change.GONE:
        return amount(difference.before) + per_cycle + " before"
    return f"{amount(difference.before)} → {amount(difference.after)}{per_cycle}"


def comparison_lines(comparison: Comparison, *, baseline: bool = False) -> Iterator[Text]:
    """One line per leaking test and resource, worst first, then the summary."""
    names = {c: (BASELINE_NAMES.get(c, c.value) if baseline else c.value) for c in Change}
    rows = [d for d in comparison.differences if d.change is not Change.UNCHANGED]
    name_width = max((len(names[d.change]) for d in rows), default=0)
    test_width = max((len(d.test) for d in rows), default=0)
    label_width = max((len(d.label) for d in rows), default=0)
    for row in rows:
        text = Text(names[row.change].ljust(name_width), style=STYLES[row.change])
        text.append(f"  {row.test.ljust(test_width)}  {row.label.ljust(label_width)}  ")
        text.append(growth(row))
        yield text
    yield summary(comparison, names, baseline=baseline)


def summary(comparison: Comparison, names: dict[Change, str], *, baseline: bool) -> Text:
    counts = comparison.counts()
    text = Text("against the baseline: " if baseline else "compared: ")
    parts = [c for c in Change if counts[c.value] and not (baseline and c is Change.UNCHANGED)]
    if not parts:
        text.append("no leak before or after")
    for index, change in enumerate(parts):
        if index:
            text.append(", ")
        noun = "unchanged (tests clean in both)" if change is Change.UNCHANGED else names[change]
        text.append(f"{noun} {counts[change.value]}", style=STYLES[change])
    if baseline and comparison.of(Change.FIXED, Change.GONE):
        text.append(" (refresh the baseline with --save-baseline)", style="dim")
    return text

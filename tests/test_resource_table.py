"""The resource table: a table when wide, reasons under their rows when narrow."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from leakharness.judge.verdict import Verdict
from leakharness.report.console import strip_trailing
from leakharness.report.model import ResourceResult
from leakharness.report.resource_table import BARS, REASON_INDENT, resource_table
from leakharness.resources import Resource

# The longest reasons the verdicts write: a tolerance's around an inconclusive one.
TOLERATED = (
    "within tolerance (+4.1 KiB/cycle, +5.2 % over the run ≤ +8.0 KiB/cycle): grew in all 6 windows "
    "of 10 cycles"
)
UNSURE = (
    "within tolerance (+0.4 objects/cycle, +0.2 % over the run ≤ +1 objects/cycle): grew in 3 of 6 "
    "windows of 10 cycles (+24 objects in all): run more cycles or set a tolerance"
)


def results() -> list[ResourceResult]:
    return [
        ResourceResult(Resource.NATIVE_HEAP, Verdict.CLEAN, 0.0, 253472.0, TOLERATED, tuple(range(61))),
        ResourceResult(Resource.OBJECTS, Verdict.INCONCLUSIVE, 0.4, 24.0, UNSURE, (1, 1, 2, 2, 3)),
        ResourceResult(Resource.FDS, Verdict.LEAK, 1.04, 62.0, "grew in all 6 windows of 10 cycles", (1, 2)),
    ]


def render(width: int) -> list[str]:
    buffer = io.StringIO()
    Console(file=buffer, width=width, no_color=True).print(resource_table(results()))
    return strip_trailing(buffer.getvalue()).splitlines()


@pytest.mark.parametrize("width", [80, 100])
def test_narrow_puts_each_reason_on_its_own_lines(width: int) -> None:
    lines = render(width)
    assert lines[0].split() == ["resource", "growth/cycle", "trend", "verdict"]
    for reason in (TOLERATED, UNSURE):
        first = next(i for i, line in enumerate(lines) if line.strip() and reason.startswith(line.strip()))
        taken = []
        for line in lines[first:]:
            if not line.startswith(" " * REASON_INDENT) or not line.strip():
                break
            taken.append(line.strip())
        assert " ".join(taken) == reason
        assert len(taken) <= (2 if width == 100 else 3), taken
    assert max(len(line) for line in lines) <= width


def test_a_row_keeps_its_fields_on_one_line_at_80() -> None:
    row = next(line for line in render(80) if line.startswith("file descriptors"))
    assert row.split() == ["file", "descriptors", "+1.04", "fds", BARS[0] * 8 + BARS[-1] * 8, "LEAK"]


def test_wide_is_one_table_with_the_reason_as_last_column() -> None:
    lines = render(180)
    assert lines[0].split("┃")[-1].strip() == "reason"
    assert any(line.endswith(TOLERATED) for line in lines)

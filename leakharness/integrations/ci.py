"""The command line's CI options: baselines, JUnit XML, annotations, OpenMetrics, --buffer."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from leakharness.errors import LeakHarnessError
from leakharness.judge.verdict import Verdict
from leakharness.report.annotations import github_annotations, wanted
from leakharness.report.comparison import REGRESSION_MARGIN, Change, Comparison, RunLeaks, compare
from leakharness.report.comparison_view import comparison_lines
from leakharness.report.json_report import check_writable, write_text
from leakharness.report.junit import junit_xml
from leakharness.report.metrics import openmetrics
from leakharness.report.model import Report

EXIT_CLEAN, EXIT_FAILED = 0, 1
OUTPUTS = (("save_baseline", "--save-baseline"), ("junit_xml", "--junit-xml"), ("metrics", "--metrics"))


def add_options(parser: argparse.ArgumentParser) -> None:
    ci = parser.add_argument_group("CI")
    ci.add_argument(
        "--baseline",
        type=Path,
        metavar="PATH",
        help="leaks in this JSON report are known and do not fail the run; new ones, and known ones "
        f"growing over {REGRESSION_MARGIN:.0%}% faster, do",
    )
    ci.add_argument("--save-baseline", type=Path, metavar="PATH", help="write this run as a baseline (JSON)")
    ci.add_argument("--junit-xml", type=Path, metavar="PATH", help="also write the report as JUnit XML")
    ci.add_argument(
        "--annotations",
        choices=("github", "none"),
        help="print a GitHub annotation per leak (default: github when GITHUB_ACTIONS=true)",
    )
    ci.add_argument("--metrics", type=Path, metavar="PATH", help="write growth per cycle as OpenMetrics text")
    ci.add_argument(
        "-b",
        "--buffer",
        action="store_true",
        help="capture each test's output and logging; show it only for errors and leaks",
    )


@dataclass(frozen=True)
class Gate:
    """The baseline a run is judged against (read before the run), if any."""

    baseline: RunLeaks | None

    @classmethod
    def prepare(cls, args: argparse.Namespace) -> Gate:
        """Check output paths and read the baseline before the run: LeakHarnessError."""
        for name, option in OUTPUTS:
            if getattr(args, name) is not None:
                check_writable(getattr(args, name), option)
        return cls(RunLeaks.read(args.baseline) if args.baseline is not None else None)

    def judge(self, report: Report) -> Comparison | None:
        if self.baseline is None:
            return None
        return compare(self.baseline, RunLeaks.from_dict(report.to_dict(), "this run"))


def known_leaks(comparison: Comparison | None) -> frozenset[str]:
    """Tests whose every leak the baseline already holds (not worse)."""
    if comparison is None:
        return frozenset()
    failing = {d.test for d in comparison.differences if d.change.fails}
    return frozenset(d.test for d in comparison.of(Change.STILL) if d.test not in failing)


def finish(report: Report, args: argparse.Namespace, gate: Gate, console: Console) -> int:
    """Print the baseline's verdict and annotations, write the CI outputs; the
    exit status. LeakHarnessError when an output cannot be written."""
    comparison = gate.judge(report)
    known = known_leaks(comparison)
    if comparison is not None:
        for line in comparison_lines(comparison, baseline=True):
            console.print(line, soft_wrap=True)
    if wanted(args.annotations, os.environ):
        for command in github_annotations(report, known):
            console.out(command, highlight=False)
    outputs: tuple[tuple[Path | None, Callable[[], str]], ...] = (
        (args.save_baseline, lambda: json.dumps(report.to_dict(), indent=2) + "\n"),
        (args.junit_xml, lambda: junit_xml(report, known)),
        (args.metrics, lambda: openmetrics(report)),
    )
    for path, text in outputs:
        if path is not None:
            try:
                write_text(text(), path)
            except OSError as err:
                raise LeakHarnessError(f"cannot write {path}: {err}") from err
    if comparison is None:
        return EXIT_FAILED if report.failed else EXIT_CLEAN
    errors = any(t.verdict is Verdict.ERROR for t in report.tests)
    return EXIT_FAILED if errors or comparison.failed else EXIT_CLEAN

"""``leakharness compare BEFORE.json AFTER.json``: did a fix work, did a change add a leak.

Exit status: 0 when nothing is new or regressed, 1 otherwise, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from leakharness.errors import LeakHarnessError
from leakharness.integrations.usage import EXIT_USAGE, Parser
from leakharness.report.comparison import REGRESSION_MARGIN, RunLeaks, compare
from leakharness.report.comparison_view import comparison_lines
from leakharness.report.json_report import check_writable, write_text

EXIT_CLEAN, EXIT_FAILED = 0, 1

DESCRIPTION = f"""\
Compare two JSON reports (leakharness --json, or the pytest plugin's) per test
and resource: fixed, still leaking (growth before -> after), new leak,
regressed (growth per cycle up by more than {REGRESSION_MARGIN:.0%}), not measured
(the test is gone, or errored or was skipped after), unchanged (no leak in either).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="leakharness compare",
        description=DESCRIPTION,
        epilog="exit status: 0 nothing new or regressed, 1 a new or regressed leak, 2 usage error.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("before", type=Path, metavar="BEFORE.json", help="the earlier run's report")
    parser.add_argument("after", type=Path, metavar="AFTER.json", help="the later run's report")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the comparison as JSON")
    return parser


def main(argv: list[str], console: Console) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.json is not None:
            check_writable(args.json, "--json")
        comparison = compare(RunLeaks.read(args.before), RunLeaks.read(args.after))
        if args.json is not None:
            write_text(json.dumps(comparison.to_dict(), indent=2) + "\n", args.json)
    except LeakHarnessError as err:
        print(f"leakharness compare: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:
        print(f"leakharness compare: error: cannot write {args.json}: {err}", file=sys.stderr)
        return EXIT_USAGE
    for line in comparison_lines(comparison):
        console.print(line, soft_wrap=True)
    return EXIT_FAILED if comparison.failed else EXIT_CLEAN

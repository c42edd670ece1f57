"""``python -m leakharness TARGET...``: hunt leaks in unittest tests.

Exit status: 0 when nothing leaked, 1 when something leaked or errored,
2 on usage errors. Also the pre-commit hook's entry point.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from leakharness._version import __version__
from leakharness.config import Settings, command_line_settings
from leakharness.errors import LeakHarnessError
from leakharness.integrations import compare
from leakharness.integrations.ci import Gate, add_options, finish
from leakharness.integrations.hunt import hunt
from leakharness.integrations.parallel import hunt_in_workers, parse_shard, shard
from leakharness.integrations.targets import load_tests
from leakharness.integrations.terminal import Hunter, print_all, run, run_console
from leakharness.integrations.usage import EXIT_USAGE, Parser
from leakharness.report.console import Detail, bars_for, render_report
from leakharness.report.graphs import check_folder, write_graphs
from leakharness.report.html import write_html
from leakharness.report.json_report import check_writable, write_json
from leakharness.report.model import Report

DESCRIPTION = """\
Repeat unittest tests as cycles and report what they leak.

TARGET is a folder (tests discovered from test*.py), a .py file, a dotted
module, a unittest id (module.Class.test_x) or a file's test as pytest names
it (tests/test_x.py::Class::test_x). Plain TestCase tests are
repeated as cycles: setUp + test + tearDown, with gc.collect() between.
LeakTestCase tests run as written and their findings join the report.
A test that fails on its own is reported as an error, never as a leak.

leakharness compare BEFORE.json AFTER.json compares two runs' JSON reports
(see leakharness compare --help); a target named compare is ./compare.
leakharness watch loads a running server and judges its process from outside
(see leakharness watch --help).
"""

EPILOG = """\
resources: heap (Python allocated blocks, confirmed with tracemalloc), objects
(gc-tracked), rss (process memory), native_heap (C allocator, glibc), fds,
threads, native_threads, children (child processes, Linux), garbage,
tasks (asyncio tasks), unclosed (ResourceWarning).
Defaults come from [tool.leakharness] in the nearest pyproject.toml.

exit status: 0 nothing leaked, 1 a leak or an error (with --baseline: a new or
regressed leak, or an error), 2 usage error.
"""


DEFAULT = Settings()


def build_parser() -> argparse.ArgumentParser:

    parser = Parser(
        prog="leakharness",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "targets", nargs="*", default=["."], metavar="TARGET", help="what to run (default: discover in .)"
    )
    run = parser.add_argument_group("cycles")
    run.add_argument(
        "-n", "--cycles", type=int, metavar="N", help=f"most cycles per test (default {DEFAULT.max_cycles})"
    )
    run.add_argument(
        "--min-cycles",
        type=int,
        metavar="N",
        help=f"fewest cycles before a verdict (default {DEFAULT.min_cycles})",
    )
    run.add_argument(
        "-w",
        "--warmup",
        type=int,
        metavar="N",
        help=f"untimed cycles before measuring (default {DEFAULT.warmup})",
    )
    run.add_argument(
        "--time-budget",
        type=float,
        metavar="S",
        help=f"seconds of detection per test (default {DEFAULT.time_budget:g})",
    )
    run.add_argument(
        "--locate-cycles",
        type=int,
        metavar="N",
        help=f"traced cycles to locate a leak (default {DEFAULT.locate_cycles})",
    )
    run.add_argument("--resources", metavar="LIST", help="comma-separated resources to watch (default all)")
    run.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="RES=N",
        help="accepted growth: per cycle (rss=65536) or over the run (heap=2%%); repeatable",
    )
    run.add_argument(
        "--warn",
        action="append",
        default=[],
        metavar="RES=N",
        help="warn about growth a --tolerance accepts but that is above this level; repeatable",
    )
    run.add_argument("--run-budget", type=float, metavar="S", help="seconds for the whole run (default none)")
    run.add_argument(
        "--ignore", action="append", default=[], metavar="GLOB", help="drop lines in files matching GLOB"
    )
    run.add_argument(
        "--memory-profile",
        action="store_true",
        default=None,
        help="for native leaks, profile the cycle's process memory line by line",
    )
    run.add_argument("--pattern", default="test*.py", help="file pattern for folders (default test*.py)")
    run.add_argument(
        "--config", type=Path, metavar="PYPROJECT", help="read [tool.leakharness] from this file"
    )
    run.add_argument(
        "-j", "--jobs", type=int, default=1, metavar="N", help="hunt in N worker processes (default 1)"
    )
    run.add_argument("--shard", metavar="K/N", help="hunt only the K-th of N shares of the tests (for CI)")
    out = parser.add_argument_group("output")
    out.add_argument("--json", type=Path, metavar="PATH", help="also write the report as JSON")
    out.add_argument(
        "--html", type=Path, metavar="PATH", help="also write the report as one HTML page, with charts"
    )
    out.add_argument(
        "--graph", type=Path, metavar="DIR", help="draw what holds each leak as DIR/TEST.png (needs graphviz)"
    )
    out.add_argument(
        "--lines", type=int, metavar="N", help=f"top allocating lines shown (default {DEFAULT.top_lines})"
    )
    out.add_argument(
        "--depth",
        type=int,
        metavar="N",
        help=f"traceback frames per line (default {DEFAULT.traceback_depth})",
    )
    out.add_argument(
        "-q", "--quiet", action="store_true", help="one line a test: verdict, growth, top line, holder"
    )
    out.add_argument("-v", "--verbose", action="store_true", help="tables for clean tests too, and notes")
    add_options(parser)
    parser.add_argument("--version", action="version", version=f"leakharness {__version__}")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    settings = command_line_settings(args.config, Path.cwd()).settings
    changes: dict[str, Any] = {}
    for option, name in (
        ("cycles", "max_cycles"),
        ("min_cycles", "min_cycles"),
        ("warmup", "warmup"),
        ("time_budget", "time_budget"),
        ("locate_cycles", "locate_cycles"),
        ("lines", "top_lines"),
        ("depth", "traceback_depth"),
    ):
        if getattr(args, option) is not None:
            changes[name] = getattr(args, option)
    if args.cycles is not None and args.cycles < 1:  # else reported as min_cycles, lowered to it below
        raise LeakHarnessError(f"--cycles must be >= 1 (got {args.cycles})")
    if args.cycles is not None and args.min_cycles is None and args.cycles < settings.min_cycles:
        changes["min_cycles"] = args.cycles
    if args.resources is not None:
        changes["resources"] = [name.strip() for name in args.resources.split(",") if name.strip()]
        if not changes["resources"]:
            raise LeakHarnessError(f"--resources needs at least one resource name (got {args.resources!r})")
    if not args.pattern.strip():
        raise LeakHarnessError("--pattern must not be empty (got '')")
    if args.tolerance:
        changes["tolerances"] = {**settings.tolerances, **_tolerances("--tolerance", args.tolerance)}
    if args.warn:
        changes["warn_tolerances"] = {**settings.warn_tolerances, **_tolerances("--warn", args.warn)}
    if args.memory_profile:
        changes["memory_profile"] = True
    if args.run_budget is not None:
        changes["run_budget"] = args.run_budget
    if args.ignore:
        changes["ignore"] = (*settings.ignore, *args.ignore)
    if args.html is not None or args.graph is not None:
        changes["holder_graph"] = True
    return settings.replace(**changes)


def _tolerances(option: str, items: list[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for item in items:
        name, sep, amount = item.partition("=")
        if not sep or not name.strip() or not amount.strip():
            raise LeakHarnessError(f"{option} must look like RES=NUMBER or RES=NUMBER% (got {item!r})")
        parsed[name.strip()] = amount.strip()
    return parsed


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    console = run_console(os.environ)
    if argv[:1] == ["compare"]:  # a target named compare is ./compare
        return compare.main(argv[1:], console)
    if argv[:1] == ["watch"]:  # a subcommand: a server in another process
        from leakharness.integrations.watch import main as watch

        return watch(argv[1:], console)
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
        if args.json is not None:
            check_writable(args.json)
        if args.html is not None:
            check_writable(args.html, "--html")
        if args.graph is not None:
            check_folder(args.graph)
        gate = Gate.prepare(args)
        tests = load_tests(args.targets, pattern=args.pattern)
        if args.shard is not None:
            tests = shard(tests, *parse_shard(args.shard))
        if args.jobs < 1:
            raise LeakHarnessError(f"--jobs must be >= 1 (got {args.jobs})")
    except LeakHarnessError as err:
        _fail(str(err))
        return EXIT_USAGE
    if args.graph is not None and shutil.which("dot") is None:
        print("leakharness: graphviz's dot is not installed: --graph draws nothing", file=sys.stderr)
    detail = Detail.QUIET if args.quiet else Detail.VERBOSE if args.verbose else Detail.NORMAL
    try:
        hunter: Hunter = hunt
        if args.jobs > 1:
            hunter = functools.partial(hunt_in_workers, jobs=args.jobs, reload=(args.targets, args.pattern))
        report = run(tests, settings, console, quiet=args.quiet, buffer=args.buffer, hunter=hunter)
    except KeyboardInterrupt:
        print("leakharness: interrupted", file=sys.stderr)
        return 130
    print_all(console, render_report(report, detail, bars_for(console)), soft_wrap=args.quiet)
    for path, write in ((args.json, write_json), (args.html, write_html), (args.graph, _graphs)):
        if path is not None:
            try:
                write(report, path)
            except OSError as err:
                _fail(f"cannot write {path}: {err}")
                return EXIT_USAGE
    try:
        return finish(report, args, gate, console)
    except LeakHarnessError as err:
        _fail(str(err))
        return EXIT_USAGE


def _graphs(report: Report, folder: Path) -> None:
    written, notes = write_graphs(report, folder)
    for note in notes:
        print(f"leakharness: {note}", file=sys.stderr)
    if written:
        graphs = "1 holder graph" if len(written) == 1 else f"{len(written)} holder graphs"
        print(f"leakharness: wrote {graphs} to {folder}", file=sys.stderr)


def _fail(message: str) -> None:
    """A usage error: one unwrapped line on stderr."""
    print(f"leakharness: error: {message}", file=sys.stderr)


def entry_point() -> None:
    sys.exit(main())

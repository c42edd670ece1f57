"""``leakharness watch``: load a running server in rounds and judge its process from outside.

Exit status as for hunting: 0 clean, 1 a leak or an error, 2 a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from time import perf_counter
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from leakharness.config import Settings, command_line_settings
from leakharness.errors import LeakHarnessError
from leakharness.integrations.terminal import print_all, run_console
from leakharness.integrations.usage import EXIT_USAGE, Parser
from leakharness.integrations.watch_load import Address, CommandLoad, HttpLoad
from leakharness.integrations.watch_process import WATCHED, ProcessTree
from leakharness.integrations.watch_run import Load, watch_rounds
from leakharness.integrations.watch_server import started_server
from leakharness.report.console import Detail, bars_for, render_report
from leakharness.report.html import write_html
from leakharness.report.json_report import check_writable, write_json
from leakharness.report.model import Report, TestReport

EXIT_CLEAN, EXIT_FAILED = 0, 1

DESCRIPTION = """\
Load a server in rounds and watch its process from outside.

A round is N requests to --url (or one run of the command after --); after
each round the process and its children (pre-fork workers) are sampled:
memory (RSS, and USS where psutil can read it), file descriptors, threads,
inet connections and the number of children. The series are judged as the
in-process cycles are. Lines cannot be located in another process: examine
the app in-process with leakharness.wsgi_cycle or asgi_cycle for them.
"""

EPILOG = """\
examples:
  leakharness watch --pid 4242 --url http://127.0.0.1:8000/items --requests 200 --concurrency 4
  leakharness watch --start "gunicorn -w 2 -b 127.0.0.1:8000 app:app" --url http://127.0.0.1:8000/
  leakharness watch --pid 4242 --port 8000 -- ./load.sh

resources, tolerances and warn_tolerances default to [tool.leakharness] in the
nearest pyproject.toml (or --config); the options win.

exit status: 0 nothing leaked, 1 a leak or an error, 2 usage error.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="leakharness watch",
        usage="leakharness watch (--pid PID | --start CMD) (--url URL [options] | [options] -- CMD ...)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    target = parser.add_argument_group("the server")
    target.add_argument("--pid", type=int, help="the server's process id")
    target.add_argument("--start", metavar="CMD", help="start this server, wait for its port, stop it after")
    target.add_argument("--port", type=int, help="port --start waits for on 127.0.0.1 (default: --url's)")
    target.add_argument(
        "--start-timeout", type=float, default=30.0, metavar="S", help="seconds to wait for it (default 30)"
    )
    load = parser.add_argument_group("the load of a round")
    load.add_argument("--url", help="send requests to this URL, and to nothing else")
    load.add_argument("--method", default="GET", help="request method (default GET)")
    load.add_argument("--requests", type=int, default=20, metavar="N", help="requests a round (default 20)")
    load.add_argument(
        "--concurrency", type=int, default=1, metavar="C", help="requests at a time (default 1)"
    )
    rounds = parser.add_argument_group("rounds")
    rounds.add_argument("--rounds", type=int, default=20, metavar="N", help="most rounds (default 20)")
    rounds.add_argument(
        "--min-rounds", type=int, default=10, metavar="N", help="fewest rounds before a verdict (default 10)"
    )
    rounds.add_argument(
        "-w", "--warmup", type=int, default=5, metavar="N", help="unsampled rounds (default 5)"
    )
    rounds.add_argument(
        "--time-budget", type=float, default=300.0, metavar="S", help="seconds of rounds (default 300)"
    )
    rounds.add_argument("--resources", metavar="LIST", help="comma-separated resources (default all)")
    rounds.add_argument(
        "--tolerance", action="append", default=[], metavar="RES=N", help="accepted growth per round"
    )
    rounds.add_argument("--warn", action="append", default=[], metavar="RES=N", help="warn above this growth")
    rounds.add_argument(
        "--config",
        type=Path,
        metavar="PYPROJECT",
        help="read resources and tolerances from [tool.leakharness] of this file (default: the nearest)",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--json", type=Path, metavar="PATH", help="also write the report as JSON")
    out.add_argument("--html", type=Path, metavar="PATH", help="also write the report as one HTML page")
    out.add_argument("-q", "--quiet", action="store_true", help="verdict and reason only")
    out.add_argument("-v", "--verbose", action="store_true", help="every resource, and notes")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    for option, value, low in (
        ("--rounds", args.rounds, 1),
        ("--min-rounds", args.min_rounds, 1),
        ("--warmup", args.warmup, 0),
    ):
        if value < low:
            raise LeakHarnessError(f"{option} must be >= {low} (got {value})")
    file = command_line_settings(args.config, Path.cwd())
    found = file.settings
    changes: dict[str, Any] = {
        "max_cycles": args.rounds,
        "min_cycles": min(args.min_rounds, args.rounds),
        "warmup": args.warmup,
        "time_budget": args.time_budget,
        "resources": found.resources if "resources" in file.named else WATCHED,
        "tolerances": {**found.tolerances, **_amounts("--tolerance", args.tolerance)},
        "warn_tolerances": {**found.warn_tolerances, **_amounts("--warn", args.warn)},
    }
    if args.resources:
        changes["resources"] = [name for name in args.resources.split(",") if name.strip()]
    elif not set(changes["resources"]) & set(WATCHED):
        sampled = ", ".join(r.value for r in WATCHED)
        raise LeakHarnessError(
            f"{file.path} [tool.leakharness]: resources names none that a watch samples ({sampled}); "
            "give --resources"
        )
    return Settings().replace(**changes)


def _amounts(option: str, items: list[str]) -> dict[str, str]:
    parsed = {}
    for item in items:
        name, _, amount = item.partition("=")
        if not name.strip() or not amount.strip():
            raise LeakHarnessError(f"{option} must look like RES=NUMBER or RES=NUMBER% (got {item!r})")
        parsed[name.strip()] = amount.strip()
    return parsed


def make_load(args: argparse.Namespace, command: list[str]) -> Load:
    if args.url and command:
        raise LeakHarnessError("give one load: --url URL or -- CMD ..., not both")
    if args.url:
        return HttpLoad(Address.parse(args.url), args.method, args.requests, args.concurrency)
    return CommandLoad(command)


def main(argv: list[str], console: Console | None = None) -> int:
    options, command = _split(argv)
    args = build_parser().parse_args(options)
    console = console or run_console(os.environ)
    try:
        settings = settings_from(args)
        load = make_load(args, command)
        if (args.pid is None) == (args.start is None):
            raise LeakHarnessError("give the server: --pid PID or --start CMD (one of them)")
        if args.json is not None:
            check_writable(args.json)
        if args.html is not None:
            check_writable(args.html, "--html")
        started = perf_counter()
        report = _watch(args, load, settings, console)
    except LeakHarnessError as err:
        print(f"leakharness watch: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("leakharness watch: interrupted", file=sys.stderr)
        return 130
    run = Report(tests=(report,), settings=settings.to_dict(), seconds=perf_counter() - started)
    detail = Detail.QUIET if args.quiet else Detail.VERBOSE if args.verbose else Detail.NORMAL
    print_all(console, render_report(run, detail, bars_for(console)))
    for path, write in ((args.json, write_json), (args.html, write_html)):
        if path is not None:
            try:
                write(run, path)
            except OSError as err:
                print(f"leakharness watch: error: cannot write {path}: {err}", file=sys.stderr)
                return EXIT_USAGE
    return EXIT_FAILED if run.failed else EXIT_CLEAN


def _watch(args: argparse.Namespace, load: Load, settings: Settings, console: Console) -> TestReport:
    with ExitStack() as stack:
        pid = args.pid
        if args.start is not None:
            host, port = _address(args, load)
            pid = stack.enter_context(started_server(args.start, host, port, args.start_timeout)).pid
        tree = ProcessTree(pid, settings.resources)
        if not console.is_terminal or args.quiet:
            return watch_rounds(tree, load, settings)
        columns = (TextColumn("rounds"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("rounds", total=settings.max_cycles)
            return watch_rounds(tree, load, settings, lambda done, _: progress.update(task, completed=done))
    raise AssertionError("unreachable")  # pragma: no cover - the with block returns


def _address(args: argparse.Namespace, load: Load) -> tuple[str, int]:
    """Where --start waits: the URL's host and port, or 127.0.0.1 and --port."""
    if args.port is not None:
        return "127.0.0.1", args.port
    if isinstance(load, HttpLoad):
        return load.address.host, load.address.port
    raise LeakHarnessError("--start with a load command needs --port PORT to wait for")


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    """Options, and the load command after ``--``."""
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []

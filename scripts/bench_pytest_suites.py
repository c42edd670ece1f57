#!/usr/bin/env python3
"""``pytest --leaks`` over the pytest suites of published pure-Python libraries.

Each pinned sdist is downloaded and unpacked as scripts/bench_real_suites.py
does (``pip download --no-deps --no-binary :all:``, source on ``PYTHONPATH``,
nothing built). Its tests are then run four ways, side by side in one run:
plain ``pytest``, ``pytest --leaks`` serial, and ``pytest --leaks -n 2``
(pytest-xdist), each JSON report kept. The report gives, per library: tests,
the three wall times and their ratios, verdict counts, whether the serial and
the xdist runs agree test by test, and every test flagged leak, inconclusive
or error with its reason and top line.

Usage: python scripts/bench_pytest_suites.py [--markdown OUT] [--libraries a,b] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from bench_real_suites import download, flagged_rows, markdown_table, run, source_path, unpack
from benchlib import machine_line, publish, scratch, text_table

Result = dict[str, Any]
# Loaded by name only where the entry point is not installed (naming it twice is an error).
REGISTERED = any(ep.name == "leakharness" for ep in entry_points(group="pytest11"))
PLUGIN = () if REGISTERED else ("-p", "leakharness.integrations.pytest_plugin")


@dataclass(frozen=True)
class Suite:
    name: str
    version: str
    tests: tuple[str, ...]
    note: str = ""


SUITES = {
    suite.name: suite
    for suite in (
        Suite("six", "1.17.0", ("test_six.py",), note="one test module at the sdist's root"),
        Suite("toolz", "1.0.0", ("toolz/tests",), note="tests inside the package"),
    )
}


def pytest_command(suite: Suite, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *PLUGIN, *extra, *suite.tests]


def timed(cmd: list[str], root: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = run(cmd, cwd=str(root), env=env)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return time.perf_counter() - started, lines[-1] if lines else f"exit {done.returncode}"


def examine_suite(suite: Suite, work: Path, project: Path) -> Result:
    folder = work / suite.name
    folder.mkdir()
    archive = download(suite, folder)  # type: ignore[arg-type]  # reads only name and version
    root = unpack(archive, folder / "src")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{source_path(root)}:{project}", "NO_COLOR": "1"}
    env["COLUMNS"] = "200"
    result: Result = {"suite": suite, "root": root}
    result["plain"] = timed(pytest_command(suite), root, env)
    for key, extra in (("serial", ()), ("xdist", ("-n", "2"))):
        out = work / f"{suite.name}-{key}.json"
        cmd = pytest_command(suite, "--leaks", "--leaks-json", str(out), *extra)
        result[key] = timed(cmd, root, env)
        result[f"{key}_report"] = json.loads(out.read_text()) if out.exists() else None
        result[f"{key}_command"] = f"cd {root} && PYTHONPATH={source_path(root)} {shlex.join(cmd[2:])}"
    return result


def verdicts(report: Result | None) -> dict[str, str]:
    return {t["id"]: t["verdict"] for t in report["tests"]} if report else {}


def summary_row(result: Result) -> list[str]:
    suite: Suite = result["suite"]
    serial, xdist = result["serial_report"], result["xdist_report"]
    plain_s, serial_s, xdist_s = result["plain"][0], result["serial"][0], result["xdist"][0]
    counts = serial["summary"] if serial else {}
    agree = "yes" if serial and verdicts(serial) == verdicts(xdist) else "no"
    return [
        suite.name,
        suite.version,
        str(len(serial["tests"])) if serial else "-",
        f"{plain_s:.1f}",
        f"{serial_s:.1f}",
        f"{xdist_s:.1f}",
        f"{serial_s / plain_s:.0f}x",
        f"{serial_s / xdist_s:.2f}",
        ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "-",
        agree,
    ]


SUMMARY_HEADER = [
    "library",
    "version",
    "tests",
    "plain pytest s",
    "--leaks s",
    "--leaks -n 2 s",
    "--leaks / plain",
    "serial / -n 2",
    "verdicts (serial)",
    "-n 2 verdicts equal",
]


def render(results: list[Result], command: str) -> tuple[str, str]:
    rows = [summary_row(r) for r in results]
    flagged = flagged_rows([{"library": r["suite"], "report": r["serial_report"]} for r in results])
    header = ["library", "test", "verdict", "cycles", "s", "reason", "resources not clean (series)", "top"]
    notes = [
        f"- {r['suite'].name} {r['suite'].version} ({r['suite'].note}): `{r['serial_command']}`; "
        f"plain: {r['plain'][1]}; --leaks: {r['serial'][1]}; -n 2: {r['xdist'][1]}"
        for r in results
    ]
    text = "\n\n".join([machine_line(command), text_table(SUMMARY_HEADER, rows), text_table(header, flagged)])
    md = "\n\n".join(
        [
            machine_line(command),
            "\n".join(notes),
            markdown_table(SUMMARY_HEADER, rows),
            "Tests flagged leak, inconclusive or error (serial run):",
            markdown_table(header, flagged) if flagged else "none",
        ]
    )
    return text, md + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", metavar="OUT", help="write the tables as Markdown to OUT")
    parser.add_argument("--libraries", metavar="LIST", default=",".join(SUITES))
    parser.add_argument("--keep", metavar="DIR", help="keep sdists, sources and JSON reports in DIR")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.libraries.split(",") if n.strip()]
    if any(n not in SUITES for n in names):
        parser.error(f"known libraries: {', '.join(SUITES)}")
    project = Path(__file__).resolve().parent.parent
    results = []
    with scratch("bench-pytest-", args.keep) as work:
        for name in names:
            print(f"{name}: downloading, unpacking, running ...", flush=True)
            results.append(examine_suite(SUITES[name], work, project))
    publish(*render(results, shlex.join([sys.executable, *sys.argv])), args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

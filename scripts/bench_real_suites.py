#!/usr/bin/env python3
"""Hunt leaks in the unittest suites of published pure-Python libraries.

For each library the pinned sdist is downloaded from PyPI
(``pip download --no-deps --no-binary :all:``), unpacked, put on
``PYTHONPATH`` from its source (nothing is built, so C speedups stay off),
and its tests are run by ``python -m leakharness TARGETS --json OUT -q`` from
the unpacked folder. The report gives, per library: tests, verdict counts,
wall and CPU seconds of a serial hunt and of one with ``--jobs N``, those of
a plain ``python -m unittest`` of the same tests (run before, between and
after the hunts, the median taken), the ratios hunt/plain, and every test
flagged leak, inconclusive or error with its reason, its growing resources
and its top line. CPU seconds are user+sys of the run and its children
(``getrusage(RUSAGE_CHILDREN)`` deltas), less sensitive to a loaded machine.

Usage: python scripts/bench_real_suites.py [--markdown OUT] [--libraries a,b] [--jobs N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import statistics
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import children_cpu, machine_line, publish, scratch, text_table

Result = dict[str, Any]


@dataclass(frozen=True)
class Library:
    name: str
    version: str
    targets: tuple[str, ...] = ()
    tests_folder: str = ""
    exclude: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    probe: str = ""
    note: str = ""
    by_class: bool = False


LIBRARIES = {
    lib.name: lib
    for lib in (
        Library(
            "simplejson",
            "4.3.0",
            targets=("simplejson/tests",),
            env={"DISABLE_SPEEDUPS": "1"},
            probe="import simplejson; assert simplejson._import_c_make_encoder() is None, 'speedups on'",
            note="run from source, no extension built: pure-Python mode (checked: "
            "`simplejson._import_c_make_encoder()` is None)",
        ),
        Library(
            "idna",
            "3.20",
            tests_folder="tests",
            exclude={
                "test_idna_uts46": "6,329 generated UTS #46 conformance tests",
                "test_idna_properties": "needs hypothesis",
            },
        ),
        Library(
            "more-itertools",
            "11.2.1",
            tests_folder="tests",
            note="its `load_tests` adds the doctests of the package, hunted as tests too",
        ),
        Library("cachetools", "8.0.1", targets=("tests",), note="source in `src/`"),
        Library(
            "markdown",
            "3.11.3",
            targets=("tests",),
            note="tests discovered from `tests/` and its sub-packages",
        ),
    )
}


# ---------------------------------------------------------------- preparing a library


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def download(lib: Library, folder: Path) -> Path:
    spec = f"{lib.name}=={lib.version}"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--dest",
        str(folder),
        spec,
    ]
    done = run(cmd)
    archives = sorted(folder.glob("*.tar.gz"))
    if done.returncode != 0 or not archives:
        tail = [line for line in done.stderr.splitlines() if "WARNING: Location" not in line][-3:]
        raise RuntimeError(f"cannot download the sdist of {spec}: {' '.join(tail)}")
    return archives[0]


def unpack(archive: Path, folder: Path) -> Path:
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(folder, filter="data")
        else:
            tar.extractall(folder)
    roots = [p for p in folder.iterdir() if p.is_dir()]
    if len(roots) != 1:
        raise RuntimeError(f"unexpected layout in {archive.name}: {[p.name for p in roots]}")
    return roots[0]


def source_path(root: Path) -> str:
    """The folder holding the importable package: ``src`` when there is one."""
    return str(root / "src") if (root / "src").is_dir() else str(root)


LIST_CLASSES = """
import importlib, inspect, sys, unittest
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    for attr, obj in vars(module).items():
        if inspect.isclass(obj) and issubclass(obj, unittest.TestCase) and obj.__module__ == name:
            print(f"{name}.{attr}")
"""


def test_classes(modules: list[str], root: Path, env: dict[str, str]) -> list[str]:
    done = run([sys.executable, "-c", LIST_CLASSES, *modules], cwd=str(root), env=env)
    if done.returncode != 0:
        raise RuntimeError(f"cannot list test classes: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout.split()


def targets_of(lib: Library, root: Path, env: dict[str, str]) -> list[str]:
    if lib.targets:
        return list(lib.targets)
    files = sorted((root / lib.tests_folder).glob("test*.py"))
    modules = [f"{lib.tests_folder}.{f.stem}" for f in files if f.stem not in lib.exclude]
    return test_classes(modules, root, env) if lib.by_class else modules


def environment(lib: Library, root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(lib.env)
    # the library's source first, then this checkout's leakharness (not an installed one)
    path = os.pathsep.join([source_path(root), str(Path(__file__).resolve().parents[1])])
    env.update(PYTHONPATH=path, COLUMNS="200", NO_COLOR="1")
    env.pop("PYTHONMALLOC", None)
    return env


# ---------------------------------------------------------------- running


@dataclass(frozen=True)
class Timed:
    """One run: wall seconds, and the user+sys CPU seconds of the process and
    its children (``RUSAGE_CHILDREN`` deltas: less sensitive to load than wall time)."""

    wall: float
    cpu: float
    status: int
    output: str


def timed(cmd: list[str], root: Path, env: dict[str, str]) -> Timed:
    before = children_cpu()
    started = time.perf_counter()
    done = run(cmd, cwd=str(root), env=env)
    wall = time.perf_counter() - started
    return Timed(wall, children_cpu() - before, done.returncode, done.stdout + done.stderr)


def plain_commands(targets: list[str], root: Path) -> list[list[str]]:
    """``python -m unittest`` over the same tests: ``discover`` for folders."""
    cmds = []
    for target in targets:
        if (root / target).is_dir():
            cmds.append([sys.executable, "-m", "unittest", "discover", "-s", target, "-t", "."])
    names = [t for t in targets if not (root / t).is_dir()]
    if names:
        cmds.append([sys.executable, "-m", "unittest", *names])
    return cmds


def plain_unittest(targets: list[str], root: Path, env: dict[str, str]) -> tuple[Timed, str]:
    """One plain run over the same tests, and its last line."""
    runs = [timed(cmd, root, env) for cmd in plain_commands(targets, root)]
    lines = [line for line in runs[-1].output.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else f"exit {runs[-1].status}"
    total = Timed(sum(r.wall for r in runs), sum(r.cpu for r in runs), max(r.status for r in runs), "")
    return total, last


def hunt(
    targets: list[str], root: Path, env: dict[str, str], out: Path, jobs: int
) -> tuple[Timed, list[str]]:
    cmd = [sys.executable, "-m", "leakharness", *targets, "--json", str(out), "-q"]
    if jobs > 1:
        cmd += ["--jobs", str(jobs)]
    done = timed(cmd, root, env)
    (out.parent / f"{out.stem}.log").write_text(done.output)
    return done, cmd


def probe(lib: Library, root: Path, env: dict[str, str]) -> None:
    if lib.probe:
        done = run([sys.executable, "-c", lib.probe], cwd=str(root), env=env)
        if done.returncode != 0:
            raise RuntimeError(f"{lib.name}: check failed: {done.stderr.strip().splitlines()[-1:]}")


def display_command(cmd: list[str], targets: list[str], root: Path, lib: Library) -> str:
    """The hunt command, with a long list of targets shortened."""
    shown = cmd
    if len(targets) > 6:
        at = cmd.index(targets[0])
        shown = [*cmd[:at], *targets[:3], f"...({len(targets)} targets)...", *cmd[at + len(targets) :]]
    variables = {"PYTHONPATH": source_path(root), **lib.env}
    extra = " ".join(f"{k}={v}" for k, v in variables.items())
    return f"cd {root} && {extra} {shlex.join(shown)}"


def examine_library(lib: Library, work: Path, jobs: int) -> Result:
    """Plain, serial hunt, plain, hunt with workers, plain: close together, so
    that the load of the shared machine weighs on each run alike."""
    folder = work / lib.name
    folder.mkdir()
    root = unpack(download(lib, folder), folder / "src")
    env = environment(lib, root)
    probe(lib, root, env)
    targets = targets_of(lib, root, env)
    plains = [plain_unittest(targets, root, env)]
    hunts = {}
    for label, workers in (("serial", 1), ("jobs", jobs)):
        out = work / f"{lib.name}-{label}.json"
        hunts[label], cmd = hunt(targets, root, env, out, workers)
        plains.append(plain_unittest(targets, root, env))
        if label == "serial":
            serial_cmd = cmd
    reports = {}
    for label in hunts:
        out = work / f"{lib.name}-{label}.json"
        reports[label] = json.loads(out.read_text()) if out.exists() else None
    log = [line for line in (work / f"{lib.name}-serial.log").read_text().splitlines() if line.strip()]
    return {
        "library": lib,
        "root": root,
        "targets": targets,
        "command": display_command(serial_cmd, targets, root, lib),
        "hunts": hunts,
        "reports": reports,
        "jobs": jobs,
        "plain": [p for p, _ in plains],
        "plain_last": plains[0][1],
        "log_tail": log[-1] if log else "",
        "load": os.getloadavg()[0],
    }


# ---------------------------------------------------------------- figures


FLAGGED = ("leak", "inconclusive", "error")


def ratio(hunt: float, plain: float) -> str:
    return f"{hunt / plain:.1f}x" if plain > 0 else "-"


def speed_row(result: Result) -> list[str]:
    """Tests, plain and hunt seconds (wall and CPU), and hunt/plain ratios.
    The plain figures are the medians of the three plain runs."""
    lib: Library = result["library"]
    report = result["reports"]["serial"]
    plain_wall = statistics.median(p.wall for p in result["plain"])
    plain_cpu = statistics.median(p.cpu for p in result["plain"])
    serial, jobs = result["hunts"]["serial"], result["hunts"]["jobs"]
    return [
        f"{lib.name} {lib.version}",
        str(len(report["tests"])) if report else "-",
        f"{plain_wall:.1f}",
        f"{serial.wall:.1f}",
        f"{jobs.wall:.1f}",
        ratio(serial.wall, plain_wall),
        ratio(jobs.wall, plain_wall),
        f"{plain_cpu:.1f}",
        f"{serial.cpu:.1f}",
        f"{jobs.cpu:.1f}",
        ratio(serial.cpu, plain_cpu),
        ratio(jobs.cpu, plain_cpu),
        f"{result['load']:.0f}",
    ]


def speed_header(jobs: int) -> list[str]:
    return [
        "suite",
        "tests",
        "plain s",
        "hunt s",
        f"hunt -j{jobs} s",
        "hunt/plain",
        f"-j{jobs}/plain",
        "plain CPU s",
        "hunt CPU s",
        f"-j{jobs} CPU s",
        "hunt/plain CPU",
        f"-j{jobs}/plain CPU",
        "load (1 min) after",
    ]


def verdicts(report: Result | None) -> str:
    if report is None:
        return "no report"
    counts = report["summary"]
    return ", ".join(
        f"{counts[k]} {k}" for k in ("clean", "leak", "inconclusive", "error", "skipped") if counts[k]
    )


def same_verdicts(reports: dict[str, Result | None]) -> str:
    serial, jobs = reports["serial"], reports["jobs"]
    if serial is None or jobs is None:
        return "-"
    pairs = (
        [(t["id"], t["verdict"]) for t in serial["tests"]],
        [(t["id"], t["verdict"]) for t in jobs["tests"]],
    )
    return "yes" if pairs[0] == pairs[1] else "no"


def verdict_row(result: Result) -> list[str]:
    lib: Library = result["library"]
    report = result["reports"]["serial"]
    examined = [t["seconds"] for t in report["tests"] if t["verdict"] != "skipped"] if report else []
    return [
        f"{lib.name} {lib.version}",
        verdicts(report),
        same_verdicts(result["reports"]),
        f"{statistics.median(examined):.3f}" if examined else "-",
        slowest(report) if report else "-",
        f"{result['hunts']['serial'].status} / {result['hunts']['jobs'].status}",
    ]


VERDICT_HEADER = [
    "suite",
    "verdicts (serial)",
    "same with workers",
    "median s/test",
    "slowest test, s",
    "exit",
]


def top_line(test: Result) -> str:
    lines = test["lines"]
    if lines:
        first = lines[0]
        return f"{Path(first['file']).name}:{first['line']} `{first['source']}`"
    if test["error"]:
        tail = [x for x in str(test["error"]).strip().splitlines() if x.strip()]
        return f"`{tail[-1].strip()}`" if tail else "-"
    return "-"


def series_shape(series: list[int]) -> str:
    """First and last reading, and how many cycles rose or fell."""
    if len(series) < 2:
        return "-"
    deltas = [b - a for a, b in itertools.pairwise(series)]
    rose = sum(d > 0 for d in deltas)
    fell = sum(d < 0 for d in deltas)
    return f"{series[0]}→{series[-1]}, {rose} up/{fell} down in {len(deltas)} cycles"


def resource_notes(test: Result) -> str:
    """Resources not clean: those whose series moved in full, the flat ones counted."""
    moved, flat = [], []
    for res in test["resources"]:
        if res["verdict"] == "clean":
            continue
        if len(set(res["series"])) > 1 or res["verdict"] == "leak":
            moved.append(f"{res['resource']} {res['verdict']} ({series_shape(res['series'])})")
        else:
            flat.append(res["resource"])
    if flat:
        moved.append(f"{len(flat)} more {test['verdict']} with a flat series ({', '.join(flat)})")
    return "; ".join(moved) or "-"


def short(text: str, limit: int = 160) -> str:
    text = text.replace("|", "/").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def flagged_rows(results: list[Result]) -> list[list[str]]:
    rows = []
    for result in results:
        for label, report in result["reports"].items():
            for test in report["tests"] if report else []:
                if test["verdict"] not in FLAGGED:
                    continue
                rows.append(
                    [
                        f"{result['library'].name} ({label})",
                        test["id"],
                        test["verdict"],
                        f"{test['cycles']} (+{test['located_cycles']} located)",
                        f"{test['seconds']:.1f}",
                        short(test["reason"]),
                        resource_notes(test).replace("|", "/"),
                        top_line(test),
                    ]
                )
    return rows


FLAGGED_HEADER = [
    "library",
    "test",
    "verdict",
    "cycles",
    "s",
    "reason",
    "resources not clean (series)",
    "top line",
]


def slowest(report: Result) -> str:
    tests = report["tests"]
    if not tests:
        return "-"
    test = max(tests, key=lambda t: t["seconds"])
    return f"{test['id'].rsplit('.', 2)[-2]}.{test['id'].rsplit('.', 1)[-1]} {test['seconds']:.1f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def library_notes(results: list[Result]) -> list[str]:
    notes = []
    for result in results:
        lib: Library = result["library"]
        excluded = "; ".join(f"{k} excluded ({v})" for k, v in lib.exclude.items())
        extra = "; ".join(x for x in (lib.note, excluded) if x)
        if result["reports"]["serial"] is None:
            status = result["hunts"]["serial"].status
            extra += f"; leakharness wrote no report (exit {status}): `{result['log_tail']}`"
        notes.append(
            f"- {lib.name} {lib.version}: `{result['command']}`"
            f"{'; ' + extra if extra else ''}; plain unittest: {result['plain_last']}"
        )
    return notes


def render(results: list[Result], command: str, jobs: int) -> tuple[str, str]:
    speed = [speed_row(r) for r in results]
    verdict = [verdict_row(r) for r in results]
    flagged = flagged_rows(results)
    flagged_text = text_table(FLAGGED_HEADER, flagged) if flagged else "no test flagged"
    text = "\n\n".join(
        [
            machine_line(command).replace("  \n", "\n"),
            text_table(speed_header(jobs), speed),
            text_table(VERDICT_HEADER, verdict),
            flagged_text,
        ]
    )
    md = "\n\n".join(
        [
            "# leakharness hunt mode on published unittest suites",
            machine_line(command),
            "\n".join(library_notes(results)),
            markdown_table(speed_header(jobs), speed),
            markdown_table(VERDICT_HEADER, verdict),
            "Tests flagged leak, inconclusive or error:",
            markdown_table(FLAGGED_HEADER, flagged) if flagged else "none",
        ]
    )
    return text, md + "\n"


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", metavar="OUT", help="write the tables as Markdown to OUT")
    parser.add_argument(
        "--libraries",
        metavar="LIST",
        default=",".join(LIBRARIES),
        help=f"comma-separated libraries (default: {','.join(LIBRARIES)})",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        metavar="N",
        help="hunt each suite serially and with --jobs N (default 2)",
    )
    parser.add_argument("--keep", metavar="DIR", help="keep sdists, sources, JSON reports and logs in DIR")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.libraries.split(",") if n.strip()]
    unknown = [n for n in names if n not in LIBRARIES]
    if unknown:
        print(f"error: unknown libraries {unknown}; known: {list(LIBRARIES)}", file=sys.stderr)
        return 2
    command = shlex.join([sys.executable, *sys.argv])
    results = []
    with scratch("bench-suites-", args.keep) as work:
        for name in names:
            print(f"{name}: downloading, unpacking, hunting ...", flush=True)
            result = examine_library(LIBRARIES[name], work, args.jobs)
            hunts = result["hunts"]
            print(
                f"  plain {[round(p.wall, 1) for p in result['plain']]} s, "
                f"hunt {hunts['serial'].wall:.1f} s, "
                f"--jobs {args.jobs} {hunts['jobs'].wall:.1f} s",
                flush=True,
            )
            results.append(result)
    publish(*render(results, command, args.jobs), args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

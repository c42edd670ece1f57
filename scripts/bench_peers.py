#!/usr/bin/env python3
"""Benchmark leakharness against psleak and pytest-memray on the same cycles.

Seven leaky and seven clean cycles (six when numpy is missing) are judged by
three tools, each (tool, cycle) pair in a fresh subprocess:

- leakharness: ``leakharness.check(cycle)`` with its default settings;
- psleak: ``MemoryLeakTestCase.execute(cycle)`` with its defaults, under
  ``PYTHONMALLOC=malloc`` (psleak skips its memory check without it);
- pytest-memray: a generated pytest file per cycle whose test body runs the
  cycle ``--memray-cycles`` times under ``@pytest.mark.limit_leaks(LIMIT)``,
  run with ``pytest --memray``; a failed test is a leak.

The peers are installed by this script into a virtual environment under a
temporary folder (or ``--venv DIR``), which also sees the packages of the
interpreter running this script (numpy, pytest, psutil).

Usage: python scripts/bench_peers.py [--markdown OUT] [--json OUT]
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import itertools
import json
import os
import shlex
import site
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import machine_line, text_table

PSLEAK_REQ = ("psleak==0.1.6",)
MEMRAY_REQ = ("pytest-memray==1.11.0", "memray==1.20.0")
MEMRAY_CYCLES = 200
MEMRAY_LIMIT = "1 KB"
MEMRAY_WARMUP = 5
TIMEOUT = 240
TOOLS = ("leakharness", "psleak", "pytest-memray")
HERE = Path(__file__).resolve().parent

STOP = threading.Event()
Result = dict[str, Any]
Results = dict[str, dict[str, Result]]


# ---------------------------------------------------------------- the cycles


@dataclass(frozen=True)
class Case:
    name: str
    expected: str
    what: str
    factory: Callable[[], Callable[[], object]]


def make_list_append() -> Callable[[], object]:
    kept: list[object] = []
    return lambda: kept.append(object())


class Session:
    def __init__(self, key: int) -> None:
        self.key = key
        self.data = [key]


def make_dict_registry() -> Callable[[], object]:
    registry: dict[int, Session] = {}
    keys = itertools.count()

    def cycle() -> None:
        key = next(keys)
        registry[key] = Session(key)

    return cycle


def make_unclosed_file() -> Callable[[], object]:
    kept: list[object] = []
    return lambda: kept.append(open(__file__, "rb"))


def make_unclosed_socketpair() -> Callable[[], object]:
    kept: list[object] = []
    return lambda: kept.append(socket.socketpair())


def make_unjoined_thread() -> Callable[[], object]:
    def cycle() -> None:
        threading.Thread(target=STOP.wait, daemon=True).start()

    return cycle


def make_native_malloc() -> Callable[[], object]:
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    size = 64 * 1024

    def cycle() -> None:
        ctypes.memset(libc.malloc(size), 1, size)

    return cycle


def make_every_fifth() -> Callable[[], object]:
    kept: list[dict[str, int]] = []
    counter = itertools.count()

    def cycle() -> None:
        n = next(counter)
        if n % 5 == 0:
            kept.append({"n": n})

    return cycle


def make_lru_bounded() -> Callable[[], object]:
    @functools.lru_cache(maxsize=16)
    def square(n: int) -> int:
        return n * n

    keys = itertools.count()
    return lambda: square(next(keys))


def make_deque_maxlen() -> Callable[[], object]:
    ring: deque[object] = deque(maxlen=32)
    return lambda: ring.append(object())


class Node:
    peer: Node | None = None


def make_ref_cycles() -> Callable[[], object]:
    def cycle() -> None:
        a, b = Node(), Node()
        a.peer, b.peer = b, a

    return cycle


def make_closed_file() -> Callable[[], object]:
    def cycle() -> None:
        with open(__file__, "rb") as fh:
            fh.read(256)

    return cycle


def make_joined_thread() -> Callable[[], object]:
    def cycle() -> None:
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()

    return cycle


def make_numpy_ring() -> Callable[[], object]:
    import numpy as np

    ring = np.zeros((64, 1024))
    counter = itertools.count()

    def cycle() -> None:
        i = next(counter)
        ring[i % 64] = np.full(1024, float(i))

    return cycle


def make_big_temporary() -> Callable[[], object]:
    size = 8 << 20

    def cycle() -> None:
        data = b"\x01" * size
        del data

    return cycle


CASES = {
    case.name: case
    for case in (
        Case("list_append", "leak", "list.append(object()) each cycle", make_list_append),
        Case("dict_registry", "leak", "dict registry, one new object per cycle", make_dict_registry),
        Case("unclosed_file", "leak", "open() kept referenced, never closed", make_unclosed_file),
        Case("unclosed_socketpair", "leak", "socketpair() kept, never closed", make_unclosed_socketpair),
        Case("unjoined_thread", "leak", "thread started, blocked, never joined", make_unjoined_thread),
        Case("native_malloc", "leak", "ctypes malloc(64 KiB) + memset, never freed", make_native_malloc),
        Case("every_fifth", "leak", "one small dict kept every 5th cycle", make_every_fifth),
        Case("lru_bounded", "clean", "lru_cache(maxsize=16), new key each cycle", make_lru_bounded),
        Case("deque_maxlen", "clean", "deque(maxlen=32).append(object())", make_deque_maxlen),
        Case("ref_cycles", "clean", "two objects referencing each other, dropped", make_ref_cycles),
        Case("closed_file", "clean", "with open(): read, closed", make_closed_file),
        Case("joined_thread", "clean", "thread started and joined", make_joined_thread),
        Case("numpy_ring", "clean", "numpy 64x1024 ring buffer, one row per cycle", make_numpy_ring),
        Case("big_temporary", "clean", "8 MiB bytes built and dropped", make_big_temporary),
    )
}


# ---------------------------------------------------------------- workers (in a subprocess)


def run_leakharness(cycle: Callable[[], object]) -> Result:
    import leakharness

    check = leakharness.check  # loads the engine (names load on first use), as psleak's import
    started = time.perf_counter()
    report = check(cycle)
    seconds = time.perf_counter() - started
    test = report.tests[0]
    return {
        "verdict": test.verdict.value,
        "seconds": seconds,
        "cycles": test.cycles,
        "reason": test.reason,
        "report": report.to_dict(),
    }


def run_psleak(cycle: Callable[[], object]) -> Result:
    import unittest

    import psleak

    class Probe(psleak.MemoryLeakTestCase):  # type: ignore[misc]
        """A test case used only for its ``execute``."""

    Probe.setUpClass()
    probe = Probe()
    started = time.perf_counter()
    try:
        probe.execute(cycle)
        verdict, reason = "clean", ""
    except psleak.Error as exc:
        verdict, reason = "leak", f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    except unittest.SkipTest as exc:
        verdict, reason = "skipped", str(exc)
    seconds = time.perf_counter() - started
    Probe.tearDownClass()
    return {"verdict": verdict, "seconds": seconds, "reason": reason}


def worker(tool: str, case: str, result_path: str) -> int:
    cycle = CASES[case].factory()
    runner = {"leakharness": run_leakharness, "psleak": run_psleak}[tool]
    result = runner(cycle)
    STOP.set()
    Path(result_path).write_text(json.dumps(result))
    return 0


# ---------------------------------------------------------------- peers' environment


def run_quiet(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def make_venv(folder: Path) -> Path:
    python = folder / "bin" / "python"
    if not python.exists():
        done = run_quiet([sys.executable, "-m", "venv", str(folder)])
        if done.returncode != 0:
            raise RuntimeError(f"cannot create a venv in {folder}: {done.stderr.strip()[-500:]}")
    inherit = run_quiet([str(python), "-c", "import site; print(site.getsitepackages()[0])"])
    own = Path(inherit.stdout.strip())
    lines = [f"import site; site.addsitedir({p!r})" for p in site.getsitepackages()]
    (own / "_inherit_bench.pth").write_text("\n".join(lines) + "\n")
    return python


def install_peer(python: Path, requirements: tuple[str, ...], module: str) -> str:
    """Install a peer; return "" on success or why it failed."""
    check = [str(python), "-c", f"import {module}"]
    if run_quiet(check).returncode == 0:
        return ""
    done = run_quiet([str(python), "-m", "pip", "install", "--quiet", *requirements])
    if done.returncode != 0:
        tail = [line for line in done.stderr.splitlines() if "WARNING: Location" not in line]
        return f"pip install {' '.join(requirements)} failed: {' '.join(tail[-3:])}"
    if run_quiet(check).returncode != 0:
        return f"{module} not importable after pip install {' '.join(requirements)}"
    return ""


VERSIONS = """
import importlib.metadata as m, json
names = ["leakharness", "psleak", "pytest-memray", "memray", "pytest", "psutil"]
found = {}
for name in names:
    try:
        found[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps(found))
"""


def versions(python: str) -> dict[str, str]:
    done = run_quiet([python, "-c", VERSIONS])
    return json.loads(done.stdout) if done.returncode == 0 else {}


def prepare_peers(folder: Path) -> tuple[Path | None, dict[str, str]]:
    try:
        python = make_venv(folder)
    except RuntimeError as exc:
        return None, {"psleak": str(exc), "pytest-memray": str(exc)}
    problems = {
        "psleak": install_peer(python, PSLEAK_REQ, "psleak"),
        "pytest-memray": install_peer(python, MEMRAY_REQ, "pytest_memray"),
    }
    return python, problems


# ---------------------------------------------------------------- running one (tool, case)


def run_worker(python: str, tool: str, case: str, workdir: Path, env: dict[str, str]) -> Result:
    result_path = workdir / f"{tool}-{case}.json"
    cmd = [python, str(Path(__file__).resolve()), "--worker", tool, case, "--result", str(result_path)]
    started = time.perf_counter()
    try:
        done = run_quiet(cmd, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"verdict": "timeout", "seconds": float(TIMEOUT), "process_seconds": float(TIMEOUT)}
    wall = time.perf_counter() - started
    if done.returncode != 0 or not result_path.exists():
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"verdict": "error", "seconds": wall, "process_seconds": wall, "reason": tail[0]}
    result: Result = json.loads(result_path.read_text())
    result["process_seconds"] = wall
    return result


MEMRAY_TEST = """\
import gc
import sys
import time

import pytest

sys.path.insert(0, {scripts!r})
import bench_peers

CASE = bench_peers.CASES[{case!r}]


@pytest.fixture(scope="module")
def cycle():
    cycle = CASE.factory()
    for _ in range({warmup}):
        cycle()
    gc.collect()
    return cycle


@pytest.mark.limit_leaks({limit!r})
def test_{case}(cycle):
    for _ in range({cycles}):
        cycle()
    gc.collect()
"""

MEMRAY_CONFTEST = """\
import json
import time

STARTED = []


def pytest_runtest_setup(item):
    STARTED.append(time.perf_counter())


def pytest_runtest_logreport(report):
    if report.when == "call" and STARTED:
        with open({timing!r}, "w") as fh:
            json.dump({{"seconds": time.perf_counter() - STARTED[0]}}, fh)
"""


def write_memray_case(case: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    test = folder / f"test_{case}.py"
    test.write_text(
        MEMRAY_TEST.format(
            scripts=str(HERE), case=case, warmup=MEMRAY_WARMUP, limit=MEMRAY_LIMIT, cycles=MEMRAY_CYCLES
        )
    )
    (folder / "conftest.py").write_text(MEMRAY_CONFTEST.format(timing=str(folder / "timing.json")))
    return test


def memray_outcome(junit: Path) -> tuple[str, str]:
    case = ET.parse(junit).getroot().find(".//testcase")
    if case is None:
        return "error", "no test collected"
    for tag, verdict in (("failure", "leak"), ("error", "error"), ("skipped", "skipped")):
        node = case.find(tag)
        if node is not None:
            message = (node.get("message") or "").splitlines()[0:1]
            text = message[0] if message else tag
            is_leak = tag == "failure" and "leak" in text
            return (verdict if tag != "failure" or is_leak else "error"), text
    return "clean", ""


def run_memray(python: str, case: str, workdir: Path, env: dict[str, str]) -> Result:
    folder = workdir / f"memray-{case}"
    test = write_memray_case(case, folder)
    junit = folder / "junit.xml"
    cmd = [
        python,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--memray",
        f"--junitxml={junit}",
        str(test),
    ]
    started = time.perf_counter()
    try:
        run_quiet(cmd, env=env, cwd=str(folder), timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"verdict": "timeout", "seconds": float(TIMEOUT), "process_seconds": float(TIMEOUT)}
    wall = time.perf_counter() - started
    if not junit.exists():
        return {
            "verdict": "error",
            "seconds": wall,
            "process_seconds": wall,
            "reason": "pytest wrote no report",
        }
    verdict, reason = memray_outcome(junit)
    timing = folder / "timing.json"
    seconds = json.loads(timing.read_text())["seconds"] if timing.exists() else wall
    return {"verdict": verdict, "seconds": seconds, "process_seconds": wall, "reason": reason}


def run_one(tool: str, case: str, peer_python: Path | None, workdir: Path) -> Result:
    env = dict(os.environ)
    env.pop("PYTHONMALLOC", None)
    if tool == "leakharness":
        return run_worker(sys.executable, tool, case, workdir, env)
    assert peer_python is not None
    if tool == "psleak":
        env.update(PYTHONMALLOC="malloc", PYTHONUNBUFFERED="1")
        return run_worker(str(peer_python), tool, case, workdir, env)
    return run_memray(str(peer_python), case, workdir, env)


# ---------------------------------------------------------------- figures


def available_cases(peer_python: Path | None) -> list[str]:
    names = list(CASES)
    probe = [str(peer_python or sys.executable), "-c", "import numpy"]
    numpy_ok = run_quiet([sys.executable, "-c", "import numpy"]).returncode == 0
    if not numpy_ok or run_quiet(probe).returncode != 0:
        names.remove("numpy_ring")
    return names


def totals(results: Results, tools: list[str]) -> dict[str, dict[str, float]]:
    out = {}
    for tool in tools:
        rows = [(case, results[case][tool]) for case in results]
        out[tool] = {
            "correct": sum(r["verdict"] == CASES[c].expected for c, r in rows),
            "seconds": sum(float(r["seconds"]) for _, r in rows),
            "process_seconds": sum(float(r["process_seconds"]) for _, r in rows),
        }
    return out


def ratio_lines(results: Results, tools: list[str]) -> list[str]:
    """Speed against each peer on the cases both judged correctly."""
    lines = []
    best: tuple[float, str] | None = None
    for peer in tools[1:]:
        both = [
            c
            for c in results
            if results[c]["leakharness"]["verdict"] == CASES[c].expected
            and results[c][peer]["verdict"] == CASES[c].expected
        ]
        lh = sum(float(results[c]["leakharness"]["seconds"]) for c in both)
        other = sum(float(results[c][peer]["seconds"]) for c in both)
        ratio = other / lh if lh else float("nan")
        lines.append(
            f"on the {len(both)} cases both leakharness and {peer} judged correctly: "
            f"{peer} {other:.2f} s, leakharness {lh:.2f} s, ratio {peer}/leakharness = {ratio:.2f}"
        )
        if both and (best is None or other < best[0]):
            best = (other, peer)
    if best:
        lines.append(f"fastest peer at equal correctness: {best[1]}")
    return lines


def cell(result: Result, expected: str) -> tuple[str, str]:
    verdict = str(result["verdict"])
    mark = "ok" if verdict == expected else "WRONG"
    return f"{verdict} ({mark})", f"{float(result['seconds']):.2f}"


def table_rows(results: Results, tools: list[str]) -> list[list[str]]:
    rows = []
    for case, by_tool in results.items():
        row = [case, CASES[case].expected]
        for tool in tools:
            row.extend(cell(by_tool[tool], CASES[case].expected))
        rows.append(row)
    return rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def leakharness_defaults() -> str:
    from leakharness.config import Settings

    defaults = Settings()
    names = ("warmup", "min_cycles", "max_cycles", "time_budget")
    return ", ".join(f"{name} {getattr(defaults, name):g}" for name in names) + " s"


def settings_lines(found: dict[str, str]) -> list[str]:
    return [
        f"- versions: {', '.join(f'{k} {v}' for k, v in found.items())}.",
        "- leakharness: `leakharness.check(cycle)`, default settings "
        f"({leakharness_defaults()}, all resources).",
        "- psleak: `MemoryLeakTestCase.execute(cycle)` with its defaults (warmup_times 10, "
        "times 200, retries 10 growing x1.5, tolerance 0, all checkers), run with "
        "`PYTHONMALLOC=malloc PYTHONUNBUFFERED=1` as psleak requires.",
        f"- pytest-memray: `@pytest.mark.limit_leaks({MEMRAY_LIMIT!r})`, test body "
        f"runs the cycle {MEMRAY_CYCLES} times then `gc.collect()`, after {MEMRAY_WARMUP} warm-up cycles "
        "in a module fixture; `pytest --memray`; a failed test is a leak.",
        "- seconds: time to verdict inside the tool's process (leakharness: around `check`; psleak: "
        "around `execute`; pytest-memray: from the test's setup to its call report, leak analysis "
        "included). Each (tool, case) ran in its own subprocess, one after another.",
    ]


def wrong_lines(results: Results, tools: list[str]) -> list[str]:
    lines = []
    for case, by_tool in results.items():
        for tool in tools:
            result = by_tool[tool]
            if result["verdict"] != CASES[case].expected:
                lines.append(f"- {tool} on {case}: {result['verdict']}: {result.get('reason') or '-'}")
    return lines


def render(
    results: Results,
    tools: list[str],
    command: str,
    problems: dict[str, str],
    found: dict[str, str],
) -> tuple[str, str]:
    header = ["case", "expected"]
    for tool in tools:
        header += [tool, "s"]
    rows = table_rows(results, tools)
    sums = totals(results, tools)
    total_header = ["tool", "correct", "verdict s (sum)", "process s (sum)"]
    total_rows = [
        [t, f"{int(v['correct'])}/{len(results)}", f"{v['seconds']:.2f}", f"{v['process_seconds']:.2f}"]
        for t, v in sums.items()
    ]
    extra = ratio_lines(results, tools) if len(tools) > 1 else []
    skipped = [f"{tool} not run: {why}" for tool, why in problems.items() if why]
    text = "\n\n".join(
        [
            machine_line(command).replace("  \n", "\n"),
            text_table(header, rows),
            text_table(total_header, total_rows),
            "\n".join(extra + skipped),
        ]
    )
    md = "\n\n".join(
        [
            "# leakharness vs psleak vs pytest-memray",
            machine_line(command),
            "\n".join(settings_lines(found)),
            markdown_table(header, rows),
            markdown_table(total_header, total_rows),
            "\n".join(f"- {line}" for line in extra + skipped),
            "Wrong verdicts, with the tool's reason:\n\n"
            + ("\n".join(wrong_lines(results, tools)) or "none"),
        ]
    )
    return text, md + "\n"


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", metavar="OUT", help="write the table as Markdown to OUT")
    parser.add_argument(
        "--json", metavar="OUT", help="write every result (leakharness reports included) to OUT"
    )
    parser.add_argument("--venv", metavar="DIR", help="create or reuse the peers' virtualenv in DIR (kept)")
    parser.add_argument("--cases", metavar="LIST", help="comma-separated case names (default: all)")
    parser.add_argument("--worker", nargs=2, metavar=("TOOL", "CASE"), help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_all(cases: list[str], tools: list[str], peer_python: Path | None, workdir: Path) -> Results:
    results: Results = {}
    for case in cases:
        results[case] = {}
        for tool in tools:
            result = run_one(tool, case, peer_python, workdir)
            results[case][tool] = result
            print(
                f"  {case:<20} {tool:<14} {result['verdict']:<13} {float(result['seconds']):7.2f} s",
                flush=True,
            )
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(args.worker[0], args.worker[1], args.result)
    if run_quiet([sys.executable, "-c", "import leakharness"]).returncode != 0:
        print("error: leakharness is not importable by this interpreter", file=sys.stderr)
        return 2
    command = shlex.join([sys.executable, *sys.argv])
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        workdir = Path(tmp)
        venv_dir = Path(args.venv) if args.venv else workdir / "venv"
        print(f"installing peers into {venv_dir} ...", flush=True)
        peer_python, problems = prepare_peers(venv_dir)
        for tool, why in problems.items():
            print(f"  {tool}: {'installed' if not why else 'CANNOT BE INSTALLED: ' + why}", flush=True)
        tools = ["leakharness"] + [t for t in TOOLS[1:] if not problems[t]]
        cases = args.cases.split(",") if args.cases else available_cases(peer_python)
        found = {**versions(sys.executable), **(versions(str(peer_python)) if peer_python else {})}
        results = run_all(cases, tools, peer_python, workdir)
    text, md = render(results, tools, command, problems, found)
    print("\n" + text)
    if args.markdown:
        Path(args.markdown).write_text(md)
    if args.json:
        everything = {"tools": tools, "versions": found, "results": results}
        Path(args.json).write_text(json.dumps(everything, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

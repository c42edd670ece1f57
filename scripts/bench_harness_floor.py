#!/usr/bin/env python3
"""What a hunt costs on tests that cost nothing: the harness's own share.

Writes a module of N one-line unittest tests into a temporary folder, then
runs a plain ``python -m unittest`` of it and ``python -m leakharness`` on
it, alternately, and prints the median CPU seconds (user + sys of the child)
of each, the CPU per test of the hunt beyond the plain run, and how many
cycles the hunted tests ran.

Usage: python scripts/bench_harness_floor.py [--tests 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchlib import children_cpu, machine_line, scratch, text_table


def write_module(folder: Path, tests: int) -> None:
    lines = ["import unittest", "", "", "class Instant(unittest.TestCase):"]
    for index in range(tests):
        lines += [
            f"    def test_{index}(self):",
            f"        self.assertEqual(len('ab' * {index % 7}), {2 * (index % 7)})",
        ]
    (folder / "test_instant.py").write_text("\n".join(lines) + "\n")


def cpu_seconds(command: list[str], folder: Path) -> float:
    """User + sys seconds of ``command``, run to completion in ``folder``."""
    before = children_cpu()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
    return children_cpu() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with scratch("bench-floor-") as folder:
        write_module(folder, args.tests)
        report = folder / "report.json"
        plain_cmd = [sys.executable, "-m", "unittest", "-q", "test_instant"]
        hunt_cmd = [sys.executable, "-m", "leakharness", "test_instant.py", "-q", "--json", str(report)]
        plain, hunt = [], []
        for _ in range(args.repeats):
            plain.append(cpu_seconds(plain_cmd, folder))
            hunt.append(cpu_seconds(hunt_cmd, folder))
        cycles = collections.Counter(test["cycles"] for test in json.loads(report.read_text())["tests"])
    plain_s, hunt_s = statistics.median(plain), statistics.median(hunt)
    per_test = (hunt_s - plain_s) / args.tests * 1e3
    print(machine_line(" ".join(["python", *sys.argv])).replace("  \n", "\n"))
    rows = [[str(args.tests), f"{plain_s:.2f}", f"{hunt_s:.2f}", f"{per_test:.2f}", dict(cycles).__repr__()]]
    print(
        text_table(["tests", "plain CPU s", "hunt CPU s", "hunt - plain, ms a test", "cycles: tests"], rows)
    )


if __name__ == "__main__":
    main()

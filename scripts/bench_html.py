"""The HTML report's size and rendering time on a big run, with its lines
shaped (the readings where a line bends) beside every reading drawn.

One real leak and one real clean cycle are examined for ``--cycles`` cycles;
a run of ``--tests`` tests (one in ten leaking) is made from them, and its
page is rendered ``--repeats`` times each way, interleaved.

    python scripts/bench_html.py [--tests 500] [--cycles 400] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import replace

from benchlib import machine_line, text_table

import leakharness
from leakharness.report import html_chart
from leakharness.report.html import render_html
from leakharness.report.model import Report

_KEPT: list[object] = []


def leaky() -> None:
    _KEPT.append(object())


def clean() -> None:
    scratch = [object() for _ in range(10)]
    scratch.clear()


def every_reading(series: Sequence[int], columns: int) -> list[int]:
    return list(range(len(series)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    forced = {"min_cycles": args.cycles, "max_cycles": args.cycles}
    leak, fine = leakharness.check(leaky, **forced).tests[0], leakharness.check(clean, **forced).tests[0]
    report = Report(
        tuple(replace(leak if i % 10 == 0 else fine, id=f"t.T.test_{i}") for i in range(args.tests))
    )
    shaped = html_chart.shape
    results: dict[str, tuple[list[float], int]] = {"shaped lines": ([], 0), "every reading": ([], 0)}
    for _ in range(args.repeats):
        for name, keep in (("shaped lines", shaped), ("every reading", every_reading)):
            html_chart.shape = keep  # type: ignore[assignment]
            started = time.perf_counter()
            size = len(render_html(report).encode("utf-8"))
            results[name][0].append(time.perf_counter() - started)
            results[name] = (results[name][0], size)
    html_chart.shape = shaped  # type: ignore[assignment]
    base_time = statistics.median(results["every reading"][0])
    base_size = results["every reading"][1]
    rows = [
        [
            name,
            f"{size / 1e6:.1f} MB",
            f"{size / base_size:.2f}",
            f"{statistics.median(times):.2f} s",
            f"{statistics.median(times) / base_time:.2f}",
        ]
        for name, (times, size) in results.items()
    ]
    command = (
        f"python scripts/bench_html.py --tests {args.tests} --cycles {args.cycles} --repeats {args.repeats}"
    )
    print(machine_line(command) + f", load average {os.getloadavg()[0]:.0f}")
    print()
    print(text_table(["lines drawn", "page", "ratio", "render (median)", "ratio"], rows))


if __name__ == "__main__":
    main()

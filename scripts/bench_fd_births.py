"""What following the project's lines for descriptor births costs in the locate phase.

Times the same cycles three ways, side by side in one run: plain, with
tracemalloc tracing (as the locate phase runs them), and with tracemalloc
plus ``FdBirths``. Two cycles: one that spends its time in its own lines
(every line is traced) and one that spends it in the standard library (only
its calls reach the trace function). Prints a Markdown table of ratios.

    python scripts/bench_fd_births.py [--cycles N] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from benchlib import machine_line, text_table

from leakharness.diagnose.fd_births import FdBirths

KEPT: list[int] = []
DOCUMENT = {"frames": [{"id": n, "tags": ["a", "b"], "size": n * 3} for n in range(40)]}


def own_lines() -> None:
    """Pure-Python work in the project's own lines, and one pipe kept."""
    total = 0
    for n in range(300):
        if n % 3:
            total += n
        else:
            total -= 1
    KEPT.extend(os.pipe())


def library_calls() -> None:
    """Most of the time inside the standard library, and one pipe kept."""
    for _ in range(20):
        json.loads(json.dumps(DOCUMENT))
    KEPT.extend(os.pipe())


def timed(cycle: Callable[[], None], cycles: int, tracing: bool, births: bool) -> float:
    watch: AbstractContextManager[object] = FdBirths() if births else nullcontext()
    if tracing:
        tracemalloc.start(16)
    try:
        with watch:
            started = time.perf_counter()
            for _ in range(cycles):
                cycle()
            seconds = time.perf_counter() - started
    finally:
        if tracing:
            tracemalloc.stop()
        for fd in KEPT:
            os.close(fd)
        KEPT.clear()
    return seconds / cycles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=17, help="cycles per timing (17: the locate phase's)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if sys.gettrace() is not None:
        sys.exit("a trace function is set: FdBirths would stand aside")
    rows = []
    for name, cycle in (("own lines", own_lines), ("stdlib calls", library_calls)):
        plain, traced, both = [], [], []
        for _ in range(args.repeats):  # interleaved, so that load on the machine hits all three alike
            plain.append(timed(cycle, args.cycles, tracing=False, births=False))
            traced.append(timed(cycle, args.cycles, tracing=True, births=False))
            both.append(timed(cycle, args.cycles, tracing=True, births=True))
        p, t, b = (statistics.median(x) for x in (plain, traced, both))
        times = [f"{seconds * 1e3:.3f}" for seconds in (p, t, b)]
        rows.append([name, *times, f"{t / p:.1f}", f"{b / t:.2f}"])
    header = ["cycle", "plain ms", "traced ms", "traced+births ms", "traced/plain", "births/traced"]
    print(machine_line(f"python scripts/bench_fd_births.py --cycles {args.cycles} --repeats {args.repeats}"))
    print()
    print(text_table(header, rows))


if __name__ == "__main__":
    main()

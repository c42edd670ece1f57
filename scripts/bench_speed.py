"""Speed of a clean verdict, side by side with the same cycles run bare.

Measures, in one process and interleaved so that machine noise hits both:
  1. time to a clean verdict for a ~200 µs cycle vs running the same number of
     cycles bare (warm-up and measured cycles both counted), as a ratio;
  2. the harness's overhead per cycle with 10,000 and with 1,000,000 extra
     live objects in the process, and their ratio.

    python scripts/bench_speed.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from collections.abc import Callable

import leakharness

TARGET_SECONDS = 200e-6
WORK = [800]  # list items per cycle, calibrated to TARGET_SECONDS by calibrate()


def clean_cycle() -> int:
    """Allocation-heavy work that keeps nothing."""
    return sum(len(str(i)) for i in [j * j for j in range(WORK[0])])


def calibrate() -> float:
    """Size the clean cycle to about 200 µs on this machine; return its time."""
    for _ in range(3):
        per_cycle = bare(clean_cycle, 300) / 300
        WORK[0] = max(1, round(WORK[0] * TARGET_SECONDS / per_cycle))
    return bare(clean_cycle, 500) / 500


def bare(cycle: Callable[[], object], cycles: int) -> float:
    started = time.perf_counter()
    for _ in range(cycles):
        cycle()
    return time.perf_counter() - started


def one_verdict(cycle: Callable[[], object]) -> tuple[float, int]:
    """Seconds to a clean verdict, and how many times the cycle ran."""
    calls = [0]

    def counted() -> None:
        calls[0] += 1
        cycle()

    started = time.perf_counter()
    report = leakharness.check(counted)
    seconds = time.perf_counter() - started
    if report.tests[0].verdict is not leakharness.Verdict.CLEAN:
        raise SystemExit(f"expected a clean verdict, got {report.tests[0]!r}")
    return seconds, calls[0]


def compare(repeats: int) -> tuple[float, float, float, int]:
    """Median harness seconds, median bare seconds for as many cycles, ratio, cycles."""
    harness, plain, runs = [], [], 0
    for _ in range(repeats):
        seconds, runs = one_verdict(clean_cycle)
        harness.append(seconds)
        plain.append(bare(clean_cycle, runs))
    h, b = statistics.median(harness), statistics.median(plain)
    return h, b, h / b, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    per_cycle = calibrate()
    print(f"clean cycle: {per_cycle * 1e6:.0f} µs bare ({WORK[0]} items)")
    one_verdict(clean_cycle)  # warm the harness: a suite runs it many times
    overheads = {}
    for live in (10_000, 1_000_000):
        ballast = [[i] for i in range(live)]
        gc.collect()
        h, b, ratio, runs = compare(args.repeats)
        overheads[live] = (h - b) / runs
        print(
            f"{live:>9,} live objects: clean verdict in {h * 1e3:.1f} ms for {runs} cycles; "
            f"bare {b * 1e3:.1f} ms; ratio {ratio:.2f}; overhead {overheads[live] * 1e6:.0f} µs/cycle"
        )
        del ballast
        gc.collect()
    print(f"overhead ratio 1,000,000 / 10,000 live objects: {overheads[1_000_000] / overheads[10_000]:.2f}")


if __name__ == "__main__":
    sys.exit(main())

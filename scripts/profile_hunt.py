#!/usr/bin/env python3
"""Where a hunt spends its CPU time: the test code against the harness.

Runs ``hunt(load_tests(TARGETS), Settings())`` under cProfile with a CPU
clock (``time.process_time``: a loaded machine inflates wall time, not this),
then prints the cumulative CPU seconds of the test's own runs and of each
part of the harness (probes, judging, cache clearing, collections).

Usage: cd SUITE && python scripts/profile_hunt.py tests [--path src] [--stats OUT]
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import sys
import time
from collections.abc import Callable

# (label, file ending, function name): the cumulative time of each.
PARTS: list[tuple[str, str, str]] = [
    ("whole hunt", "integrations/hunt.py", "hunt"),
    ("test code: measured cycles", "integrations/hunt.py", "cycle"),
    ("test code: first run as written", "integrations/hunt.py", "_run_once"),
    ("harness: judging (judge_all)", "measure/detect.py", "judge_all"),
    ("harness: probe reads (Samples.record)", "measure/samples.py", "record"),
    ("harness: first timed reads (calibrate)", "measure/samples.py", "calibrate"),
    ("harness: making probes", "measure/probes.py", "make_probes"),
    ("harness: lru cache scan (_bounded_lru_sizes)", "measure/caches.py", "_bounded_lru_sizes"),
    ("harness: cache clearing per cycle", "measure/caches.py", "__call__"),
    ("  of which sys._clear_type_cache", "~", "<built-in method sys._clear_type_cache>"),
    ("harness: gc.collect", "~", "<built-in method gc.collect>"),
    ("harness: locating lines", "diagnose/locate.py", "locate"),
]


def cumulative(stats: pstats.Stats, ending: str, name: str) -> float:
    table: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
    return sum(v[3] for (file, _, func), v in table.items() if func == name and file.endswith(ending))


def profile(targets: list[str]) -> tuple[pstats.Stats, collections.Counter[str], list[str]]:
    from leakharness.config import Settings
    from leakharness.integrations.hunt import hunt
    from leakharness.integrations.targets import load_tests

    tests = load_tests(targets)
    clock: Callable[[], float] = time.process_time
    profiler = cProfile.Profile(clock)
    report = profiler.runcall(hunt, tests, Settings())
    verdicts = collections.Counter(str(t.verdict.value) for t in report.tests)
    flagged = [
        f"{t.id}: {t.verdict.value}, {t.cycles} cycles, {t.reason}"
        for t in report.tests
        if t.verdict.value in ("leak", "inconclusive", "error")
    ]
    return pstats.Stats(profiler), verdicts, flagged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="+")
    parser.add_argument("--path", action="append", default=[], help="put this folder first on sys.path")
    parser.add_argument("--stats", metavar="OUT", help="also write the raw profile to OUT")
    args = parser.parse_args(argv)
    sys.path[:0] = [*args.path, "."]
    stats, verdicts, flagged = profile(args.targets)
    if args.stats:
        stats.dump_stats(args.stats)
    whole = cumulative(stats, *PARTS[0][1:]) or 1.0
    print(f"verdicts: {dict(verdicts)}")
    for line in flagged:
        print(f"  {line[:200]}")
    for label, ending, name in PARTS:
        seconds = cumulative(stats, ending, name)
        print(f"{label:48s} {seconds:8.2f} s CPU {100 * seconds / whole:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())

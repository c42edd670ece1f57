"""What ``import leakharness`` costs, beside a bare interpreter start.

Each sample starts a fresh interpreter; bare and importing starts alternate so
that machine noise hits both. Prints the medians and their difference.

    python scripts/bench_import.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from benchlib import machine_line, text_table

STATEMENTS = {
    "bare interpreter": "pass",
    "import leakharness": "import leakharness",
    "from leakharness import LeakTestCase": "from leakharness import LeakTestCase",
    "import leakharness.integrations.cli": "import leakharness.integrations.cli",
}


def start_seconds(statement: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    repeats = parser.parse_args().repeats
    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(repeats):
        for name, statement in STATEMENTS.items():
            samples[name].append(start_seconds(statement))
    bare = statistics.median(samples["bare interpreter"])
    rows = [
        [
            name,
            f"{statistics.median(times) * 1000:.0f} ms",
            f"{(statistics.median(times) - bare) * 1000:+.0f} ms",
        ]
        for name, times in samples.items()
    ]
    print(machine_line(f"python scripts/bench_import.py --repeats {repeats}"))
    print()
    print(text_table(["statement", "median start", "over bare"], rows))


if __name__ == "__main__":
    main()

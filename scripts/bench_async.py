"""Cost of a clean verdict for an async cycle, side by side with its sync twin.

The twins do the same work (parse and sum a small JSON payload, a few sizes
of it); the async one is an ``async def``, alone or with one
``await asyncio.sleep(0)`` (one more turn of the event loop per cycle).
Each repeat runs every twin once, interleaved, so that machine noise hits
all of them. The table gives the median CPU time of the process
(``time.process_time``) and the best wall-clock time, each with its ratio
async / sync. On a loaded machine a verdict of a few milliseconds loses
whole scheduler slices at random (the same twin took 1.5 ms or 14 ms of
wall-clock time in one run), so wall-clock medians measure the load more
than the harness.

    python scripts/bench_async.py [--repeats 5] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable

from benchlib import machine_line, publish, text_table

import leakharness

SIZES = (20, 200)  # payload items


def payload(items: int) -> str:
    return json.dumps([{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(items)])


def work(text: str) -> int:
    return sum(item["id"] for item in json.loads(text))


def twins(text: str) -> dict[str, Callable[[], object]]:
    def sync_cycle() -> int:
        return work(text)

    async def async_cycle() -> int:
        return work(text)

    async def async_awaiting() -> int:
        await asyncio.sleep(0)
        return work(text)

    return {"sync": sync_cycle, "async def": async_cycle, "async def + await": async_awaiting}


def bare_microseconds(text: str, runs: int = 500) -> float:
    """The work's own time, best of single runs (a batch is preempted as a whole)."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work(text)
        best = min(best, time.perf_counter() - started)
    return best * 1e6


def verdict_seconds(cycle: Callable[[], object]) -> tuple[float, float, int]:
    """Wall-clock and CPU seconds to a clean verdict, and its cycles."""
    started, cpu = time.perf_counter(), time.process_time()
    report = leakharness.check(cycle)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    test = report.tests[0]
    if test.verdict is not leakharness.Verdict.CLEAN:
        raise SystemExit(f"expected a clean verdict, got {test!r}")
    return seconds, cpu, test.cycles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", help="write the Markdown table to this file")
    args = parser.parse_args()
    header = ["cycle", "twin", "cycles", "CPU median", "ratio", "wall best", "ratio"]
    rows = []
    for items in SIZES:
        text = payload(items)
        label = f"{items} items ({bare_microseconds(text):.0f} µs bare)"
        cycles = twins(text)
        for cycle in cycles.values():  # warm each twin once: the first loop made imports more of asyncio
            verdict_seconds(cycle)
        wall: dict[str, list[float]] = {name: [] for name in cycles}
        cpu: dict[str, list[float]] = {name: [] for name in cycles}
        counts: dict[str, int] = {}
        for _ in range(args.repeats):
            for name, cycle in cycles.items():
                seconds, used, counts[name] = verdict_seconds(cycle)
                wall[name].append(seconds)
                cpu[name].append(used)
        cpu_sync, best_sync = statistics.median(cpu["sync"]), min(wall["sync"])
        for name in cycles:
            used, best = statistics.median(cpu[name]), min(wall[name])
            rows.append(
                [
                    label,
                    name,
                    str(counts[name]),
                    f"{used * 1e3:.1f} ms",
                    f"{used / cpu_sync:.2f}",
                    f"{best * 1e3:.1f} ms",
                    f"{best / best_sync:.2f}",
                ]
            )
    command = f"python scripts/bench_async.py --repeats {args.repeats}"
    text = text_table(header, rows)
    markdown = "\n".join(
        [
            machine_line(command),
            "",
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows),
            "",
        ]
    )
    publish(text, markdown, args.out)


if __name__ == "__main__":
    sys.exit(main())

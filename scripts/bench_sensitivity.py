"""Sensitivity with default settings: the smallest leaks, each beside its clean twin.

    python scripts/bench_sensitivity.py

Cases: one small object (under 100 bytes) kept per cycle; one kept every
fifth cycle; 64 KiB malloc'd per cycle with ctypes and never freed (invisible
to tracemalloc), untouched and touched. Prints the verdict, the resources
that leaked, the cycles run and the seconds to the verdict.
"""

from __future__ import annotations

import ctypes
import platform
import sys
import time
from collections.abc import Callable

import leakharness

KEPT: list[object] = []
LIBC = ctypes.CDLL(None)
LIBC.malloc.restype = ctypes.c_void_p
LIBC.malloc.argtypes = [ctypes.c_size_t]
LIBC.free.argtypes = [ctypes.c_void_p]
NATIVE = 64 * 1024


def counter() -> Callable[[], int]:
    calls = [0]

    def tick() -> int:
        calls[0] += 1
        return calls[0]

    return tick


def small_object() -> Callable[[], None]:
    ids = iter(range(10**12, 2 * 10**12))
    return lambda: KEPT.append(next(ids))  # a 32-byte int per cycle


def small_object_clean() -> Callable[[], None]:
    ids = iter(range(10**12, 2 * 10**12))
    return lambda: [next(ids)]


def every_fifth(keep: bool) -> Callable[[], None]:
    tick = counter()

    def cycle() -> None:
        if tick() % 5 == 0:
            item = ("event", tick())
            if keep:
                KEPT.append(item)

    return cycle


def native(keep: bool, touch: bool) -> Callable[[], None]:
    def cycle() -> None:
        address = LIBC.malloc(NATIVE)
        if touch:
            ctypes.memset(address, 1, NATIVE)
        if not keep:
            LIBC.free(address)

    return cycle


CASES: list[tuple[str, bool, Callable[[], Callable[[], None]]]] = [
    ("one small object per cycle", True, small_object),
    ("  clean twin: made and dropped", False, small_object_clean),
    ("one small object every 5th cycle", True, lambda: every_fifth(True)),
    ("  clean twin: made and dropped", False, lambda: every_fifth(False)),
    ("64 KiB malloc per cycle, untouched", True, lambda: native(True, False)),
    ("64 KiB malloc per cycle, touched", True, lambda: native(True, True)),
    ("  clean twin: malloc and free", False, lambda: native(False, True)),
]


def main() -> int:
    print(f"python {platform.python_version()}, {platform.system()} {platform.machine()}")
    print(f"{'case':38} {'expected':9} {'verdict':13} {'cycles':>6} {'seconds':>8}  leaked resources")
    wrong = 0
    for name, leaks, make in CASES:
        started = time.perf_counter()
        test = leakharness.check(make()).tests[0]
        seconds = time.perf_counter() - started
        resources = ", ".join(f"{r.resource.value} {r.growth_per_cycle:+.3g}/cycle" for r in test.leaks)
        expected = "leak" if leaks else "clean"
        wrong += test.verdict.value != expected
        print(f"{name:38} {expected:9} {test.verdict.value:13} {test.cycles:>6} {seconds:>8.3f}  {resources}")
    print(f"{len(CASES) - wrong}/{len(CASES)} right")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())

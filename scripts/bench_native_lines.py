"""Which per-line counter names a native leak's line: memory_profiler's RSS, or the ledger.

    python scripts/bench_native_lines.py

Each case leaks memory that tracemalloc does not see (numpy's arrays it does
see, but they are native allocations all the same) at a line marked
``# LEAK``. Three attributions run on the same cycle, side by side:

- memory_profiler's line profile of one cycle (RSS read at every line of the
  cycle function), the line with the largest increment;
- the native ledger reading glibc's ``mallinfo2`` (bytes in use) at every
  project line and call, over 6 cycles;
- the same ledger reading RSS;
- the ledger as leakharness runs it: mallinfo2 when the native heap grows,
  RSS when only RSS does (pages mapped outside malloc).

It prints, per case and method, the line charged first, whether it is the
marked one, and the size it was charged per cycle.
"""

from __future__ import annotations

import ctypes
import gc
import inspect
import mmap
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from benchlib import machine_line, text_table

from leakharness.config import Settings
from leakharness.diagnose.native import line_memory_profile
from leakharness.diagnose.native_sites import attribute
from leakharness.measure.probes import NativeHeap
from leakharness.measure.session import Session
from leakharness.measure.state import preserved_state
from leakharness.resources import Resource

HERE = Path(__file__).resolve()
EXAMPLES = HERE.parent.parent / "examples"
LIBC = ctypes.CDLL(None)
LIBC.malloc.restype = ctypes.c_void_p
LIBC.malloc.argtypes = [ctypes.c_size_t]
LIBC.mmap.restype = ctypes.c_void_p
LIBC.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
SIZE = 64 * 1024
KEPT: list[object] = []


def malloc_untouched() -> None:
    LIBC.malloc(SIZE)  # LEAK


def malloc_touched() -> None:
    address = LIBC.malloc(SIZE)  # LEAK
    ctypes.memset(address, 1, SIZE)


def _open_buffer() -> int:
    scratch = np.ones(20_000)  # a temporary, freed on return
    address = LIBC.malloc(SIZE)  # LEAK
    return int(address) + int(scratch[0])


def malloc_in_a_helper() -> None:
    _open_buffer()


def numpy_arrays() -> None:
    scratch = np.zeros(50_000)
    KEPT.append(np.ones(20_000))  # LEAK
    del scratch


def mapped_page() -> None:
    flags, protection = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, mmap.PROT_READ | mmap.PROT_WRITE
    address = LIBC.mmap(None, mmap.PAGESIZE, protection, flags, -1, 0)  # LEAK
    ctypes.memset(address, 1, mmap.PAGESIZE)  # LEAK


def video_writer() -> Callable[[], None] | None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import video_writer as example
    except ImportError:
        return None
    if example.cv2 is None:
        return None
    folder = tempfile.mkdtemp(prefix="leakharness-bench-")
    count = iter(range(10**6))

    def cycle() -> None:
        example.record_clip_leaky(os.path.join(folder, f"{next(count)}.avi"), "MJPG")

    cycle.folder = folder  # type: ignore[attr-defined]
    return cycle


def marked(cycle: Callable[[], object]) -> set[tuple[str, int]]:
    """The lines marked as the leak: ``# LEAK`` here; in the example, the
    leaky recorder's lines that make the writer and write to it."""
    if not hasattr(cycle, "folder"):
        lines = HERE.read_text().splitlines()
        return {(str(HERE), n) for n, text in enumerate(lines, 1) if text.rstrip().endswith("# LEAK")}
    import video_writer as example

    code = example.record_clip_leaky.__code__
    lines = inspect.getsourcelines(code)[0]
    calls = ("cv2.VideoWriter(", "writer.write(")
    first = code.co_firstlineno
    return {(code.co_filename, first + n) for n, text in enumerate(lines) if any(c in text for c in calls)}


def by_memory_profiler(cycle: Callable[[], None]) -> tuple[tuple[str, int] | None, float, float]:
    started = time.perf_counter()
    usages = list(line_memory_profile(cycle))
    seconds = time.perf_counter() - started
    if not usages:
        return None, 0.0, seconds
    top = max(usages, key=lambda usage: usage.increment_mib)
    return (top.file, top.line), top.increment_mib * 2**20, seconds


def by_ledger(
    cycle: Callable[[], None], resource: Resource, rate: float
) -> tuple[tuple[str, int] | None, float, float]:
    started = time.perf_counter()
    with preserved_state() as state:
        session = Session(cycle, Settings(), state)
        lines = list(attribute(session, resource, rate, 0.001))
    seconds = time.perf_counter() - started
    if not lines:
        return None, 0.0, seconds
    return (lines[0].file, lines[0].line), lines[0].size_per_cycle, seconds


def by_choice(cycle: Callable[[], None], rate: float) -> tuple[tuple[str, int] | None, float, float]:
    """As leakharness chooses: the native heap's counter when it grows, else RSS."""
    heap = NativeHeap()
    before = heap.sample()
    for _ in range(10):
        cycle()
    gc.collect()
    grows = (heap.sample() - before) / 10 > Resource.NATIVE_HEAP.floor
    return by_ledger(cycle, Resource.NATIVE_HEAP if grows else Resource.RSS, rate)


def main() -> None:
    cases: list[tuple[str, Callable[[], None] | None, float]] = [  # name, cycle, bytes leaked per cycle
        ("64 KiB malloc, untouched", malloc_untouched, SIZE),
        ("64 KiB malloc, touched", malloc_touched, SIZE),
        ("64 KiB malloc in a helper, beside a temporary", malloc_in_a_helper, SIZE),
        ("numpy array appended, beside a temporary", numpy_arrays, 160_000),
        ("a page mapped and touched (no malloc)", mapped_page, mmap.PAGESIZE),
        ("cv2.VideoWriter never released (examples)", video_writer(), 1_000_000),
    ]
    methods: list[
        tuple[str, Callable[[Callable[[], None], float], tuple[tuple[str, int] | None, float, float]]]
    ] = [
        ("memory_profiler (RSS)", lambda cycle, rate: by_memory_profiler(cycle)),
        ("ledger, mallinfo2", lambda cycle, rate: by_ledger(cycle, Resource.NATIVE_HEAP, rate)),
        ("ledger, RSS", lambda cycle, rate: by_ledger(cycle, Resource.RSS, rate)),
        ("ledger, as chosen", by_choice),
    ]
    rows = []
    right = dict.fromkeys((name for name, _ in methods), 0)
    ran = 0
    for name, cycle, rate in cases:
        if cycle is None:
            rows.append([name, "skipped: no cv2", "", "", ""])
            continue
        ran += 1
        for _ in range(3):  # warm-up: first-call allocations are not the leak
            cycle()
        gc.collect()
        expected = marked(cycle)
        for method, attribute_lines in methods:
            site, size, seconds = attribute_lines(cycle, rate)
            hit = site in expected
            right[method] += hit
            where = f"{Path(site[0]).name}:{site[1]}" if site else "-"
            rows.append(
                [
                    name,
                    method,
                    f"{where} {'(marked)' if hit else ''}".strip(),
                    f"{size:,.0f}",
                    f"{seconds:.2f}",
                ]
            )
        folder = getattr(cycle, "folder", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    print(machine_line("python scripts/bench_native_lines.py"))
    print()
    print(text_table(["case", "method", "first line", "bytes/cycle", "seconds"], rows))
    print()
    print("  ".join(f"{method}: {count}/{ran} marked" for method, count in right.items()))


if __name__ == "__main__":
    main()

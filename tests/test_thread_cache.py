"""The native heap read with glibc's thread cache filled: flat for a clean
slow cycle whose frees leave the cache differently each time, a leak for
one that keeps a chunk of a cached size."""

from __future__ import annotations

import subprocess
import sys

import pytest

from leakharness.measure.probes import NativeHeap, ProbeUnavailable
from leakharness.measure.thread_cache import FILL_SHARE

try:
    NativeHeap()
except ProbeUnavailable:
    pytest.skip("needs glibc's mallinfo2", allow_module_level=True)

# Each case runs in a fresh interpreter, whose thread cache is still mostly empty.
CYCLE = """
import ctypes, random, time
from leakharness import Resource, Settings
from leakharness.examine import examine
from leakharness.measure import thread_cache
lib = ctypes.CDLL(None)
lib.malloc.restype, lib.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
lib.free.restype, lib.free.argtypes = None, [ctypes.c_void_p]
rng = random.Random(1)
kept = []
def cycle():
    chunks = [lib.malloc(rng.randrange(16, 1024)) for _ in range(40)]
    rng.shuffle(chunks)
    for chunk in chunks[{keep}:]:
        lib.free(chunk)
    kept.extend(chunks[:{keep}])
    time.sleep(0.03)  # slow enough for a fill before each reading, with room for a loaded machine
thread_cache.FILL_SHARE = {fill_share}
# RSS left out: the first cycles of a check touch a few new pages, more or fewer run to run.
test = examine(cycle, Settings(resources=[r for r in Settings().resources if r != Resource.RSS]), test_id="t")
native = test.result(Resource.NATIVE_HEAP)
print(test.verdict.value, test.cycles, native.verdict.value, len(set(native.series)))
"""


def run(keep: int, fill_share: float) -> list[str]:
    script = CYCLE.format(keep=keep, fill_share=fill_share)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_a_clean_slow_cycle_reads_exactly_flat_with_the_cache_filled() -> None:
    assert run(keep=0, fill_share=FILL_SHARE) == ["clean", "10", "clean", "1"]


def test_unfilled_the_same_cycle_moves_the_native_heap() -> None:
    verdict, cycles, native, values = run(keep=0, fill_share=0.0)
    assert (verdict, native) == ("clean", "clean")
    assert int(cycles) > 10 and int(values) > 1


def test_a_chunk_of_a_cached_size_kept_per_cycle_is_a_native_leak() -> None:
    verdict, _, native, _ = run(keep=1, fill_share=FILL_SHARE)
    assert (verdict, native) == ("leak", "leak")

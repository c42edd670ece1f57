"""glibc's per-thread cache of freed chunks (tcache), filled before a reading.

``mallinfo2`` counts the chunks a thread's tcache holds as in use: up to 7
of each size up to 1,032 bytes. How many it holds when a cycle ends depends
on the order of the cycle's frees, so the native heap of a clean test moved
by a few KiB now and then: cachetools' ``test_lfu_copy_use_counts`` read
+7,136, +2,064, +1,632 ... bytes over ten runs, then nothing, and exactly
nothing in every run with the cache turned off
(``GLIBC_TUNABLES=glibc.malloc.tcache_count=0``). Taking 7 chunks of every
cached size and freeing them again leaves every bin of the reading thread's
cache full, so its share of the reading is the same each time.

One fill before the baseline did as much for cachetools' tests, whose frees
only ever add to the cache. A cycle whose chunks another thread frees
drains it instead, so the fill comes before every reading: a 30 ms cycle
freeing its chunks in a helper thread moved the native heap by -96 to
-23,680 bytes at each of its first 10 readings after one fill, and by
nothing at 8 of them with a fill before each.
"""

from __future__ import annotations

import ctypes
from time import perf_counter

CHUNKS_PER_SIZE = 7  # glibc's default tcache_count
# Requests of 24 + 16k bytes fill the 64 bins of 64-bit glibc (chunks of 32 to 1,040 bytes).
SIZES = tuple(range(24, 1033, 16))
# A fill (0.3 ms) is done where it costs at most this share of a cycle; a
# probe that dear is read every 5th cycle at most (probes.MAX_STRIDE): 1 % of
# the time. Cycles that could not afford even a quick fill are not timed.
FILL_SHARE = 0.05
FILL_SECONDS_AT_LEAST = 1e-4


class ThreadCache:
    """Fills the calling thread's tcache."""

    def __init__(self, libc: ctypes.CDLL) -> None:
        self._malloc, self._free = libc.malloc, libc.free
        self._malloc.restype, self._malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
        self._free.restype, self._free.argtypes = None, [ctypes.c_void_p]
        self._chunks: list[int | None] = [None] * CHUNKS_PER_SIZE  # made once, reused

    def affordable(self, cycle_seconds: float) -> bool:
        """Whether a fill, timed now, costs at most ``FILL_SHARE`` of a cycle."""
        if FILL_SHARE * cycle_seconds < FILL_SECONDS_AT_LEAST:
            return False
        started = perf_counter()
        self.fill()
        return perf_counter() - started <= FILL_SHARE * cycle_seconds

    def fill(self) -> None:
        """Take 7 chunks of every cached size and give them back (0.3 ms).
        No Python object it makes outlives the call."""
        chunks, malloc, free = self._chunks, self._malloc, self._free
        for size in SIZES:
            for i in range(CHUNKS_PER_SIZE):
                chunks[i] = malloc(size)
            for i in range(CHUNKS_PER_SIZE):
                free(chunks[i])
                chunks[i] = None

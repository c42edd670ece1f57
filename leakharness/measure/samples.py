"""Per-cycle samples kept in preallocated arrays.

Storing a sample writes a C integer into an ``array.array`` that was sized
before the first cycle, so the bookkeeping allocates nothing per cycle and
an empty cycle measures exactly zero growth. Storage for a huge ``max_cycles``
grows with what runs: ``PREALLOCATED`` rows first (every default run fits),
then doubling, so ``--cycles 10000000 --time-budget 2`` does not reserve a
gigabyte before its first cycle.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from time import perf_counter

from leakharness.measure.probes import Probe, stride_for
from leakharness.resources import Resource

PREALLOCATED = 4096
_Read = tuple[Probe, "array[int]", int]  # a probe, its column, its stride
_READ_FIRST = (Resource.HEAP, Resource.OBJECTS, Resource.NATIVE_THREADS)  # in this order


class Samples:
    """Samples of each probe after cycle 0 (the baseline) up to ``capacity - 1``."""

    def __init__(self, probes: Sequence[Probe], capacity: int) -> None:
        self.probes = tuple(probes)
        self.count = 0
        self.capacity = capacity
        allocated = min(capacity, PREALLOCATED)
        self._columns = tuple(array("q", bytes(8 * allocated)) for _ in self.probes)
        self._pairs = tuple(zip(self.probes, self._columns, strict=True))
        self._reads = _in_read_order(tuple((probe, column, 1) for probe, column in self._pairs))
        # Row numbers made up front: past 256, ints are new objects each time.
        self._rows = list(range(allocated + 1))

    def record(self) -> None:
        """Read every probe into the next row; a probe with a stride of k is
        read on every k-th row and holds its last value in between."""
        row = self.count
        if row + 1 >= len(self._rows) and row < self.capacity:
            self._grow()
        for probe, column, stride in self._reads:
            column[row] = probe.sample() if row % stride == 0 else column[row - 1]
        self.count = self._rows[row + 1]

    def _grow(self) -> None:
        """Double the storage, up to ``capacity`` (a one-off step, never a trend)."""
        allocated = len(self._rows) - 1
        more = min(allocated, self.capacity - allocated)
        for column in self._columns:
            column.frombytes(bytes(8 * more))
        self._rows.extend(range(allocated + 1, allocated + more + 1))

    def calibrate(self, cycle_seconds: float = 0.0) -> tuple[int, ...]:
        """Let each probe choose how to read for cycles of ``cycle_seconds``,
        time one read of it (kept as nothing), and from then on read the dear
        ones every few rows; returns the strides."""
        strides = []
        for probe in self.probes:
            prepare = getattr(probe, "prepare", None)
            if prepare is not None:
                prepare(cycle_seconds)
            started = perf_counter()
            probe.sample()
            strides.append(stride_for(perf_counter() - started, cycle_seconds))
        self._reads = _in_read_order(tuple((p, c, s) for (p, c), s in zip(self._pairs, strides, strict=True)))
        return tuple(strides)

    @property
    def full(self) -> bool:
        return self.count >= self.capacity

    @property
    def resources(self) -> tuple[Resource, ...]:
        return tuple(p.resource for p in self.probes)

    def stride(self, resource: Resource) -> int:
        """``resource`` is read every this many rows."""
        return next(stride for probe, _, stride in self._reads if probe.resource is resource)

    def series(self, resource: Resource) -> list[int]:
        """The recorded values of ``resource``, baseline first."""
        for probe, column in self._pairs:
            if probe.resource is resource:
                return column[: self.count].tolist()
        raise KeyError(resource)

    def __repr__(self) -> str:
        names = ", ".join(r.value for r in self.resources)
        return f"<Samples {self.count}/{self.capacity} rows of {names}>"


def _in_read_order(reads: tuple[_Read, ...]) -> tuple[_Read, ...]:
    """Python's own counters first, before any probe has allocated; then the
    native thread count, which waits for threads just joined to exit; then
    the rest. An exiting thread still holds memory (its stack, glibc's cache
    of its freed chunks): read after the memory probes, idna's threaded test
    showed +1,392 and -1,392 native heap bytes at random cycles, and its
    RSS moved twice as much. Read after the thread count, an empty cycle's
    heap blocks went up and down by 3 every other row."""

    def rank(read: _Read) -> int:
        resource = read[0].resource
        return _READ_FIRST.index(resource) if resource in _READ_FIRST else len(_READ_FIRST)

    return tuple(sorted(reads, key=rank))

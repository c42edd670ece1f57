from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import pytest

from leakharness.measure import samples as samples_module
from leakharness.measure.probes import stride_for
from leakharness.measure.samples import Samples
from leakharness.resources import Resource


class ListProbe:
    """Returns the next value of a list at each sample."""

    def __init__(self, resource: Resource, values: Sequence[int]) -> None:
        self.resource = resource
        self._values = iter(values)

    def sample(self) -> int:
        return next(self._values)


class ConstantProbe:
    """Returns one preallocated int."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.value = 10**12 + 7

    def sample(self) -> int:
        return self.value


def blocks_added(action: Callable[[], None], times: int = 50) -> int:
    before = sys.getallocatedblocks()
    for _ in range(times):
        action()
    return sys.getallocatedblocks() - before


def nothing() -> None:
    pass


def loop_blocks() -> int:
    """Blocks ``blocks_added``'s own loop leaves, from a no-op run before. A
    code object's first run may allocate: 3.10 keeps a spare frame, 3.12+ its
    instrumentation once ``sys.monitoring`` was used in the process (a fresh
    ``lambda: None`` measured 2 blocks against the record's 1 there)."""
    blocks_added(nothing)
    return blocks_added(nothing)


def test_records_rows_baseline_first() -> None:
    heap = ListProbe(Resource.HEAP, [100, 103, 101, 110])
    fds = ListProbe(Resource.FDS, [5, 6, 7, 8])
    samples = Samples([heap, fds], capacity=4)
    for _ in range(3):
        samples.record()
    assert samples.count == 3
    assert samples.series(Resource.HEAP) == [100, 103, 101]
    assert samples.series(Resource.FDS) == [5, 6, 7]


def test_series_is_a_fresh_list() -> None:
    samples = Samples([ListProbe(Resource.HEAP, [1, 2])], capacity=2)
    samples.record()
    samples.series(Resource.HEAP).append(99)
    assert samples.series(Resource.HEAP) == [1]


def test_empty_before_first_record() -> None:
    samples = Samples([ListProbe(Resource.HEAP, [1])], capacity=3)
    assert samples.series(Resource.HEAP) == []
    assert not samples.full


def test_full_at_capacity() -> None:
    samples = Samples([ListProbe(Resource.RSS, range(10))], capacity=3)
    assert samples.capacity == 3
    states = []
    for _ in range(3):
        states.append(samples.full)
        samples.record()
    assert states == [False, False, False]
    assert samples.full
    assert samples.series(Resource.RSS) == [0, 1, 2]


def test_keeps_large_and_negative_values() -> None:
    values = [2**40, -(2**40), 0]
    samples = Samples([ListProbe(Resource.RSS, values)], capacity=3)
    for _ in values:
        samples.record()
    assert samples.series(Resource.RSS) == values


def test_resources_in_probe_order() -> None:
    probes = [ListProbe(Resource.FDS, []), ListProbe(Resource.HEAP, [])]
    assert Samples(probes, capacity=2).resources == (Resource.FDS, Resource.HEAP)


def test_unmeasured_resource_raises_key_error() -> None:
    samples = Samples([ListProbe(Resource.HEAP, [1])], capacity=2)
    samples.record()
    with pytest.raises(KeyError):
        samples.series(Resource.FDS)


def test_repr_shows_fill_and_names() -> None:
    samples = Samples([ListProbe(Resource.HEAP, [1]), ListProbe(Resource.FDS, [2])], capacity=5)
    samples.record()
    assert repr(samples) == "<Samples 1/5 rows of heap, fds>"


def test_record_does_not_allocate() -> None:
    samples = Samples([ConstantProbe(Resource.HEAP), ConstantProbe(Resource.OBJECTS)], capacity=400)
    for _ in range(5):
        samples.record()
    baseline = loop_blocks()
    assert blocks_added(samples.record) == baseline
    assert samples.count == 55


def test_record_does_not_allocate_past_small_int_rows() -> None:
    samples = Samples([ConstantProbe(Resource.HEAP)], capacity=400)
    for _ in range(260):
        samples.record()
    baseline = loop_blocks()
    assert blocks_added(samples.record) == baseline
    assert samples.count == 310


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_record_does_not_allocate_once_sys_monitoring_was_used() -> None:
    monitoring = sys.monitoring
    tool = next(tool for tool in range(6) if monitoring.get_tool(tool) is None)
    monitoring.use_tool_id(tool, "test")
    monitoring.set_events(tool, monitoring.events.LINE)  # every code object is instrumented anew
    monitoring.set_events(tool, monitoring.events.NO_EVENTS)
    monitoring.free_tool_id(tool)
    samples = Samples([ConstantProbe(Resource.HEAP)], capacity=400)
    for _ in range(5):
        samples.record()
    baseline = loop_blocks()
    assert blocks_added(samples.record) == baseline


def test_allocation_check_sees_a_keeping_probe() -> None:
    class KeepingProbe(ConstantProbe):
        def __init__(self) -> None:
            super().__init__(Resource.HEAP)
            self.kept: list[object] = []

        def sample(self) -> int:
            self.kept.append(object())
            return self.value

    samples = Samples([KeepingProbe()], capacity=100)
    for _ in range(5):
        samples.record()
    assert blocks_added(samples.record) - loop_blocks() >= 50


def test_a_huge_capacity_reserves_only_what_runs() -> None:
    samples = Samples([ListProbe(Resource.HEAP, range(10))], capacity=10**11)
    assert samples.capacity == 10**11
    assert all(len(column) <= samples_module.PREALLOCATED for column in samples._columns)


def test_storage_grows_past_the_preallocated_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(samples_module, "PREALLOCATED", 4)
    samples = Samples([ListProbe(Resource.HEAP, range(100))], capacity=11)
    while not samples.full:
        samples.record()
    assert samples.count == 11
    assert samples.series(Resource.HEAP) == list(range(11))


def test_a_dear_probe_is_read_every_few_rows_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(samples_module, "stride_for", lambda seconds, cycle_seconds: 3)
    samples = Samples([ListProbe(Resource.RSS, range(100))], capacity=8)
    samples.calibrate()  # reads 0
    for _ in range(7):
        samples.record()
    assert samples.stride(Resource.RSS) == 3
    assert samples.series(Resource.RSS) == [1, 1, 1, 2, 2, 2, 3]


@pytest.mark.parametrize(
    ("probe_seconds", "cycle_seconds", "stride"),
    [
        (5e-6, 0.0, 1),  # cheap: every cycle
        (30e-6, 0.0, 3),  # three times the 10 µs budget
        (3e-3, 0.0, 5),  # never rarer than every 5th cycle
        (3e-3, 0.0001, 5),  # a fast cycle: the 10 µs budget still holds
        (0.3e-3, 0.1, 2),  # a 0.1 s cycle affords 0.2 ms a probe
        (0.3e-3, 0.2, 1),
    ],
)
def test_a_probe_is_read_as_often_as_the_cycle_affords(
    probe_seconds: float, cycle_seconds: float, stride: int
) -> None:
    assert stride_for(probe_seconds, cycle_seconds) == stride


def test_python_counters_are_read_first_and_the_thread_count_before_memory() -> None:
    read: list[Resource] = []

    class Logged:
        def __init__(self, resource: Resource) -> None:
            self.resource = resource

        def sample(self) -> int:
            read.append(self.resource)
            return len(read)

    made = [
        Resource.RSS,
        Resource.NATIVE_THREADS,
        Resource.FDS,
        Resource.OBJECTS,
        Resource.NATIVE_HEAP,
        Resource.HEAP,
    ]
    samples = Samples([Logged(r) for r in made], capacity=4)
    samples.calibrate()
    read.clear()
    samples.record()
    assert read == [
        Resource.HEAP,
        Resource.OBJECTS,
        Resource.NATIVE_THREADS,
        Resource.RSS,
        Resource.FDS,
        Resource.NATIVE_HEAP,
    ]
    assert samples.resources == tuple(made)  # reported in the order asked for
    assert samples.series(Resource.HEAP) == [1]

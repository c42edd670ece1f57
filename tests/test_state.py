"""The process is left as found: gc, freeze, thresholds and tracemalloc."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator

import pytest

import leakharness
from leakharness.measure.state import preserved_state

_KEPT: list[bytes] = []


def leaky() -> None:
    _KEPT.append(bytes(100))


@pytest.fixture(autouse=True)
def clean_process() -> Iterator[None]:
    assert gc.get_freeze_count() == 0 and not tracemalloc.is_tracing()
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.set_threshold(*threshold)
    gc.enable() if enabled else gc.disable()
    gc.unfreeze()
    tracemalloc.stop()


def test_after_a_leak_run_nothing_is_left_changed() -> None:
    gc.set_threshold(500, 7, 9)
    gc.disable()
    report = leakharness.check(leaky, max_cycles=60)
    assert report.leaked  # the locate phase ran: tracing and freezing happened
    assert gc.get_threshold() == (500, 7, 9)
    assert not gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert not tracemalloc.is_tracing()


def test_a_users_tracing_is_kept_with_its_traces() -> None:
    tracemalloc.start(3)
    mine = bytearray(10_000)
    leakharness.check(leaky, max_cycles=60)
    assert tracemalloc.is_tracing()
    assert tracemalloc.get_traceback_limit() == 3
    assert tracemalloc.get_object_traceback(mine) is not None


def test_a_users_frozen_objects_stay_frozen() -> None:
    gc.freeze()
    frozen = gc.get_freeze_count()
    try:
        report = leakharness.check(lambda: None, max_cycles=60)
        # Neither thawed (0) nor frozen further (more); a frozen object may die
        # meanwhile (under pytest-xdist, its worker threads freed 4 of them).
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
    assert any("gc.freeze() was already in use" in note for note in report.tests[0].notes)


@pytest.mark.parametrize("exception", [ValueError, KeyboardInterrupt])
def test_state_is_restored_when_the_cycle_raises_late(exception: type[BaseException]) -> None:
    calls = [0]

    def late() -> None:
        calls[0] += 1
        _KEPT.append(bytes(10))
        if calls[0] == 75:  # past detection, inside the traced locate phase
            raise exception("stop")

    with pytest.raises(exception):
        leakharness.check(late, max_cycles=60)
    assert calls[0] == 75
    assert gc.get_freeze_count() == 0
    assert not tracemalloc.is_tracing()
    assert gc.isenabled()


def test_preserved_state_restores_on_error() -> None:
    with pytest.raises(RuntimeError), preserved_state() as state:
        state.freeze()
        state.start_tracing(5)
        raise RuntimeError
    assert gc.get_freeze_count() == 0
    assert not tracemalloc.is_tracing()


def test_the_traceback_limit_is_restored_after_locating() -> None:
    before = tracemalloc.get_traceback_limit()
    report = leakharness.check(leaky, max_cycles=60)
    assert report.leaked  # the locate phase traced with its own limit
    assert tracemalloc.get_traceback_limit() == before
    assert not tracemalloc.is_tracing()


def test_a_cycle_that_stops_tracing_gets_a_clear_error() -> None:
    def stops_tracing() -> None:
        leaky()
        tracemalloc.stop()

    with pytest.raises(leakharness.LeakHarnessError, match=r"tracemalloc\.stop\(\)"):
        leakharness.check(stops_tracing, max_cycles=60)
    assert not tracemalloc.is_tracing()


def test_stop_tracing_stops_only_the_harness_tracing() -> None:
    if tracemalloc.is_tracing():
        pytest.skip("tracemalloc is on for the whole run")
    with preserved_state() as state:
        state.start_tracing(1)
        state.stop_tracing()
        assert not tracemalloc.is_tracing()
    tracemalloc.start()
    try:
        with preserved_state() as state:
            state.stop_tracing()  # the user's own tracing goes on
            assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()

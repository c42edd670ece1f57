"""Charging allocations to lines: the innermost project frame, library lines beneath it merged."""

from __future__ import annotations

import importlib
import os
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from leakharness import frames
from leakharness.config import Settings
from leakharness.diagnose import locate as locate_module
from leakharness.diagnose.locate import Line, Plan, locate
from leakharness.measure.session import Session as LocateSession
from leakharness.measure.state import preserved_state

STDLIB = os.__file__
USER = __file__


def test_steady_user_lines_rank_first() -> None:
    lines = [
        Line(USER, 1, size_per_cycle=500, count_per_cycle=0.05),
        Line(STDLIB, 2, size_per_cycle=900, count_per_cycle=3, in_user_code=False),
        Line(USER, 3, size_per_cycle=32, count_per_cycle=1),
    ]
    assert [line.line for line in sorted(lines, key=lambda line: line.sort_key)] == [3, 1, 2]


_KEPT: list[object] = []


class Session:
    def __init__(self, token: int) -> None:
        self.token = token


def _leaky_cycle() -> None:
    _KEPT.append(Session(len(_KEPT)))


def test_locate_finds_the_line_and_the_growing_type() -> None:
    with preserved_state() as state:
        state.freeze()
        location = locate(LocateSession(_leaky_cycle, Settings(), state), Plan(20, 3))
    assert not tracemalloc.is_tracing()
    top = location.lines[0]
    assert (top.file, top.source) == (__file__, "_KEPT.append(Session(len(_KEPT)))")
    assert top.count_per_cycle >= 1
    assert location.cycles == 20
    assert any(t.name.endswith("Session") and t.per_cycle == pytest.approx(1.0) for t in location.types)


@pytest.mark.parametrize("user_traces", [False, True])
def test_tracing_ends_with_the_last_snapshot_unless_the_user_traces(
    user_traces: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    tallied_traced: list[bool] = []
    tallies = locate_module._tallies

    def traced_tallies(snapshot: tracemalloc.Snapshot, sites: dict[object, object]) -> object:
        tallied_traced.append(tracemalloc.is_tracing())
        return tallies(snapshot, sites)  # type: ignore[arg-type]

    monkeypatch.setattr(locate_module, "_tallies", traced_tallies)
    if user_traces:
        tracemalloc.start(3)
    try:
        with preserved_state() as state:
            location = locate(LocateSession(_leaky_cycle, Settings(), state), Plan(4, 1))
            assert tallied_traced == [user_traces] * 3  # before the tallies, not after the run
        assert location.lines
        assert tracemalloc.is_tracing() is user_traces
    finally:
        tracemalloc.stop()


def test_locate_finds_nothing_in_a_clean_cycle() -> None:
    with preserved_state() as state:
        state.freeze()
        location = locate(
            LocateSession(lambda: [Session(1) for _ in range(5)], Settings(), state), Plan(20, 3)
        )
    assert location.lines == ()
    assert location.size_per_cycle == 0


@pytest.mark.parametrize(
    ("seconds_per_cycle", "budget", "expected"),
    [
        (200e-6, 20.0, (20, 5)),  # a fast cycle: the full plan
        (0.01, 2.0, (4, 1)),  # halved until it fits
        (0.01, 5.0, (10, 2)),
        (2.5, 20.0, None),  # nothing fits: not located
    ],
)
def test_locate_plans_fit_the_time_budget(
    seconds_per_cycle: float, budget: float, expected: tuple[int, int] | None
) -> None:
    assert locate_module.plan(20, 5, seconds_per_cycle, budget) == expected


# Ten library lines under one project call ----------------------------------

LIBRARY_SOURCE = "_kept = []\n\n\ndef remember():\n" + "".join(
    f"    _kept.append(bytearray({100 * n}))\n" for n in range(1, 11)
)


@pytest.fixture
def fake_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A module in a folder that ``frames`` counts as installed libraries."""
    folder = tmp_path / "libs"
    folder.mkdir()
    (folder / "fakelib.py").write_text(LIBRARY_SOURCE)
    monkeypatch.setattr(frames, "_LIBRARIES", (str(folder.resolve()) + os.sep,))
    monkeypatch.syspath_prepend(str(folder))
    frames.origin.cache_clear()
    try:
        yield importlib.import_module("fakelib")
    finally:
        sys.modules.pop("fakelib", None)
        monkeypatch.undo()
        frames.origin.cache_clear()


def test_a_leak_through_ten_library_lines_is_one_row_at_the_project_call(fake_library: ModuleType) -> None:
    library_file = fake_library.__file__
    assert library_file is not None and frames.origin(library_file) is frames.Origin.LIBRARY

    def cycle() -> None:
        fake_library.remember()  # CALL

    with preserved_state() as state:
        state.freeze()
        location = locate(LocateSession(cycle, Settings(), state), Plan(12, 2))
    call = next(n for n, text in enumerate(Path(__file__).read_text().splitlines(), 1) if "# CALL" in text)
    assert [(line.file, line.line) for line in location.lines] == [(__file__, call)]
    row = location.lines[0]
    assert row.in_user_code and row.inside is not None
    assert row.inside.file == library_file and row.inside.origin is frames.Origin.LIBRARY
    assert 5 <= row.inside.line <= 14  # one of the ten lines: the biggest part's
    assert row.count_per_cycle >= 10
    assert row.size_per_cycle >= sum(100 * n for n in range(1, 11))
    assert row.to_dict()["inside"]["origin"] == "library"
    assert row.traceback[0] == frames.Frame(__file__, call)


def _chunk() -> bytearray:
    return bytearray(64)


def _nested_allocations() -> list[object]:
    kept: list[object] = [bytearray(64) for _ in range(20)] + [str(n) * 50 for n in range(20)]
    # Stacks of the same size and count: their order is the frames' order.
    kept.append(_chunk())
    kept.append(_chunk())
    kept.append(_chunk())
    kept.append(_chunk())
    kept.append(_chunk())
    return kept


def _traced_snapshot() -> tuple[tracemalloc.Snapshot, list[object]]:
    """A snapshot of a few allocations of this file's, and those allocations."""
    tracemalloc.start(8)
    try:
        kept = _nested_allocations()
        return tracemalloc.take_snapshot(), kept
    finally:
        tracemalloc.stop()


def test_traces_read_from_a_snapshot_match_its_statistics() -> None:
    snapshot, kept = _traced_snapshot()
    expected = {
        tuple((f.filename, f.lineno) for f in reversed(stat.traceback)): [stat.size, stat.count]
        for stat in snapshot.statistics("traceback")
    }
    by_stack = locate_module._by_stack(snapshot)
    assert by_stack == list(expected.items())  # the same groups, in the same order
    assert any(stack[0][0] == USER for stack in expected) and kept


class _OtherTraces:
    """A snapshot's traces without the tuples of this version's tracemalloc."""

    def __init__(self, snapshot: tracemalloc.Snapshot) -> None:
        self._public = list(snapshot.traces)

    def __iter__(self) -> Iterator[tracemalloc.Trace]:
        return iter(self._public)


def test_traces_are_read_through_the_public_api_when_the_tuples_change() -> None:
    snapshot, kept = _traced_snapshot()
    expected = sorted(locate_module._traces(snapshot))
    other = type("Snapshot", (), {"traces": _OtherTraces(snapshot)})()
    assert sorted(locate_module._traces(other)) == expected  # type: ignore[arg-type]
    assert len(expected) == len(snapshot.traces) and kept

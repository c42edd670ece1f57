"""Charging allocations to lines: the innermost user frame, harness frames dropped."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

import leakharness
from leakharness.config import Settings
from leakharness.diagnose import locate as locate_module
from leakharness.diagnose.locate import Line, Plan, locate
from leakharness.frames import Origin, origin
from leakharness.measure.session import Session as LocateSession
from leakharness.measure.state import preserved_state

HARNESS = str(Path(leakharness.__file__).parent / "measure" / "detect.py")
STDLIB = os.__file__
USER = __file__


def frames(*places: tuple[str, int]) -> tracemalloc.Traceback:
    """A tracemalloc traceback of ``places``, given innermost first."""
    return tracemalloc.Traceback(tuple(places))


def test_origin_of_files() -> None:
    assert origin(HARNESS) is Origin.HARNESS
    assert origin(STDLIB) is Origin.STDLIB
    assert origin("<frozen importlib._bootstrap>") is Origin.STDLIB
    assert origin(USER) is Origin.USER
    assert origin("/opt/venv/lib/python3.11/site-packages/pkg/mod.py") is Origin.USER


def test_the_innermost_user_frame_is_charged() -> None:
    site, user, traceback = locate_module._site(frames((STDLIB, 10), (USER, 20), (USER, 30), (HARNESS, 40)))
    assert site == (USER, 20) and user
    assert [line for _, line in traceback] == [20, 30]


def test_unittest_frames_next_to_the_harness_are_trimmed() -> None:
    _, _, traceback = locate_module._site(frames((USER, 20), (STDLIB, 99), (HARNESS, 40)))
    assert [line for _, line in traceback] == [20]


def test_the_harness_own_allocations_are_dropped() -> None:
    assert locate_module._site(frames((HARNESS, 1), (USER, 2))) is None
    assert locate_module._site(frames((STDLIB, 5), (HARNESS, 1))) is None


def test_stdlib_only_traces_are_kept_but_marked() -> None:
    site, user, _ = locate_module._site(frames((STDLIB, 5), (STDLIB, 6)))
    assert site == (STDLIB, 5) and not user


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

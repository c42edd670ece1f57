"""Origins of source files, and the one walk from the innermost project frame out to the harness."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import leakharness
from leakharness import frames
from leakharness.frames import Frame, Origin, add_project_root, live_places, origin, walk
from leakharness.measure.session import Session

HARNESS = str(Path(leakharness.__file__).parent / "report" / "console.py")
_RUN = Session.run_cycle.__code__
CYCLE_RUNNER = (_RUN.co_filename, _RUN.co_firstlineno + 3)  # the line that calls the cycle
STDLIB = os.__file__
LIBRARY = "/opt/venv/lib/python3.11/site-packages/pkg/mod.py"
PROJECT = __file__


@pytest.fixture
def roots(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Project roots declared by the test are forgotten after it."""
    monkeypatch.setattr(frames, "_project_roots", ())
    origin.cache_clear()
    yield
    monkeypatch.undo()
    origin.cache_clear()


def test_origin_of_files() -> None:
    assert origin(HARNESS) is Origin.HARNESS
    assert origin(STDLIB) is Origin.STDLIB
    assert origin("<frozen importlib._bootstrap>") is Origin.STDLIB
    assert origin("<string>") is Origin.STDLIB  # namedtuple's and dataclasses' generated code
    assert origin(PROJECT) is Origin.PROJECT
    assert origin(LIBRARY) is Origin.LIBRARY
    assert origin("/usr/lib/python3/dist-packages/pkg/mod.py") is Origin.LIBRARY
    assert origin(pytest.__file__) is Origin.LIBRARY  # installed in this venv's purelib


def test_a_declared_root_makes_an_installed_package_project_code(roots: None, tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "pkg"
    package.mkdir(parents=True)
    module, neighbour = package / "mod.py", tmp_path / "site-packages" / "other.py"
    assert origin(str(module)) is Origin.LIBRARY
    add_project_root(package)
    assert origin(str(module)) is Origin.PROJECT
    assert origin(str(neighbour)) is Origin.LIBRARY
    assert Frame(str(module), 1).origin is Origin.PROJECT


def test_the_innermost_project_frame_is_charged_and_names_the_frame_beneath() -> None:
    site = walk([(LIBRARY, 10), (LIBRARY, 11), (PROJECT, 20), (PROJECT, 30), CYCLE_RUNNER])
    assert site is not None and site.in_project
    assert site.place == (PROJECT, 20)
    assert [frame.line for frame in site.stack()] == [20, 30]
    assert site.inside() == Frame(LIBRARY, 10)
    assert [frame.line for frame in site.stack(depth=1)] == [20]


def test_a_project_frame_innermost_has_nothing_beneath() -> None:
    site = walk([(PROJECT, 20), (LIBRARY, 5), CYCLE_RUNNER])
    assert site is not None and site.place == (PROJECT, 20) and site.inside() is None


def test_unittest_frames_next_to_the_harness_are_trimmed() -> None:
    site = walk([(PROJECT, 20), (STDLIB, 99), (STDLIB, 98), (HARNESS, 40)])
    assert site is not None and [frame.line for frame in site.stack()] == [20]


def test_pytest_frames_next_to_the_harness_are_trimmed() -> None:
    site = walk([(LIBRARY, 5), (PROJECT, 20), (PROJECT, 30), (LIBRARY, 187), (LIBRARY, 147), CYCLE_RUNNER])
    assert site is not None and [frame.line for frame in site.stack()] == [20, 30]
    assert site.inside() == Frame(LIBRARY, 5)


def test_the_harness_own_work_is_dropped() -> None:
    assert walk([(HARNESS, 1), (PROJECT, 2)]) is None
    assert walk([(STDLIB, 5), (HARNESS, 1)]) is None
    # rich called by the harness (a progress display, a renderer): the harness's own
    assert walk([(LIBRARY, 5), (LIBRARY, 6), (HARNESS, 100)]) is None


def test_a_cycle_that_is_library_code_falls_back_to_the_innermost_frame() -> None:
    site = walk([(LIBRARY, 5), (LIBRARY, 6), CYCLE_RUNNER])
    assert site is not None and not site.in_project
    assert site.place == (LIBRARY, 5) and site.inside() is None
    stdlib = walk([(STDLIB, 7), (STDLIB, 8), CYCLE_RUNNER])
    assert stdlib is not None and stdlib.place == (STDLIB, 7)


def test_the_cycle_runner_is_known_through_a_symlinked_path(tmp_path: Path) -> None:
    link = tmp_path / "linked"
    link.symlink_to(Path(leakharness.__file__).parent, target_is_directory=True)
    runner = (
        str(link / Path(_RUN.co_filename).relative_to(Path(leakharness.__file__).parent)),
        CYCLE_RUNNER[1],
    )
    for _ in range(2):  # the second walk reads the resolved path remembered by the first
        site = walk([(LIBRARY, 5), runner])
        assert site is not None and site.place == (LIBRARY, 5)
        assert walk([(LIBRARY, 5), (runner[0], _RUN.co_firstlineno - 5)]) is None


def test_a_stack_without_the_harness_is_read_to_its_end() -> None:
    site = walk([(STDLIB, 5), (LIBRARY, 6), (PROJECT, 7), (STDLIB, 8)])
    assert site is not None and site.place == (PROJECT, 7)
    assert [frame.line for frame in site.stack()] == [7, 8]
    assert walk([]) is None


def test_live_places_read_a_running_stack_outward() -> None:
    places = list(live_places(sys._getframe()))
    assert places[0][0] == __file__
    assert len(places) > 1 and places[1][0] != __file__


def test_frames_carry_their_origin_in_json() -> None:
    frame = Frame(LIBRARY, 3)
    assert frame.to_dict() == {"file": LIBRARY, "line": 3, "source": "", "origin": "library"}
    assert frame.place.endswith("pkg/mod.py:3")
    assert Frame(PROJECT, 1) == Frame(PROJECT, 1) and Frame(PROJECT, 1) < Frame(PROJECT, 2)

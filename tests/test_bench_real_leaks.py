"""The real-leak benchmark's scoring, on made-up reports (nothing is installed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
BASE = Path("/cases")
MARKED = ("/cases/test_lib.py", 12)


def _load() -> ModuleType:
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location("bench_real_leaks", SCRIPTS / "bench_real_leaks.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SCRIPTS))


bench = _load()


def frame(file: str, line: int, **extra: Any) -> dict[str, Any]:
    return {"file": file, "line": line, "source": "", **extra}


def site(file: str, line: int, *callers: dict[str, Any]) -> dict[str, Any]:
    return {**frame(file, line), "size_per_cycle": 100.0, "traceback": [frame(file, line), *callers]}


def report(
    verdict: str = "leak", lines: Any = (), threads: Any = (), fds: Any = (), **more: Any
) -> dict[str, Any]:
    diagnosis = {"holders": [], "threads": list(threads), "fds": list(fds), "memory_lines": [], "notes": []}
    diagnosis.update(more.pop("diagnosis", {}))
    return {"tests": [{"verdict": verdict, "lines": list(lines), "diagnosis": diagnosis, **more}]}


def score(data: dict[str, Any]) -> tuple[str, bool, bool, int | None, str]:
    result: tuple[str, bool, bool, int | None, str] = bench.score_run(data, MARKED, BASE)
    return result


LIB = "/venv/site-packages/lib/core.py"


def test_marked_line_charged_second_is_a_strict_hit_at_rank_two() -> None:
    data = report(lines=[site(LIB, 5), site("test_lib.py", 12), site(LIB, 9)])
    assert score(data) == ("leak", True, True, 2, "lines: lib/core.py:5")


def test_marked_line_only_in_a_traceback_is_a_loose_hit() -> None:
    data = report(lines=[site(LIB, 5, frame("test_lib.py", 12))])
    assert score(data)[1:4] == (False, True, None)


def test_fourth_line_does_not_count() -> None:
    data = report(lines=[site(LIB, n) for n in (1, 2, 3)] + [site("/cases/test_lib.py", 12)])
    assert score(data)[1:3] == (False, False)


def test_other_line_of_the_same_file_is_a_miss() -> None:
    assert score(report(lines=[site("/cases/test_lib.py", 13)]))[1:3] == (False, False)


def test_thread_start_stack_is_charged_to_its_first_frame() -> None:
    example = {"start_stack": [frame("test_lib.py", 12), frame("test_lib.py", 30)]}
    assert score(report(threads=[{"count": 4, "example": example}]))[1:4] == (True, True, 1)
    inner = {"start_stack": [frame(LIB, 40), frame("test_lib.py", 12)]}
    assert score(report(threads=[{"count": 4, "example": inner}]))[1:3] == (False, True)


def test_frames_with_origins_are_charged_to_the_first_project_frame() -> None:
    stack = [frame(LIB, 40, origin="library"), frame("test_lib.py", 12, origin="project")]
    assert score(report(fds=[{"count": 1, "example": {"created": stack}}]))[1:4] == (True, True, 1)


def test_descriptor_without_creation_stack_is_no_site() -> None:
    data = report(fds=[{"count": 3, "example": {"created": []}}])
    assert score(data) == ("leak", False, False, None, "-")


def test_unknown_site_list_counts_but_memory_lines_do_not() -> None:
    native = {"native_sites": [frame(LIB, 1), frame("test_lib.py", 12)]}
    assert score(report(diagnosis=native))[1:4] == (True, True, 2)
    profile = {"memory_lines": [frame("test_lib.py", 12)]}
    assert score(report(diagnosis=profile))[1:3] == (False, False)


def test_missing_test_is_reported_missing() -> None:
    assert score({"tests": []}) == ("missing", False, False, None, "-")


@pytest.mark.parametrize(("verdict", "right"), [("leak", True), ("clean", False), ("inconclusive", False)])
def test_summary_counts_right_verdicts_and_strict_hits(verdict: str, right: bool) -> None:
    leaky = bench.Outcome(
        "c", "1.0", "leak", verdict, right, right, right, 1 if right else None, "-", 1.0, ""
    )
    fixed = bench.Outcome("c", "1.1", "clean", "clean", True, False, False, None, "-", 1.0, "")
    summary = bench.summary_line([leaky, fixed])
    assert summary.startswith(f"verdicts {1 + right}/2, user line in the top 3: {int(right)}/1")

"""Native attribution: a leak only the allocator sees is charged to the project line that made it."""

from __future__ import annotations

import inspect
import json
import mmap
import sys
from pathlib import Path

import pytest

import leakharness
from leakharness import Resource, Verdict
from leakharness.diagnose.native_sites import called_name, counter_for, native_growth
from leakharness.report.console import to_text
from tests.helpers import libc, map_page

HERE = str(Path(__file__).resolve())
SIZE = 64 * 1024
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc malloc and mmap via ctypes"
)


def marked(mark: str) -> int:
    lines = Path(HERE).read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if text.rstrip().endswith(f"# {mark}"))


LIBC = libc() if sys.platform.startswith("linux") else None


def open_buffer(scratch: int) -> int:
    temporary = bytearray(scratch)  # malloc'd too, and freed on return
    address = LIBC.malloc(SIZE)  # type: ignore[union-attr]  # MALLOC
    return int(address) + len(temporary)


@linux_only
def test_a_malloc_in_a_helper_is_the_first_line_shown() -> None:
    test = leakharness.check(open_buffer, 40_000).tests[0]
    assert test.verdict is Verdict.LEAK
    first = test.lines[0]
    assert (first.file, first.line) == (HERE, marked("MALLOC"))
    assert first.native and first.native_call == "LIBC.malloc"
    assert first.what == "native allocation inside `LIBC.malloc`"
    assert first.size_per_cycle == pytest.approx(SIZE, rel=0.05)
    assert first.traceback[0] == leakharness.frames.Frame(HERE, marked("MALLOC"))
    assert "(native allocation inside `LIBC.malloc`)" in to_text(test, width=200)
    line = json.loads(json.dumps(test.to_dict()))["lines"][0]
    assert (
        line["native"] is True and line["native_call"] == "LIBC.malloc" and line["line"] == marked("MALLOC")
    )


@linux_only
def test_a_page_mapped_outside_malloc_is_charged_through_rss() -> None:
    test = leakharness.check(map_page, LIBC).tests[0]
    assert test.result(Resource.RSS).verdict is Verdict.LEAK
    first = test.lines[0]
    touch = next(n for n, text in enumerate(inspect.getsourcelines(map_page)[0]) if "# TOUCH" in text)
    assert (first.file, first.line) == (
        inspect.getsourcefile(map_page),
        map_page.__code__.co_firstlineno + touch,
    )
    assert first.native and first.native_call == "ctypes.memset"
    assert first.size_per_cycle == pytest.approx(mmap.PAGESIZE, rel=0.1)


def test_python_leaks_get_no_native_lines() -> None:
    kept: list[bytearray] = []
    test = leakharness.check(lambda: kept.append(bytearray(100_000)), max_cycles=60).tests[0]
    assert test.lines and not any(line.native for line in test.lines)


@pytest.mark.parametrize(
    ("leaks", "traced", "expected"),
    [
        ([(Resource.NATIVE_HEAP, 65552.0), (Resource.RSS, 8192.0)], 0.0, (Resource.NATIVE_HEAP, 65552.0)),
        ([(Resource.NATIVE_HEAP, 65552.0), (Resource.RSS, 66000.0)], 100.0, (Resource.NATIVE_HEAP, 65552.0)),
        ([(Resource.RSS, 4096.0)], 0.0, (Resource.RSS, 4096.0)),
        ([(Resource.NATIVE_HEAP, 1000.0), (Resource.RSS, 66000.0)], 500.0, (Resource.RSS, 66000.0)),
        ([(Resource.NATIVE_HEAP, 160_000.0)], 160_000.0, None),  # numpy's arrays are traced
        ([(Resource.HEAP, 3.0)], 0.0, None),
    ],
)
def test_the_counter_is_the_native_heap_when_it_leaks_beyond_the_traced(
    leaks: list[tuple[Resource, float]], traced: float, expected: tuple[Resource, float] | None
) -> None:
    assert counter_for(leaks, traced) == expected
    assert (native_growth(leaks, traced) is None) is (expected is None)


@pytest.mark.parametrize(
    ("source", "callee", "name"),
    [
        ("address = libc.malloc(size)", "malloc", "libc.malloc"),
        ("KEPT.append(np.ones(20_000))", "", "np.ones"),
        ("KEPT.append(np.ones(20_000))", "ones", "np.ones"),
        (
            'writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))',
            "",
            "cv2.VideoWriter",
        ),
        ("writer.write(frame)", "write", "writer.write"),
        ("with open(path) as handle:", "", "open"),
        ("run(job)", "helper", "helper"),  # called through a name the line does not show
        ("_KEPT.append(item)", "", "_KEPT.append"),
        ("x = 1", "", ""),
        ("frames = [", "", ""),
    ],
)
def test_the_callee_is_named_as_the_line_spells_it(source: str, callee: str, name: str) -> None:
    assert called_name(source, callee) == name

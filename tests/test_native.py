"""Per-line process memory of one cycle, through memory_profiler's line tracer."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from leakharness.diagnose.native import LineUsage, code_of, line_memory_profile

MIB = 2**20
HERE = Path(__file__).resolve().parent


def marked_line(mark: str) -> int:
    lines = Path(__file__).read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if text.rstrip().endswith(f"# {mark}"))


def allocate() -> int:
    data = bytearray(20 * MIB)  # ALLOCATE
    return len(data)


def fill(size: int, value: int = 0) -> int:
    data = bytes([value]) * size  # FILL
    return len(data)


def failing() -> None:
    raise ValueError("cycle failed")  # RAISE


class Allocator:
    def run(self, size: int) -> int:
        data = bytearray(size)  # METHOD
        return len(data)

    def __call__(self) -> int:
        return self.run(1024)  # CALL


def tracer(frame: FrameType, event: str, arg: Any) -> None:
    return None


@pytest.fixture
def own_tracer() -> Iterator[None]:
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


def by_line(usages: Iterator[LineUsage] | Any) -> dict[int, LineUsage]:
    return {usage.line: usage for usage in usages}


def test_a_20_mb_bytearray_is_charged_to_its_line() -> None:
    # Run in a fresh interpreter: glibc keeps a freed 20 MB block for reuse, and
    # from the third such allocation in one process RSS no longer grows (measured).
    script = (
        "import json, test_native\n"
        "from leakharness.diagnose.native import line_memory_profile\n"
        "print(json.dumps(line_memory_profile(test_native.allocate).to_dict()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=HERE, capture_output=True, text=True, check=True, timeout=120
    )
    report = json.loads(done.stdout)
    usage = next(u for u in report["items"] if u["line"] == marked_line("ALLOCATE"))
    assert usage["increment_mib"] > 10 and usage["occurrences"] == 1
    assert usage["source"] == "data = bytearray(20 * MIB)  # ALLOCATE"
    assert Path(usage["file"]).resolve() == Path(__file__).resolve() and report["notes"] == []


def test_lines_are_reported_in_order_with_sources() -> None:
    found = line_memory_profile(fill, MIB, value=1)
    lines = [usage.line for usage in found]
    assert lines == sorted(lines) and marked_line("FILL") in lines
    usage = by_line(found)[marked_line("FILL")]
    assert usage.occurrences == 1 and usage.source.startswith("data = bytes([value]) * size")
    assert repr(usage).startswith(f"<LineUsage {usage.file}:{usage.line} ")
    assert json.loads(json.dumps(usage.to_dict()))["line"] == usage.line


@pytest.mark.parametrize(
    ("cycle", "mark"),
    [
        (functools.partial(Allocator().run, MIB), "METHOD"),
        (functools.partial(fill, MIB), "FILL"),
        (Allocator(), "CALL"),
    ],
    ids=["partial-of-bound-method", "partial", "callable-instance"],
)
def test_partials_bound_methods_and_callables_are_unwrapped(cycle: Any, mark: str) -> None:
    found = by_line(line_memory_profile(cycle))
    assert found[marked_line(mark)].occurrences == 1


def test_a_bound_method_profiles_its_function() -> None:
    found = line_memory_profile(Allocator().run, MIB)
    assert by_line(found)[marked_line("METHOD")].occurrences == 1


def test_the_previous_trace_function_is_restored(own_tracer: None) -> None:
    line_memory_profile(fill, 16)
    assert sys.gettrace() is tracer


def test_exceptions_propagate_after_tracing_stops(own_tracer: None) -> None:
    with pytest.raises(ValueError, match="cycle failed"):
        line_memory_profile(failing)
    assert sys.gettrace() is tracer


def test_without_tracer_none_is_left() -> None:
    previous = sys.gettrace()
    sys.settrace(None)
    try:
        line_memory_profile(fill, 16)
        assert sys.gettrace() is None
    finally:
        sys.settrace(previous)


def test_a_builtin_is_not_profiled_nor_called() -> None:
    items: list[int] = []
    found = line_memory_profile(items.append, 1)
    assert len(found) == 0 and items == []
    assert found.notes[0].startswith("no Python function to profile in <built-in method append")


def test_code_without_a_source_file_gives_a_note() -> None:
    namespace: dict[str, Any] = {}
    exec(compile("def generated():\n    return 1\n", "<generated>", "exec"), namespace)
    found = line_memory_profile(namespace["generated"])
    assert len(found) == 0 and found.notes == ("no source file for generated: <generated>",)


def test_code_of_follows_wrappers() -> None:
    @functools.wraps(fill)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        return fill(*args, **kwargs)

    assert code_of(wrapper) is fill.__code__
    assert code_of(functools.partial(functools.partial(fill, 1), 2)) is fill.__code__
    assert code_of(Allocator()) is Allocator.__call__.__code__
    assert code_of(len) is None

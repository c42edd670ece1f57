"""Line hooks feed the ledger from project code: lines, calls out of the project, returns."""

from __future__ import annotations

import functools
import queue
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from leakharness.diagnose.native_hooks import LineHooks
from leakharness.diagnose.native_ledger import Key, Ledger

HERE = str(Path(__file__).resolve())
GROWN: list[int] = []  # the counter the ledger reads: its length


def marked(mark: str) -> int:
    lines = Path(HERE).read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if text.rstrip().endswith(f"# {mark}"))


def kept(cycle: Callable[[], object], read: Callable[[], int] = lambda: len(GROWN)) -> dict[Key, int]:
    ledger = Ledger(read)
    with LineHooks(ledger):
        cycle()
    return ledger.end_cycle()


def sites(found: dict[Key, int]) -> dict[int, int]:
    return {line: amount for ((file, line), _), amount in found.items() if file == HERE}


def grow_in_a_helper() -> None:
    GROWN.extend([0] * 3)  # HELPER


def calls_a_helper() -> None:
    grow_in_a_helper()
    GROWN.append(0)  # AFTER


def test_each_line_is_charged_what_it_added() -> None:
    GROWN.clear()
    assert sites(kept(calls_a_helper)) == {marked("HELPER"): 3, marked("AFTER"): 1}


def grow_then_shrink() -> None:
    GROWN.extend([0] * 5)  # TEMPORARY
    GROWN.append(0)  # KEPT
    del GROWN[-6:-1]  # FREED


def test_a_temporary_freed_later_is_not_kept() -> None:
    GROWN.clear()
    assert sites(kept(grow_then_shrink)) == {marked("KEPT"): 1}


def test_growth_in_library_code_is_charged_to_the_calling_line() -> None:
    jobs: queue.Queue[int] = queue.Queue()

    def cycle() -> None:
        for job in range(4):
            jobs.put(job)  # PUT

    found = kept(cycle, read=jobs.qsize)
    ((site, callee),) = found
    assert site == (HERE, marked("PUT")) and found[site, callee] == 4
    assert callee == "put"  # the stdlib's Queue.put, outside the project


def test_a_callable_without_a_name_is_no_callee() -> None:
    add = functools.partial(GROWN.append, 0)  # a C callable with no __name__, as ctypes.memset

    def cycle() -> None:
        add()  # NAMELESS

    GROWN.clear()
    found = kept(cycle)
    # "" lets the line's spelling name the call (3.12+ read the class name: `partial`)
    assert found == {((HERE, marked("NAMELESS")), ""): 1}


def test_the_previous_hook_is_put_back() -> None:
    if sys.version_info >= (3, 12):
        before = [sys.monitoring.get_tool(tool) for tool in range(6)]
        kept(calls_a_helper)
        assert [sys.monitoring.get_tool(tool) for tool in range(6)] == before
    else:
        previous = sys.gettrace()
        kept(calls_a_helper)
        assert sys.gettrace() is previous


def test_a_raising_cycle_puts_the_hook_back() -> None:
    def failing() -> None:
        raise ValueError("cycle failed")

    previous = sys.gettrace()
    with pytest.raises(ValueError, match="cycle failed"):
        kept(failing)
    assert sys.gettrace() is previous

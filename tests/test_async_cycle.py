"""Async cycles: every kind runs its body on one harness loop; generators are refused."""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import leakharness
from leakharness import LeakHarnessError, LeakTestCase, Resource, Verdict
from leakharness.measure.async_cycle import EventLoopState, LoopCycle, as_cycle, is_async

FAST = {"min_cycles": 30, "max_cycles": 40, "warmup": 2}
_KEPT: list[bytes] = []
_IDLE: list[asyncio.Event] = []


async def leaky_handler(size: int = 300) -> None:
    await asyncio.sleep(0)
    _KEPT.append(bytes(size))  # LEAK: kept


async def clean_handler(size: int = 300) -> None:
    await asyncio.sleep(0)
    bytes(size)


class Handler:
    def __init__(self, leaks: bool) -> None:
        self.leaks = leaks

    async def __call__(self) -> None:
        await (leaky_handler() if self.leaks else clean_handler())


def kinds(handler: Callable[..., Any], leaks: bool) -> dict[str, Callable[[], object]]:
    """The same async cycle in each form a user may pass."""
    return {
        "coroutine function": handler,
        "partial": functools.partial(handler, 300),
        "callable returning a coroutine": lambda: handler(),
        "async __call__": Handler(leaks),
    }


LEAKY, CLEAN = kinds(leaky_handler, True), kinds(clean_handler, False)
LEAK_LINE = next(
    n for n, text in enumerate(Path(__file__).read_text().splitlines(), 1) if "# LEAK: kept" in text
)


@pytest.mark.parametrize("kind", list(LEAKY))
def test_check_runs_every_kind_of_async_cycle(kind: str) -> None:
    leaky = leakharness.check(LEAKY[kind], **FAST).tests[0]
    assert leaky.verdict is Verdict.LEAK, leaky.reason
    assert (Path(leaky.lines[0].file).name, leaky.lines[0].line) == ("test_async_cycle.py", LEAK_LINE)
    clean = leakharness.check(CLEAN[kind], **FAST).tests[0]
    assert clean.verdict is Verdict.CLEAN, clean.reason


def test_assert_no_leaks_runs_async_cycles() -> None:
    case = LeakTestCase()
    assert case.assertNoLeaks(clean_handler, 300, **FAST).verdict is Verdict.CLEAN
    with pytest.raises(leakharness.LeakError, match="Python heap"):
        case.assertNoLeaks(functools.partial(leaky_handler, 300), **FAST)


def numbers() -> Iterator[int]:
    _KEPT.append(bytes(10))
    yield 1


async def async_numbers() -> Any:
    _KEPT.append(bytes(10))
    yield 1


@pytest.mark.parametrize(
    ("cycle", "message"),
    [
        (numbers, r"numbers is a generator function: .* lambda: list\(numbers\(\)\)"),
        (functools.partial(numbers), "numbers is a generator function"),
        (async_numbers, "async_numbers is an async generator function: .* async for"),
        (lambda: numbers(), "returned a generator, and none of its body ran"),
        (lambda: async_numbers(), "returned an async generator, and none of its body ran"),
    ],
)
def test_generators_are_refused_never_judged_clean(cycle: Callable[[], object], message: str) -> None:
    before = len(_KEPT)
    with pytest.raises(LeakHarnessError, match=message):
        leakharness.check(cycle, **FAST)
    with pytest.raises(LeakHarnessError, match=message):
        LeakTestCase().assertNoLeaks(cycle, **FAST)
    assert len(_KEPT) == before


def test_is_async_sees_through_partials_methods_and_call() -> None:
    assert is_async(clean_handler) and is_async(functools.partial(clean_handler, 1))
    assert is_async(Handler(False)) and is_async(Handler(False).__call__)
    assert not is_async(lambda: clean_handler()) and not is_async(print)


def test_a_sync_cycle_never_makes_a_loop() -> None:
    cycle = as_cycle(lambda: None)
    cycle()
    assert cycle.loop is None
    cycle.close()


def test_the_harness_loop_is_one_for_all_cycles_and_closed_with_its_tasks_cancelled() -> None:
    loops: set[int] = set()
    cancelled: list[bool] = []

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def cycle() -> None:
        loops.add(id(asyncio.get_running_loop()))
        _IDLE.append(asyncio.Event())
        asyncio.get_running_loop().create_task(forever())

    adapted = as_cycle(cycle)
    loop = adapted.loop
    assert loop is not None  # made at once for a coroutine function
    for _ in range(3):
        adapted()
    assert len(loops) == 1 and len(asyncio.all_tasks(loop)) == 3
    adapted.close()
    assert loop.is_closed() and cancelled == [True, True, True]
    _IDLE.clear()


def test_an_awaitable_returning_callable_gets_a_loop_on_its_first_awaitable() -> None:
    adapted = as_cycle(lambda: clean_handler())
    assert adapted.loop is None
    adapted()
    loop = adapted.loop
    assert loop is not None and not loop.is_closed()
    adapted.close()
    assert loop.is_closed()


def test_a_loop_passed_in_is_driven_and_left_open() -> None:
    loop = asyncio.new_event_loop()
    try:
        adapted = as_cycle(clean_handler, loop)
        adapted()
        adapted.close()
        assert not loop.is_closed()
    finally:
        loop.close()


def test_inside_a_running_loop_an_async_cycle_is_a_clear_error() -> None:
    async def main() -> None:
        with pytest.raises(LeakHarnessError, match=r"already running in this thread: await self\.assertNo"):
            leakharness.check(clean_handler, **FAST)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the refused coroutine is closed: no "never awaited"
            with pytest.raises(LeakHarnessError, match="check_async"):
                as_cycle(lambda: clean_handler())()

    asyncio.run(main())


def test_a_future_of_another_loop_is_a_clear_error() -> None:
    other = asyncio.new_event_loop()
    try:
        adapted = as_cycle(other.create_future)
        adapted()  # no awaitable before: the first future makes the harness loop
    except LeakHarnessError as err:
        assert "future of another event loop" in str(err)
    else:
        pytest.fail("a future of another loop was accepted")
    finally:
        adapted.close()
        other.close()


def test_as_cycle_keeps_a_loop_cycle_and_refuses_what_is_not_callable() -> None:
    adapted = as_cycle(clean_handler)
    assert as_cycle(adapted) is adapted
    adapted.close()
    with pytest.raises(LeakHarnessError, match=r"cycle must be callable \(got 42\)"):
        as_cycle(42)
    assert isinstance(adapted, LoopCycle)


def test_event_loop_policy_and_current_loop_are_left_as_found() -> None:
    found = asyncio.new_event_loop()
    asyncio.set_event_loop(found)
    policy = asyncio.get_event_loop_policy()

    async def replaces_current_loop() -> None:
        await asyncio.sleep(0)

    def sets_its_own() -> None:
        asyncio.set_event_loop(None)

    try:
        leakharness.check(replaces_current_loop, **FAST)
        leakharness.check(sets_its_own, **FAST)
        assert asyncio.get_event_loop_policy() is policy
        assert asyncio.get_event_loop() is found
        assert asyncio._get_running_loop() is None
    finally:
        asyncio.set_event_loop(None)
        found.close()


def test_event_loop_state_restores_a_replaced_policy() -> None:
    state = EventLoopState()
    policy = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    state.restore()
    assert asyncio.get_event_loop_policy() is policy


def test_a_sync_cycle_counts_no_tasks() -> None:
    report = leakharness.check(lambda: None, **FAST).tests[0]
    tasks = next(r for r in report.resources if r.resource is Resource.TASKS)
    assert tasks.verdict is Verdict.CLEAN and set(tasks.series) == {0}


def test_a_loop_running_in_this_thread_is_refused_not_waited_for() -> None:
    async def main() -> None:
        adapted = as_cycle(clean_handler, asyncio.get_running_loop())
        with pytest.raises(LeakHarnessError, match="running in this thread: await the examination"):
            adapted()

    asyncio.run(main())


_OPEN_STREAMS: list[Any] = []


async def readings() -> Any:
    while True:
        yield bytes(100)
        await asyncio.sleep(0)


async def read_one_and_keep_the_stream() -> None:
    stream = readings()
    _OPEN_STREAMS.append(stream)
    await stream.__anext__()


def test_an_async_generator_never_finished_and_kept_is_named_with_its_holder() -> None:
    test = leakharness.check(read_one_and_keep_the_stream, **FAST).tests[0]
    assert test.verdict is Verdict.LEAK
    assert [h.path for h in test.diagnosis.holders] == [
        f"module {__name__} → list _OPEN_STREAMS → async_generator"
    ]
    _OPEN_STREAMS.clear()

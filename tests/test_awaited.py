"""Async tests end to end: hunted IsolatedAsyncioTestCase tests, leak tests
that await the harness on their own loop, and check_async."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import threading
import tracemalloc
from pathlib import Path

import pytest

import leakharness
from leakharness import LeakHarnessError, Verdict
from tests.helpers import CASES, Run, marked_lines, run_cli

FAST = {"min_cycles": 30, "max_cycles": 40, "warmup": 2}
CASE_FILE = CASES / "cases_async.py"
REQUEST = contextvars.ContextVar("REQUEST", default="unset")
_KEPT: list[bytes] = []


@pytest.fixture(scope="module")
def hunted(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("async") / "report.json"
    return run_cli(str(CASE_FILE), "-n", "80", "--min-cycles", "60", json_path=out)


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        ("Hunted.test_leaky_background_set", "leak"),
        ("Hunted.test_fixed_background_set", "clean"),
        ("Awaiting.test_leaky_awaited", "leak"),
        ("Awaiting.test_fixed_awaited", "clean"),
        ("Decorated.test_leaky_decorated", "leak"),
        ("Decorated.test_fixed_decorated", "clean"),
    ],
)
def test_async_twins_are_judged_and_leaks_located(hunted: Run, name: str, verdict: str) -> None:
    test = hunted.test(name)
    assert test["verdict"] == verdict, test["reason"]
    if verdict == "leak":
        top = [(Path(line["file"]).name, line["line"]) for line in test["lines"][:3]]
        assert any(("cases_async.py", n) in top for n in marked_lines(CASE_FILE)), top


def test_hunting_names_the_set_that_keeps_finished_tasks(hunted: Run) -> None:
    holders = [h["path"] for h in hunted.test("Hunted.test_leaky_background_set")["diagnosis"]["holders"]]
    assert "module cases.cases_async → set _background → Task" in holders


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("NeverRun.test_async_on_plain_case", "unittest never awaits it"),
        ("NeverRun.test_generator", "none of its body runs"),
    ],
)
def test_test_methods_unittest_would_not_run_are_errors(hunted: Run, name: str, words: str) -> None:
    test = hunted.test(name)
    assert test["verdict"] == "error" and words in test["reason"]
    assert hunted.code == 1


async def leaky() -> None:
    await asyncio.sleep(0)
    _KEPT.append(bytes(300))


async def clean() -> None:
    await asyncio.sleep(0)
    bytes(300)


def test_check_async_runs_the_cycles_on_the_running_loop() -> None:
    loops: set[asyncio.AbstractEventLoop] = set()

    async def cycle() -> None:
        loops.add(asyncio.get_running_loop())
        assert REQUEST.get() == "from the caller"
        await clean()

    async def main() -> tuple[leakharness.Report, leakharness.Report]:
        REQUEST.set("from the caller")
        return await leakharness.check_async(cycle, **FAST), await leakharness.check_async(leaky, **FAST)

    threads = threading.active_count()
    fine, leak = asyncio.run(main())
    assert fine.tests[0].verdict is Verdict.CLEAN and leak.tests[0].verdict is Verdict.LEAK
    assert len(loops) == 1 and next(iter(loops)).is_closed()  # asyncio.run's loop: closed by asyncio.run
    assert threading.active_count() == threads


def test_the_running_loop_keeps_its_task_factory() -> None:
    async def start() -> None:
        asyncio.get_running_loop().create_task(asyncio.sleep(3600))

    async def main() -> tuple[object, object, Verdict]:
        loop = asyncio.get_running_loop()
        before = loop.get_task_factory()
        report = await leakharness.check_async(start, **FAST)
        return before, loop.get_task_factory(), report.tests[0].verdict

    before, after, verdict = asyncio.run(main())
    assert verdict is Verdict.LEAK and before is after is None


def test_a_cancelled_wait_stops_the_examination() -> None:
    cycles = [0]

    async def slow() -> None:
        cycles[0] += 1
        await asyncio.sleep(0.01)

    async def main() -> int:
        waiting = asyncio.ensure_future(leakharness.check_async(slow, max_cycles=400, min_cycles=400))
        while cycles[0] < 5:
            await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert gc.get_freeze_count() == 0 and not tracemalloc.is_tracing()  # restored before returning
        stopped_at = cycles[0]
        await asyncio.sleep(0.05)
        return cycles[0] - stopped_at

    threads = threading.active_count()
    assert asyncio.run(main()) == 0  # nothing runs once the cancelled wait returns
    assert threading.active_count() == threads


def test_check_async_refuses_generators_before_starting() -> None:
    def numbers() -> object:
        yield 1

    with pytest.raises(LeakHarnessError, match="generator function"):
        asyncio.run(leakharness.check_async(numbers))

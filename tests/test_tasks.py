"""Leaked asyncio tasks: counted per cycle, named with their coroutine, where
they wait and the line that created them."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import leakharness
from leakharness import Resource, Verdict
from leakharness.diagnose.tasks import TaskOrigins

FAST = {"min_cycles": 30, "max_cycles": 40, "warmup": 2}
HERE = Path(__file__).read_text().splitlines()


def line_of(mark: str) -> int:
    return next(n for n, text in enumerate(HERE, 1) if mark in text)


async def poll_forever() -> None:
    while True:
        await asyncio.sleep(3600)  # WAITS


async def start_watcher() -> None:
    asyncio.get_running_loop().create_task(poll_forever())  # CREATES


async def start_and_stop_watcher() -> None:
    task = asyncio.get_running_loop().create_task(poll_forever())
    await asyncio.sleep(0)
    task.cancel()


def test_a_task_left_pending_each_cycle_is_a_leak_named_with_its_lines() -> None:
    report = leakharness.check(start_watcher, **FAST)
    test = report.tests[0]
    tasks = next(r for r in test.resources if r.resource is Resource.TASKS)
    assert tasks.verdict is Verdict.LEAK
    assert tasks.growth_per_cycle == pytest.approx(1, abs=0.1)  # read every few cycles: held between
    (group,) = test.diagnosis.tasks
    assert group.count >= 10  # the traced cycles' tasks, grouped
    task = group.example
    assert task.coroutine == f"{__name__}.poll_forever"
    assert (Path(task.created[0].file).name, task.created[0].line) == ("test_tasks.py", line_of("# CREATES"))
    assert task.waiting_at is not None and task.waiting_at.line == line_of("# WAITS")

    buffer = io.StringIO()
    Console(file=buffer, width=140).print(report)
    row = next(line for line in buffer.getvalue().splitlines() if f"{__name__}.poll_forever" in line)
    assert f"test_tasks.py:{line_of('# WAITS')}" in row and f"test_tasks.py:{line_of('# CREATES')}" in row

    entry = json.loads(json.dumps(report.to_dict()))["tests"][0]["diagnosis"]["tasks"][0]
    assert entry["example"]["coroutine"].endswith("poll_forever")
    assert entry["example"]["created"][0]["line"] == line_of("# CREATES")
    assert entry["example"]["waiting_at"]["source"] == "await asyncio.sleep(3600)  # WAITS"


def test_a_task_cancelled_in_its_cycle_is_clean() -> None:
    test = leakharness.check(start_and_stop_watcher, **FAST).tests[0]
    assert test.verdict is Verdict.CLEAN, test.reason


def test_origins_restore_the_task_factory_and_keep_one_that_was_set() -> None:
    loop = asyncio.new_event_loop()
    made: list[str] = []

    def naming_factory(loop: asyncio.AbstractEventLoop, coro: Any, **options: Any) -> asyncio.Task[Any]:
        made.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **options)

    loop.set_task_factory(naming_factory)
    try:
        with TaskOrigins(loop) as origins:
            loop.run_until_complete(start_watcher())
        assert loop.get_task_factory() is naming_factory
        assert made == ["start_watcher", "poll_forever"]
        (leaked,) = origins.leaked_tasks()
        assert leaked.created[0].line == line_of("# CREATES")
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()


def test_tasks_pending_before_the_watch_are_not_listed() -> None:
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(start_watcher())
        with TaskOrigins(loop) as origins:
            loop.run_until_complete(asyncio.sleep(0))
        assert len(origins.leaked_tasks()) == 0
        assert loop.get_task_factory() is None
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()

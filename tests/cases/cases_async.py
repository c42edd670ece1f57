"""Async tests, hunted through the CLI: IsolatedAsyncioTestCase twins, leak
test cases awaiting the harness, and test methods unittest would never run."""

from __future__ import annotations

import asyncio
import unittest
from collections.abc import Iterator

import leakharness

_background: set[asyncio.Task[None]] = set()
_kept: list[bytes] = []


async def _send(payload: bytes) -> None:
    await asyncio.sleep(0)


def notify_leaky(payload: bytes) -> None:
    _background.add(asyncio.get_running_loop().create_task(_send(payload)))  # LEAK


def notify(payload: bytes) -> None:
    task = asyncio.get_running_loop().create_task(_send(payload))
    _background.add(task)
    task.add_done_callback(_background.discard)


class Hunted(unittest.IsolatedAsyncioTestCase):
    async def test_leaky_background_set(self) -> None:
        notify_leaky(b"x" * 100)
        await asyncio.sleep(0)

    async def test_fixed_background_set(self) -> None:
        notify(b"x" * 100)
        await asyncio.sleep(0)


class Awaiting(leakharness.LeakTestCase, unittest.IsolatedAsyncioTestCase):
    leak_max_cycles = 40
    leak_min_cycles = 30

    async def asyncSetUp(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()  # bound to the test's loop

    async def test_leaky_awaited(self) -> None:
        async def cycle() -> None:
            await self.queue.put(bytes(200))  # LEAK: kept below
            _kept.append(await self.queue.get())

        await self.assertNoLeaksAsync(cycle)

    async def test_fixed_awaited(self) -> None:
        async def cycle() -> None:
            await self.queue.put(bytes(200))
            await self.queue.get()

        await self.assertNoLeaksAsync(cycle)


class Decorated(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    @leakharness.no_leaks(max_cycles=40, min_cycles=30)
    async def test_leaky_decorated(self) -> None:
        await self.queue.put(bytes(200))  # LEAK: kept below
        _kept.append(await self.queue.get())

    @leakharness.no_leaks(max_cycles=40, min_cycles=30)
    async def test_fixed_decorated(self) -> None:
        await self.queue.put(bytes(200))
        await self.queue.get()


class NeverRun(unittest.TestCase):
    async def test_async_on_plain_case(self) -> None:
        _kept.append(bytes(10))

    def test_generator(self) -> Iterator[None]:
        _kept.append(bytes(10))
        yield

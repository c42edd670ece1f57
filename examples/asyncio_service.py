"""An asyncio notification service: fire-and-forget tasks kept forever, and a
heartbeat task nobody cancels.

``notify_leaky()`` sends a message in the background with
``asyncio.create_task`` and keeps the task in a module-level set, as the
asyncio documentation advises (the loop holds only a weak reference to a
task). It never takes the task out again: every message ever sent stays
alive in ``_background``, task, coroutine, result and payload. ``notify()``
adds ``task.add_done_callback(_background.discard)``: a task leaves the set
when it is done.

A ``Subscription`` starts a heartbeat task when it opens. ``close_leaky()``
forgets to cancel it: each subscription ever opened leaves a task sleeping
in the loop, waking up every few seconds for a subscriber long gone.
``close()`` cancels the heartbeat and waits for it to finish.

The notification tests are ``IsolatedAsyncioTestCase`` tests, hunted as
they are; the subscription tests examine one open/close round on the
harness's own event loop, where a task left pending by one cycle is still
pending when the next is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import unittest

import leakharness

HEARTBEAT_SECONDS = 5.0
_background: set[asyncio.Task[int]] = set()


async def _deliver(message: bytes) -> int:
    await asyncio.sleep(0)  # the network write, in a real service
    return len(message)


def notify_leaky(message: bytes) -> None:
    _background.add(asyncio.create_task(_deliver(message)))  # leak: done tasks are never removed


def notify(message: bytes) -> None:
    task = asyncio.create_task(_deliver(message))
    _background.add(task)
    task.add_done_callback(_background.discard)


class Subscription:
    """A subscriber to one channel, kept alive by a heartbeat while open."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.beats = 0
        self._heartbeat: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._heartbeat = asyncio.create_task(self._beat())  # leak: close_leaky() never cancels it

    async def _beat(self) -> None:
        while True:
            self.beats += 1
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def close_leaky(self) -> None:
        self._heartbeat = None  # dropped, not cancelled: the loop still runs it

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None


async def subscribe_once_leaky() -> None:
    subscription = Subscription("frames")
    await subscription.open()
    await asyncio.sleep(0)
    await subscription.close_leaky()


async def subscribe_once() -> None:
    subscription = Subscription("frames")
    await subscription.open()
    await asyncio.sleep(0)
    await subscription.close()


class NotifyTest(unittest.IsolatedAsyncioTestCase):
    async def test_leaky_tasks_kept_forever(self) -> None:
        notify_leaky(b"frame 1 ready" * 8)
        await asyncio.sleep(0.001)

    async def test_fixed_tasks_discarded_when_done(self) -> None:
        notify(b"frame 1 ready" * 8)
        await asyncio.sleep(0.001)


class SubscriptionTest(leakharness.LeakTestCase):
    def test_leaky_heartbeat_never_cancelled(self) -> None:
        self.assertNoLeaks(subscribe_once_leaky)

    def test_fixed_heartbeat_cancelled(self) -> None:
        self.assertNoLeaks(subscribe_once)


if __name__ == "__main__":
    unittest.main()

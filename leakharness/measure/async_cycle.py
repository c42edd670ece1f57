"""Async cycles: turn whatever the user passed into a plain synchronous cycle
plus the event loop it runs on.

A coroutine function, a partial of one, an object with an ``async def
__call__``, or a callable that returns an awaitable: each call runs the
cycle once and runs what it returns to completion on one event loop.

- By default the loop is the harness's own: made for the examination (at
  once for a coroutine function, on the first awaitable otherwise), driven
  with ``run_until_complete`` per cycle, and closed at the end, after the
  tasks still pending are cancelled. One loop for every cycle: a task left
  pending by a cycle is still pending when the next one is measured.
- A loop passed in that is not running (an ``IsolatedAsyncioTestCase``'s,
  between its steps) is driven the same way and left open.
- A loop passed in that is running in another thread gets each cycle with
  ``run_coroutine_threadsafe``; the examination itself then runs in a worker
  thread while that loop's own thread awaits it.

Generator and async generator functions are refused: calling one runs none
of its body, so its cycles would be judged clean without running.
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from leakharness.errors import LeakHarnessError
from leakharness.frames import calls_code_under_test

if TYPE_CHECKING:  # asyncio costs 20 to 90 ms to import: only async cycles pay for it
    import asyncio

Target = Callable[[], object]


class LoopCycle:
    """``target`` as a plain synchronous cycle; ``loop`` is the event loop its
    awaitables run on (None until one is needed)."""

    def __init__(self, target: Target, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.target = target
        self.name = _name(target)
        self._loop = loop
        self._owned = loop is None
        self.stopped = False  # set by a caller that gave up waiting: the next cycle raises
        self.__wrapped__ = getattr(target, "__wrapped__", target)  # what a memory profile looks into
        if self._owned and is_async(target):
            _refuse_running_loop(self.name)
            self._new_loop()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    @calls_code_under_test
    def __call__(self) -> None:
        if self.stopped:
            raise LeakHarnessError(f"{self.name}: the examination was cancelled")
        loop = self._loop
        if loop is not None and not self._owned and loop.is_running():
            import asyncio

            if asyncio._get_running_loop() is loop:  # waiting for itself would never end
                raise LeakHarnessError(
                    f"{self.name}: its event loop is running in this thread: await the examination "
                    "(assertNoLeaksAsync, check_async) instead"
                )
            asyncio.run_coroutine_threadsafe(_call(self.target, self.name), loop).result()
            return
        result = self.target()
        if inspect.isawaitable(result):
            self._run(result)
        else:
            _refuse_iterator(result, self.name)

    @calls_code_under_test
    def _run(self, awaitable: Awaitable[Any]) -> None:
        import asyncio

        try:
            _refuse_running_loop(self.name)
        except LeakHarnessError:
            if inspect.iscoroutine(awaitable):
                awaitable.close()  # else "coroutine ... was never awaited"
            raise
        loop = self._loop or self._new_loop()
        if asyncio.isfuture(awaitable) and awaitable.get_loop() is not loop:
            raise LeakHarnessError(
                f"{self.name} returned a future of another event loop: return a coroutine instead"
            )
        loop.run_until_complete(awaitable)

    def _new_loop(self) -> asyncio.AbstractEventLoop:
        import asyncio

        self._loop = asyncio.new_event_loop()
        return self._loop

    def close(self) -> None:
        """Close the harness's own loop: cancel what is pending, finish async
        generators and the default executor. A loop passed in is left open."""
        loop, self._loop = (self._loop, None) if self._owned else (None, self._loop)
        if loop is None or loop.is_closed():
            return
        import asyncio

        try:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def as_cycle(target: object, loop: asyncio.AbstractEventLoop | None = None) -> LoopCycle:
    """``target`` as a synchronous cycle (a LoopCycle is returned as it is):
    the one adaptation every entry point shares. ``loop``: the event loop to
    run on instead of the harness's own (a test framework's: idle between its
    steps, or running in another thread). Raises LeakHarnessError for what is
    not callable, and for generator and async generator functions."""
    if isinstance(target, LoopCycle):
        return target
    if not callable(target):
        raise LeakHarnessError(f"cycle must be callable (got {target!r})")
    name = _name(target)
    if inspect.isasyncgenfunction(target):
        raise LeakHarnessError(_ASYNC_GENERATOR.format(name=name))
    if inspect.isgeneratorfunction(target):
        raise LeakHarnessError(_GENERATOR.format(name=name))
    return LoopCycle(target, loop)


def is_async(target: object) -> bool:
    """A coroutine function: directly, through partials and bound methods, or
    as an object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(type(target).__call__)


_GENERATOR = (
    "{name} is a generator function: calling it runs none of its body; "
    "pass a cycle that consumes it, such as lambda: list({name}())"
)
_ASYNC_GENERATOR = (
    "{name} is an async generator function: calling it runs none of its body; "
    "pass an async def cycle that consumes it with async for"
)


class EventLoopState:
    """The event loop policy and this thread's current loop, as found: a
    cycle (or a test runner's, such as ``IsolatedAsyncioTestCase``'s, which
    unsets the current loop when it closes its own) may change either."""

    def __init__(self) -> None:
        found: tuple[Any, Any] = (None, None)
        if "asyncio" in sys.modules:  # else nothing to save, and no import to pay for
            found = _policy_and_loop()
        self.policy, self.loop = found

    def restore(self) -> None:
        if "asyncio" not in sys.modules:
            return
        import asyncio

        policy, loop = _policy_and_loop()
        with warnings.catch_warnings():  # the policy functions are deprecated from Python 3.14 on
            warnings.simplefilter("ignore", DeprecationWarning)
            if policy is not self.policy:
                asyncio.set_event_loop_policy(self.policy)
            elif loop is not self.loop and policy is not None:
                policy.set_event_loop(self.loop)


def _policy_and_loop() -> tuple[Any, Any]:
    """Read without side effects: ``get_event_loop_policy()`` would make a
    policy, and ``get_event_loop()`` a loop."""
    import asyncio

    policy = getattr(asyncio.events, "_event_loop_policy", None)
    return policy, getattr(getattr(policy, "_local", None), "_loop", None)


def _refuse_running_loop(name: str) -> None:
    import asyncio

    if asyncio._get_running_loop() is not None:
        raise LeakHarnessError(
            f"{name} is async, but an event loop is already running in this thread: await "
            "self.assertNoLeaksAsync(cycle) or await leakharness.check_async(cycle) runs it on that loop"
        )


def _refuse_iterator(result: object, name: str) -> None:
    """A plain callable that returned a generator ran none of that generator's body."""
    if inspect.isasyncgen(result) or inspect.isgenerator(result):
        kind = "an async generator" if inspect.isasyncgen(result) else "a generator"
        if inspect.isgenerator(result):
            result.close()
        raise LeakHarnessError(
            f"{name} returned {kind}, and none of its body ran: consume it inside the cycle"
        )


@calls_code_under_test
async def _call(target: Target, name: str) -> None:
    """Call ``target`` on the loop's own thread and await what it returns."""
    result = target()
    if inspect.isawaitable(result):
        await result
    else:
        _refuse_iterator(result, name)


def _name(target: object) -> str:
    while isinstance(target, functools.partial):
        target = target.func
    return str(getattr(target, "__qualname__", None) or repr(target))

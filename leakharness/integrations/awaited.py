"""Examine a cycle from inside a running event loop, with its cycles on that loop.

The loop's own thread cannot run cycles while it waits for the verdict, and
the harness's detection loop is synchronous: so the examination runs in a
worker thread and hands each cycle to the loop with
``run_coroutine_threadsafe``, while the awaiting coroutine leaves the loop
free to run them. The worker starts in a copy of the caller's context, so
context variables set before (in ``asyncSetUp``, say) reach the cycles.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from typing import TYPE_CHECKING

from leakharness.config import Settings
from leakharness.examine import examine
from leakharness.measure.async_cycle import as_cycle
from leakharness.report.model import TestReport

if TYPE_CHECKING:
    import asyncio


async def examine_awaited(cycle: object, settings: Settings, test_id: str) -> TestReport:
    """``examine(cycle)`` with every cycle run on the running loop. Cancelling
    the awaiting task stops the examination after the cycle under way, and
    returns once the process state is restored."""
    import asyncio

    loop = asyncio.get_running_loop()
    adapted = as_cycle(cycle, loop)
    done: asyncio.Future[TestReport] = loop.create_future()

    def work() -> None:
        try:
            report = examine(adapted, settings, test_id)
        except BaseException as err:  # every outcome goes back to the awaiting task
            _hand_back(loop, done, None, err)
        else:
            _hand_back(loop, done, report, None)

    worker = threading.Thread(
        target=contextvars.copy_context().run, args=(work,), name="leakharness-examination", daemon=True
    )
    worker.start()
    try:
        return await asyncio.shield(done)  # a cancellation must not cancel the worker's outcome
    except asyncio.CancelledError:
        adapted.stopped = True
        with contextlib.suppress(Exception):  # the examination's "cancelled" error
            await done  # the cycle under way ends, and the process state is restored
        raise
    finally:
        if done.done():
            worker.join()  # it has handed its outcome back: only its exit is left


def _hand_back(
    loop: asyncio.AbstractEventLoop,
    done: asyncio.Future[TestReport],
    report: TestReport | None,
    error: BaseException | None,
) -> None:
    def settle() -> None:
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        elif report is not None:
            done.set_result(report)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop closed while the last cycle ran: nobody is waiting
        pass

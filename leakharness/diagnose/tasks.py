"""Leaked asyncio tasks: the coroutine each runs, where it waits, and the
stack that created it.

While active, ``TaskOrigins`` wraps the loop's task factory (any factory
already set keeps making the tasks) and remembers each new task's creation
site, charged to the innermost project frame (beneath it, asyncio's or a
library's frame that made the task); the previous factory is put back on exit.
With ``debug``, it also turns the loop's debug mode on meanwhile (4 s more
over 17 traced cycles of an HTTP request each), so that objects made on
the loop keep their creation stack (``_source_traceback``: aiohttp's
sessions do), which names the line of an object left unclosed; its
slow-callback warnings are silenced, as tracing slows every callback. Only the locate phase
installs it: a stack per task would slow every detection cycle.
"""

from __future__ import annotations

import sys
import weakref
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from leakharness.diagnose.findings import STACK_DEPTH, Findings, frames_to_dict
from leakharness.frames import Frame, Site, live_places, walk

if TYPE_CHECKING:
    import asyncio


@dataclass(frozen=True)
class TaskInfo:
    """A task pending now that was not before."""

    coroutine: str
    name: str
    created: tuple[Frame, ...] = ()
    inside: Frame | None = None  # the library or asyncio frame beneath the creating project line
    waiting_at: Frame | None = None

    def __repr__(self) -> str:
        where = f" created at {self.created[0].file}:{self.created[0].line}" if self.created else ""
        return f"<TaskInfo {self.name!r} coroutine={self.coroutine}{where}>"

    def to_dict(self) -> dict[str, object]:
        return {
            "coroutine": self.coroutine,
            "name": self.name,
            "created": frames_to_dict(self.created),
            "inside": self.inside.to_dict() if self.inside else None,
            "waiting_at": self.waiting_at.to_dict() if self.waiting_at else None,
        }


class TaskOrigins:
    """While active, remember the stack of every task created on ``loop``."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, depth: int = STACK_DEPTH, debug: bool = False
    ) -> None:
        self.loop = loop
        self.debug = debug
        self.depth = depth
        self._sites: weakref.WeakKeyDictionary[asyncio.Task[Any], Site] = weakref.WeakKeyDictionary()
        self._before: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self._previous: Any = None
        self._debug: tuple[bool, float] = (False, 0.0)

    def __enter__(self) -> TaskOrigins:
        import asyncio

        previous = self._previous = self.loop.get_task_factory()
        sites = self._sites

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **options: Any) -> asyncio.Future[Any]:
            made = previous(loop, coro, **options) if previous else asyncio.Task(coro, loop=loop, **options)
            site = walk(live_places(sys._getframe(1)))
            if site is not None and isinstance(made, asyncio.Task):  # None: the harness's own task
                sites[made] = site
            return made

        self._before = weakref.WeakSet(asyncio.all_tasks(self.loop))
        self.loop.set_task_factory(factory)
        self._debug = (self.loop.get_debug(), self.loop.slow_callback_duration)
        if self.debug:
            self.loop.set_debug(True)
            self.loop.slow_callback_duration = float("inf")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.loop.is_closed():
            self.loop.set_task_factory(self._previous)
            self.loop.set_debug(self._debug[0])
            self.loop.slow_callback_duration = self._debug[1]

    def leaked_tasks(self) -> Findings[TaskInfo]:
        """Tasks not done now that were not pending on entry."""
        import asyncio

        found = []
        for task in asyncio.all_tasks(self.loop):
            if task in self._before:
                continue
            site = self._sites.get(task)
            found.append(
                TaskInfo(
                    coroutine=_coroutine_name(task),
                    name=task.get_name(),
                    created=site.stack(self.depth) if site else (),
                    inside=site.inside() if site else None,
                    waiting_at=_waiting_at(task),
                )
            )
        return Findings(tuple(sorted(found, key=lambda t: (t.coroutine, t.name))))


def _coroutine_name(task: asyncio.Task[Any]) -> str:
    """``module.qualname`` of the coroutine the task runs."""
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", None) or type(coro).__qualname__
    frame = getattr(coro, "cr_frame", None)
    module = frame.f_globals.get("__name__") if frame is not None else None
    return f"{module}.{name}" if module else str(name)


def _waiting_at(task: asyncio.Task[Any]) -> Frame | None:
    """The line the task's own coroutine is suspended at."""
    stack = task.get_stack(limit=1)
    return Frame(stack[-1].f_code.co_filename, stack[-1].f_lineno) if stack else None

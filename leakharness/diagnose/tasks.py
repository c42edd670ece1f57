"""Leaked asyncio tasks: the coroutine each runs, where it waits, and the
stack that created it.

While active, ``TaskOrigins`` wraps the loop's task factory (any factory
already set keeps making the tasks) and remembers each new task's creation
stack; the previous factory is put back on exit. Only the locate phase
installs it: a stack per task would slow every detection cycle.
"""

from __future__ import annotations

import os
import sys
import weakref
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from leakharness.diagnose.findings import STACK_DEPTH, Findings, frames_to_dict
from leakharness.frames import Frame, Origin, origin

if TYPE_CHECKING:
    import asyncio


@dataclass(frozen=True)
class TaskInfo:
    """A task pending now that was not before."""

    coroutine: str
    name: str
    created: tuple[Frame, ...] = ()
    waiting_at: Frame | None = None

    def __repr__(self) -> str:
        where = f" created at {self.created[0].file}:{self.created[0].line}" if self.created else ""
        return f"<TaskInfo {self.name!r} coroutine={self.coroutine}{where}>"

    def to_dict(self) -> dict[str, object]:
        return {
            "coroutine": self.coroutine,
            "name": self.name,
            "created": frames_to_dict(self.created),
            "waiting_at": self.waiting_at.to_dict() if self.waiting_at else None,
        }


class TaskOrigins:
    """While active, remember the stack of every task created on ``loop``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, depth: int = STACK_DEPTH) -> None:
        self.loop = loop
        self.depth = depth
        self._stacks: weakref.WeakKeyDictionary[asyncio.Task[Any], tuple[Frame, ...]] = (
            weakref.WeakKeyDictionary()
        )
        self._before: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self._previous: Any = None

    def __enter__(self) -> TaskOrigins:
        import asyncio

        previous = self._previous = self.loop.get_task_factory()
        stacks, depth, skip = self._stacks, self.depth, _asyncio_dir()

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **options: Any) -> asyncio.Future[Any]:
            made = previous(loop, coro, **options) if previous else asyncio.Task(coro, loop=loop, **options)
            if isinstance(made, asyncio.Task):
                stacks[made] = _creation_stack(sys._getframe(1), depth, skip)
            return made

        self._before = weakref.WeakSet(asyncio.all_tasks(self.loop))
        self.loop.set_task_factory(factory)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.loop.is_closed():
            self.loop.set_task_factory(self._previous)

    def leaked_tasks(self) -> Findings[TaskInfo]:
        """Tasks not done now that were not pending on entry."""
        import asyncio

        found = [
            TaskInfo(
                coroutine=_coroutine_name(task),
                name=task.get_name(),
                created=self._stacks.get(task, ()),
                waiting_at=_waiting_at(task),
            )
            for task in asyncio.all_tasks(self.loop)
            if task not in self._before
        ]
        return Findings(tuple(sorted(found, key=lambda t: (t.coroutine, t.name))))


def _asyncio_dir() -> str:
    import asyncio

    return os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep


def _creation_stack(frame: FrameType | None, depth: int, skip: str) -> tuple[Frame, ...]:
    """The creating frames, innermost first: from the first outside asyncio and
    the harness out to the harness frame that ran the cycle, without the
    standard-library frames just below it."""
    frames: list[Frame] = []
    while frame is not None and len(frames) < depth:
        file = frame.f_code.co_filename
        if file.startswith(skip) or origin(file) is Origin.HARNESS:
            if frames:
                break
        else:
            frames.append(Frame(file, frame.f_lineno))
        frame = frame.f_back
    while len(frames) > 1 and origin(frames[-1].file) is Origin.STDLIB:
        frames.pop()
    return tuple(frames)


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

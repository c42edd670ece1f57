"""Leaked threads: name, target, and the stack where each was started.

Idents are compared by number, so an old one reused by a new thread is not listed.
"""

from __future__ import annotations

import functools
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType, MethodType, TracebackType

from leakharness.diagnose.findings import STACK_DEPTH, Findings, frames_to_dict
from leakharness.frames import Frame, Origin, origin


@dataclass(frozen=True)
class ThreadInfo:
    """A thread alive now that was not before."""

    name: str
    ident: int
    daemon: bool
    target: str | None
    start_stack: tuple[Frame, ...] = ()

    def __repr__(self) -> str:
        where = (
            f" started at {self.start_stack[0].file}:{self.start_stack[0].line}" if self.start_stack else ""
        )
        daemon = " daemon" if self.daemon else ""
        return f"<ThreadInfo {self.name!r}{daemon} target={self.target}{where}>"

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ident": self.ident,
            "daemon": self.daemon,
            "target": self.target,
            "start_stack": frames_to_dict(self.start_stack),
        }


class ThreadOrigins:
    """While active, remember the stack of every ``threading.Thread.start()``.

    The method is patched on the class, so subclasses and ``super().start()``
    are caught too; the original is put back on exit. Activations must nest.
    """

    def __init__(self, depth: int = STACK_DEPTH) -> None:
        self.depth = depth
        self._stacks: weakref.WeakKeyDictionary[threading.Thread, tuple[Frame, ...]] = (
            weakref.WeakKeyDictionary()
        )
        self._original: Callable[[threading.Thread], None] | None = None

    def __enter__(self) -> ThreadOrigins:
        original = threading.Thread.start
        stacks, depth = self._stacks, self.depth

        @functools.wraps(original)
        def start(thread: threading.Thread) -> None:
            stack = _caller_stack(sys._getframe(1), depth)
            original(thread)
            stacks[thread] = stack

        self._original = original
        threading.Thread.start = start  # type: ignore[method-assign, assignment]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._original is not None:
            threading.Thread.start = self._original  # type: ignore[method-assign, assignment]
            self._original = None

    def stack(self, thread: threading.Thread) -> tuple[Frame, ...]:
        """Where ``thread`` was started, innermost first; () if not seen."""
        return self._stacks.get(thread, ())

    def leaked_threads(self, before: set[int]) -> Findings[ThreadInfo]:
        return leaked_threads(before, self)


def thread_idents() -> set[int]:
    """Idents of the threads alive now."""
    return {thread.ident for thread in threading.enumerate() if thread.ident is not None}


def leaked_threads(before: set[int], origins: ThreadOrigins | None = None) -> Findings[ThreadInfo]:
    """Threads alive now whose ident is not in ``before``. Only threads that
    Python knows: a thread a C library starts and never enters Python is missed."""
    found = []
    for thread in threading.enumerate():
        if thread.ident is None or thread.ident in before:
            continue
        found.append(
            ThreadInfo(
                name=thread.name,
                ident=thread.ident,
                daemon=thread.daemon,
                target=_target_name(thread),
                start_stack=origins.stack(thread) if origins else (),
            )
        )
    return Findings(tuple(found))


def _caller_stack(frame: FrameType | None, depth: int) -> tuple[Frame, ...]:
    """The caller's frames, innermost first, from the first outside the harness
    and ``threading`` up to the harness frame that ran the cycle, without the
    standard-library frames (unittest's) just below it."""
    frames: list[Frame] = []
    while frame is not None and len(frames) < depth:
        file = frame.f_code.co_filename
        if file == threading.__file__ or origin(file) is Origin.HARNESS:
            if frames:
                break
        else:
            frames.append(Frame(file, frame.f_lineno))
        frame = frame.f_back
    while len(frames) > 1 and origin(frames[-1].file) is Origin.STDLIB:
        frames.pop()
    return tuple(frames)


def _target_name(thread: threading.Thread) -> str | None:
    """The callable the thread runs: ``Thread._target`` (removed once run()
    returns), or an overridden ``run``."""
    target = getattr(thread, "_target", None)
    if target is not None:
        return qualified_name(target)
    run = type(thread).run
    return qualified_name(run) if run is not threading.Thread.run else None


def qualified_name(func: object) -> str:
    """``module.qualname`` of a callable, through partials and bound methods."""
    while isinstance(func, (functools.partial, MethodType)):
        func = func.func if isinstance(func, functools.partial) else func.__func__
    qualname = getattr(func, "__qualname__", None)
    if not isinstance(qualname, str):
        qualname = f"{type(func).__qualname__} instance"
        func = type(func)
    module = getattr(func, "__module__", None)
    return f"{module}.{qualname}" if module else qualname

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
from types import MethodType, TracebackType

from leakharness.diagnose.findings import STACK_DEPTH, Findings, frames_to_dict
from leakharness.frames import Frame, Site, live_places, walk


@dataclass(frozen=True)
class ThreadInfo:
    """A thread alive now that was not before."""

    name: str
    ident: int
    daemon: bool
    target: str | None
    start_stack: tuple[Frame, ...] = ()
    inside: Frame | None = None

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
            "inside": self.inside.to_dict() if self.inside else None,
        }


class ThreadOrigins:
    """While active, remember the stack of every ``threading.Thread.start()``.

    The method is patched on the class, so subclasses and ``super().start()``
    are caught too; the original is put back on exit. Activations must nest.
    """

    def __init__(self, depth: int = STACK_DEPTH) -> None:
        self.depth = depth
        self._sites: weakref.WeakKeyDictionary[threading.Thread, Site] = weakref.WeakKeyDictionary()
        self._original: Callable[[threading.Thread], None] | None = None

    def __enter__(self) -> ThreadOrigins:
        original = threading.Thread.start
        sites = self._sites

        @functools.wraps(original)
        def start(thread: threading.Thread) -> None:
            site = walk(live_places(sys._getframe(1)))
            original(thread)
            if site is not None:
                sites[thread] = site

        self._original = original
        threading.Thread.start = start  # type: ignore[method-assign, assignment]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._original is not None:
            threading.Thread.start = self._original  # type: ignore[method-assign, assignment]
            self._original = None

    def site(self, thread: threading.Thread) -> Site | None:
        """Where ``thread`` was started, charged to the innermost project
        frame (beneath it, the library or stdlib frame that called ``start()``);
        None if not seen."""
        return self._sites.get(thread)


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
        site = origins.site(thread) if origins else None
        found.append(
            ThreadInfo(
                name=thread.name,
                ident=thread.ident,
                daemon=thread.daemon,
                target=_target_name(thread),
                start_stack=site.stack(origins.depth) if site and origins else (),
                inside=site.inside() if site else None,
            )
        )
    return Findings(tuple(found))


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

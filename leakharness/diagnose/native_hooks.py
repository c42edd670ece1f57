"""Line hooks for the native ledger: ``sys.monitoring`` on 3.12+, a trace function before.

Both tell the ledger, in the examining thread only, when a line of project
code starts, when such a line calls something (3.12+: every callable; 3.10
and 3.11: Python functions outside the project, as a trace function sees no
C call), and when a project function returns, so that what runs afterwards
is charged to the line its caller is on. Outside the project nothing is
traced: ``sys.monitoring`` disables its events there, the trace function
returns no local tracer. Whatever hook was there before is put back.
"""

from __future__ import annotations

import sys
import threading
from types import CodeType, FrameType, TracebackType
from typing import Any

from leakharness.diagnose.native_ledger import Key, Ledger, is_project
from leakharness.errors import LeakHarnessError
from leakharness.frames import Origin, origin

TOOL_IDS = (3, 4, 2)  # sys.monitoring ids nobody claims by default, then the profiler's


def _resumed(frame: FrameType | None) -> tuple[Key | None, FrameType | None]:
    """The key to charge once control is back in ``frame``: the innermost
    project frame's line, with the function outside the project it had called."""
    callee = ""
    while frame is not None:
        filename = frame.f_code.co_filename
        if is_project(filename):
            return ((filename, frame.f_lineno), callee), frame
        if origin(filename) is Origin.HARNESS:
            break
        callee = frame.f_code.co_name
        frame = frame.f_back
    return None, None


class LineHooks:
    """Feeds ``ledger`` from the project code the current thread runs."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._thread = threading.get_ident()
        self._tool: int | None = None
        self._previous: Any = None
        self._at: FrameType | None = None

    def __enter__(self) -> LineHooks:
        if sys.version_info >= (3, 12):
            self._start_monitoring()
        else:
            self._previous = sys.gettrace()
            sys.settrace(self._global)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if sys.version_info >= (3, 12):
            self._stop_monitoring()
        else:
            sys.settrace(self._previous)
        self._at = None

    def _resume(self, frame: FrameType | None) -> None:
        key, self._at = _resumed(frame)
        self._ledger.switch(key, self._at)

    # 3.10 and 3.11: a trace function.

    def _global(self, frame: FrameType, event: str, arg: object) -> Any:
        if is_project(frame.f_code.co_filename):
            return self._local
        caller = frame.f_back
        if caller is not None and caller is self._at:  # the running project line calls into a library
            self._ledger.switch(((caller.f_code.co_filename, caller.f_lineno), frame.f_code.co_name), caller)
        return None

    def _local(self, frame: FrameType, event: str, arg: object) -> Any:
        if event == "line":
            self._at = frame
            self._ledger.switch(((frame.f_code.co_filename, frame.f_lineno), ""), frame)
        elif event == "return":
            self._resume(frame.f_back)
        return self._local

    # 3.12 and later: sys.monitoring, local events disabled outside the project.

    if sys.version_info >= (3, 12):

        def _start_monitoring(self) -> None:
            monitoring = sys.monitoring
            free = [tool for tool in TOOL_IDS if monitoring.get_tool(tool) is None]
            if not free:
                raise LeakHarnessError("no free sys.monitoring tool id for native attribution")
            self._tool = tool = free[0]
            events = monitoring.events
            monitoring.use_tool_id(tool, "leakharness")
            monitoring.register_callback(tool, events.LINE, self._on_line)
            monitoring.register_callback(tool, events.CALL, self._on_call)
            monitoring.register_callback(tool, events.PY_RETURN, self._on_return)
            monitoring.register_callback(tool, events.PY_YIELD, self._on_return)
            monitoring.register_callback(tool, events.PY_UNWIND, self._on_unwind)
            monitoring.set_events(
                tool, events.LINE | events.CALL | events.PY_RETURN | events.PY_YIELD | events.PY_UNWIND
            )

        def _stop_monitoring(self) -> None:
            tool = self._tool
            if tool is None:
                return
            monitoring = sys.monitoring
            monitoring.set_events(tool, monitoring.events.NO_EVENTS)
            for event in (
                monitoring.events.LINE,
                monitoring.events.CALL,
                monitoring.events.PY_RETURN,
                monitoring.events.PY_YIELD,
                monitoring.events.PY_UNWIND,
            ):
                monitoring.register_callback(tool, event, None)
            monitoring.free_tool_id(tool)
            self._tool = None

        def _on_line(self, code: CodeType, line: int) -> Any:
            if not is_project(code.co_filename):
                return sys.monitoring.DISABLE
            if threading.get_ident() == self._thread:
                self._at = sys._getframe(1)
                self._ledger.switch(((code.co_filename, line), ""), self._at)
            return None

        def _on_call(self, code: CodeType, offset: int, called: object, arg0: object) -> Any:
            if not is_project(code.co_filename):
                return sys.monitoring.DISABLE
            if threading.get_ident() == self._thread:
                self._at = frame = sys._getframe(1)
                # A callable without a name (a ctypes prototype's instance such as
                # ctypes.memset, a functools.partial) is no known callee: the line's
                # spelling names it then, as before 3.12 (its class read `CFunctionType`).
                name = getattr(called, "__name__", "")
                self._ledger.switch(((code.co_filename, frame.f_lineno), str(name)), frame)
            return None

        def _on_return(self, code: CodeType, offset: int, value: object) -> Any:
            if not is_project(code.co_filename):
                return sys.monitoring.DISABLE
            if threading.get_ident() == self._thread:
                self._resume(sys._getframe(1).f_back)
            return None

        def _on_unwind(self, code: CodeType, offset: int, error: BaseException) -> None:
            if is_project(code.co_filename) and threading.get_ident() == self._thread:
                self._resume(sys._getframe(1).f_back)

"""Where descriptors that no Python object owns appeared: the project line
that was running (``os.open()``, ``os.pipe()``, C code, subprocess plumbing).

While active, a trace function follows the project's own frames in this
thread (library and stdlib frames are not traced) and, at each call and
return and after each calling line of the functions it has marked, asks the
kernel for the lowest free descriptor number (a dup and a close). Every open
takes the lowest free number, so the number moves whenever a descriptor
appears; on leaving a marked function or the project's outermost one, and
after a marked line that called something, the listed numbers are compared
too (a library may open many and keep one above those it closes, leaving the
lowest where it was). Only on a change is the table read again. A new
descriptor (a number not open before, or open on another file, pipe or socket)
found while a marked function ran is charged to its line; found while an
unmarked one ran, it marks that function, so that from the next cycle on its
lines are checked too: the locate phase repeats the cycle. Once every place
charged has been charged twice, the following stops: later cycles would only
repeat them.

Under tracemalloc a trace call costs about 5 µs, so following a function's
lines makes a loop in the project's own lines about 10 times slower; with
the following stopped after a few cycles, the locate phase's traced cycles
took 2.2 times as long on such a loop and 1.1 times on a cycle spent in the
standard library (scripts/bench_fd_births.py).

Missed: descriptors opened at a chosen number (``dup2``), by other threads,
or on a file that the same number had open before it was closed unseen.
"""

from __future__ import annotations

import dis
import os
import sys
from itertools import chain
from types import CodeType, FrameType, TracebackType
from typing import Any

from leakharness.diagnose.fds import Identity, fd_identities, listed_fds
from leakharness.frames import Origin, Site, live_places, origin, walk

TraceFunction = Any  # sys.settrace's callback type is private to typeshed
ENOUGH = 2  # precise looks before following may stop


class FdBirths:
    """While active, ``sites`` maps each descriptor that appeared to where."""

    def __init__(self) -> None:
        self.sites: dict[int, Site] = {}
        self.note = ""
        self._probe = -1
        self._lowest = -1
        self._known: dict[int, Identity] = {}
        self._numbers: set[int] = set()
        # Running since the last check: a frame and its line, or line 0 for
        # somewhere in a frame whose lines are not followed.
        self._frame: FrameType | None = None
        self._line = 0
        self._entered = 0  # the bytecode offset the line was entered at
        self._marked: dict[CodeType, _Calls] = {}  # followed functions
        self._stepper = self._step  # bound once: a bound method made per event costs an allocation
        self._charged: dict[tuple[str, int], int] = {}  # looks that charged each place

    def __enter__(self) -> FdBirths:
        if sys.gettrace() is not None:
            self.note = (
                "a trace function (a debugger, coverage) is set: descriptors no object owns have no line"
            )
            return self
        if not listed_fds():
            return self  # descriptors cannot be listed here
        self._probe = os.open(os.devnull, os.O_RDONLY)
        self._known = fd_identities()
        self._numbers = set(self._known)
        self._lowest = self._lowest_free()
        sys.settrace(self._call)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._probe < 0:
            return
        if sys.gettrace() == self._call:
            sys.settrace(None)
        try:
            os.close(self._probe)
        except OSError:
            pass  # the cycle closed it
        self._probe, self._frame = -1, None
        self._marked.clear()

    def _lowest_free(self) -> int:
        try:
            duplicate = os.dup(self._probe)
        except OSError:  # the cycle closed the probe: stop, without an error in the cycle
            sys.settrace(None)
            return self._lowest
        os.close(duplicate)
        return duplicate

    def _changed(self, thorough: bool) -> bool:
        """Whether descriptors appeared or went since the last look: the lowest
        free number moved, or (``thorough``) the numbers open differ, for
        code that opens many and closes all but one at a higher number (sh
        leaves a pipe above the ones it closed: the lowest stays put)."""
        lowest = self._lowest_free()
        if lowest != self._lowest:
            return True
        return thorough and listed_fds() - {lowest} != self._numbers  # the read's own fd took the lowest

    def _call(self, frame: FrameType, event: str, arg: object) -> TraceFunction:
        """Follow a new frame only if it is the project's; its lines only if marked."""
        if origin(frame.f_code.co_filename) is not Origin.PROJECT:
            return None
        if self._changed(thorough=False):
            self._look()
        frame.f_trace_lines = frame.f_code in self._marked
        self._frame, self._line = frame, frame.f_lineno if frame.f_trace_lines else 0
        return self._stepper

    def _step(self, frame: FrameType, event: str, arg: object) -> TraceFunction:
        if event == "line":
            # A line that called nothing opened nothing: no check after it.
            called = frame is self._frame and self._marked[frame.f_code].after(self._entered)
            if (called or frame is not self._frame) and self._changed(thorough=called):
                self._look()
            self._frame, self._line, self._entered = frame, frame.f_lineno, frame.f_lasti
        elif event == "return":
            # Thorough on leaving a followed function or the project's outermost one.
            back = frame.f_back
            outermost = back is None or origin(back.f_code.co_filename) is not Origin.PROJECT
            if self._changed(thorough=frame.f_trace_lines or outermost):
                self._look()
            self._resume(back)
        return self._stepper

    def _resume(self, frame: FrameType | None) -> None:
        """After a return into ``frame``: its calling line runs on."""
        self._frame = frame
        if frame is None:
            return
        followed = frame.f_trace_lines or origin(frame.f_code.co_filename) is not Origin.PROJECT
        self._line = frame.f_lineno if followed else 0

    def _look(self) -> None:
        """Charge the descriptors that appeared since the last check to the
        line that ran, or mark the function that ran for its lines."""
        self._lowest = self._lowest_free()
        now = fd_identities()
        new = [fd for fd, identity in now.items() if self._known.get(fd) != identity]
        for fd in self._known.keys() - now.keys():
            del self._known[fd]
        self._known.update((fd, now[fd]) for fd in new)  # the rest of ``now`` is freed: not traced
        self._numbers = set(now)
        frame = self._frame
        if not new or frame is None:
            return
        if not self._line:
            self._marked[frame.f_code] = _Calls(frame.f_code)
            return
        site = walk(chain([(frame.f_code.co_filename, self._line)], live_places(frame.f_back)))
        if site is None:
            return
        self.sites.update(dict.fromkeys(new, site))
        self._charged[site.place] = self._charged.get(site.place, 0) + 1
        if sum(self._charged.values()) >= ENOUGH and min(self._charged.values()) >= 2:
            sys.settrace(None)  # each place seen twice: the cycles that follow would repeat them


class _Calls:
    """Where a function calls something (or imports, or enters a ``with``):
    only running such an instruction can open a descriptor."""

    def __init__(self, code: CodeType) -> None:
        self._offsets = [
            instruction.offset
            for instruction in dis.get_instructions(code)
            if instruction.opname.startswith(("CALL", "PRECALL")) or instruction.opname in _CALLING
        ]
        self._ranges: list[tuple[int, int, int | None]] = []  # consecutive ranges of a line merged
        for start, end, line in code.co_lines():
            if self._ranges and self._ranges[-1][2] == line and self._ranges[-1][1] == start:
                start = self._ranges.pop()[0]
            self._ranges.append((start, end, line))
        self._after: dict[int, bool] = {}

    def after(self, entered: int) -> bool:
        """Whether a line entered at offset ``entered`` can have called
        something before leaving: a call at or after it, on the same line
        (a loop's header is entered again past its first call)."""
        known = self._after.get(entered)
        if known is None:
            end = next((end for start, end, _ in self._ranges if start <= entered < end), entered)
            known = self._after[entered] = any(entered <= offset < end for offset in self._offsets)
        return known


_CALLING = frozenset({"IMPORT_NAME", "BEFORE_WITH", "SETUP_WITH", "BEFORE_ASYNC_WITH", "SETUP_ASYNC_WITH"})

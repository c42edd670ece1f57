"""Per-line process memory of one cycle, for leaks tracemalloc cannot see.

memory_profiler's line profiler reads the resident set size at every line
event of the profiled function (and of the functions nested in it), so an
allocation made by a C extension is charged to the line that called it. It
works through ``sys.settrace``: the previous trace function is put back
afterwards, also when the cycle raises. Every traced line costs a psutil
read, so profile one cycle, not a loop of them.
"""

from __future__ import annotations

import functools
import inspect
import linecache
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, FunctionType, MethodType
from typing import Any

from leakharness.diagnose.findings import Findings


@dataclass(frozen=True)
class LineUsage:
    """How much resident memory one line added while the cycle ran."""

    file: str
    line: int
    source: str
    increment_mib: float
    occurrences: int

    def __repr__(self) -> str:
        return (
            f"<LineUsage {self.file}:{self.line} {self.increment_mib:+.1f} MiB "
            f"x{self.occurrences}: {self.source!r}>"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "source": self.source,
            "increment_mib": self.increment_mib,
            "occurrences": self.occurrences,
        }


def line_memory_profile(func: Callable[..., object], *args: object, **kwargs: object) -> Findings[LineUsage]:
    """Call ``func(*args, **kwargs)`` once and report the memory increment of
    each line run in the Python function it resolves to (through partials,
    bound methods, ``__wrapped__`` and ``__call__``), in line order. When no
    such function with a source file is found, ``func`` is not called and the
    result is empty, with a note. Exceptions from ``func`` propagate."""
    code = code_of(func)
    if code is None:
        return Findings(notes=(f"no Python function to profile in {func!r}",))
    try:
        from memory_profiler import LineProfiler
    except ImportError:
        return Findings(notes=("memory_profiler is not installed: no per-line memory",))
    if not os.path.exists(code.co_filename):
        return Findings(notes=(f"no source file for {code.co_name}: {code.co_filename}",))
    profiler = LineProfiler(backend="psutil")
    try:
        inspect.getsourcelines(code)  # what CodeMap.add needs; it raises OSError
        profiler.code_map.add(code)
    except OSError as err:
        return Findings(notes=(f"no source for {code.co_name}: {err}",))
    _run_traced(profiler, func, args, kwargs)
    # The ``def`` line carries the whole process's memory, not an increment.
    return Findings(tuple(u for u in _usages(profiler) if u.line != code.co_firstlineno))


def code_of(func: object, limit: int = 16) -> CodeType | None:
    """The code of the Python function that calling ``func`` runs, if any."""
    for _ in range(limit):
        if hasattr(func, "__wrapped__"):  # a decorator's wrapper: profile the decorated function
            func = func.__wrapped__
        elif isinstance(func, FunctionType):
            return func.__code__
        elif isinstance(func, functools.partial):
            func = func.func
        elif isinstance(func, MethodType):
            func = func.__func__
        elif isinstance(inspect.getattr_static(type(func), "__call__", None), FunctionType):
            func = inspect.getattr_static(type(func), "__call__")
        else:
            return None
    return None


def _run_traced(
    profiler: Any, func: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    previous = sys.gettrace()
    try:
        profiler.enable_by_count()
        func(*args, **kwargs)
    finally:
        profiler.disable_by_count()
        sys.settrace(previous)


def _usages(profiler: Any) -> list[LineUsage]:
    usages = []
    for filename, lines in profiler.code_map.items():
        for line, measure in lines:
            if measure is None:
                continue
            increment, _peak, occurrences = measure
            source = linecache.getline(filename, line).strip()
            usages.append(LineUsage(filename, line, source, float(increment), int(occurrences)))
    return usages

"""Where a source file belongs, and the one walk that says which frame to report.

Four origins: the harness; the standard library; installed libraries
(site-packages, dist-packages, purelib and platlib); and the project under
test, which is everything else plus any root declared with
:func:`add_project_root` (a target that is itself an installed package).
A site is charged to the innermost project frame of its stack and names the
innermost frame beneath it, in a library or the standard library.
"""

from __future__ import annotations

import functools
import linecache
import os
import sysconfig
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import FrameType
from typing import NamedTuple, TypeVar

_PACKAGE_DIR = str(Path(__file__).resolve().parent) + os.sep
_LIBRARY_MARKS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")


class Origin(Enum):
    PROJECT = "project"
    LIBRARY = "library"
    STDLIB = "stdlib"
    HARNESS = "harness"


def _folders(*keys: str) -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple(sorted({os.path.realpath(paths[key]) + os.sep for key in keys if key in paths}))


_STDLIB = _folders("stdlib", "platstdlib")
_LIBRARIES = _folders("purelib", "platlib")
_project_roots: tuple[str, ...] = ()


def add_project_root(path: str | os.PathLike[str]) -> None:
    """Count the files under ``path`` as project code from now on, even inside
    site-packages: for hunting an installed package's own tests."""
    global _project_roots
    real = os.path.realpath(path)
    root = real + os.sep if os.path.isdir(real) else real
    if root not in _project_roots:
        _project_roots = (*_project_roots, root)
        origin.cache_clear()


@functools.lru_cache(maxsize=256)
def _real_path(file: str) -> str:
    """``os.path.realpath``, once per file: it makes one ``lstat`` call per
    path component, and locating an unclosed file's leak walked 369 stacks
    (2,078 ``lstat`` calls: half the time of ``check`` on a loaded machine)."""
    return os.path.realpath(file)


@functools.lru_cache(maxsize=4096)
def origin(filename: str) -> Origin:
    """Classify ``filename`` as it appears in a traceback."""
    if filename.startswith("<"):
        # "<frozen importlib._bootstrap>", and "<string>": code that namedtuple
        # and dataclasses generate, charged to whoever calls it
        return Origin.STDLIB
    real = _real_path(filename)
    if real.startswith(_PACKAGE_DIR):
        return Origin.HARNESS
    if real.startswith(_project_roots) or real in _project_roots:
        return Origin.PROJECT
    if any(mark in real for mark in _LIBRARY_MARKS) or real.startswith(_LIBRARIES):
        return Origin.LIBRARY
    if real.startswith(_STDLIB):
        return Origin.STDLIB
    return Origin.PROJECT


def display_path(path: str) -> str:
    """``path`` for a report: relative to the working directory when below it,
    else from the stdlib or site-packages folder it lives in, else as it is."""
    if path.startswith("<"):
        return path
    real = _real_path(path)
    cwd = os.path.realpath(os.getcwd()) + os.sep
    if real.startswith(cwd):
        return real[len(cwd) :]
    for folder in (*_LIBRARIES, *_STDLIB):
        if real.startswith(folder):
            return f"{os.path.basename(folder.rstrip(os.sep))}/{real[len(folder) :]}"
    return path


@dataclass(frozen=True, order=True)
class Frame:
    """One frame of a traceback; its origin is decided when it is made."""

    file: str
    line: int
    origin: Origin = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "origin", origin(self.file))

    @property
    def source(self) -> str:
        return linecache.getline(self.file, self.line).strip()

    @property
    def place(self) -> str:
        return f"{display_path(self.file)}:{self.line}"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "source": self.source, "origin": self.origin.value}


# The harness functions that call the code under test, by file: a walk that
# reaches one of them from library or stdlib frames only has found a cycle
# that is itself library code; any other harness frame means the harness's own work.
_CALLERS: dict[str, set[range]] = {}
F = TypeVar("F", bound=Callable[..., object])


def calls_code_under_test(function: F) -> F:
    """Mark ``function`` (a harness function) as the one that runs a cycle."""
    code = function.__code__
    last = max((line for _, _, line in code.co_lines() if line is not None), default=code.co_firstlineno)
    _CALLERS.setdefault(os.path.realpath(code.co_filename), set()).add(range(code.co_firstlineno, last + 1))
    return function


def _runs_a_cycle(file: str, line: int) -> bool:
    return any(line in lines for lines in _CALLERS.get(_real_path(file), ()))


class Site(NamedTuple):
    """Where something happened: ``places`` innermost first, from the first
    frame out to the harness; ``charged`` indexes the frame to report."""

    places: tuple[tuple[str, int], ...]
    charged: int

    @property
    def place(self) -> tuple[str, int]:
        return self.places[self.charged]

    @property
    def in_project(self) -> bool:
        return origin(self.place[0]) is Origin.PROJECT

    def stack(self, depth: int | None = None) -> tuple[Frame, ...]:
        """The charged frame and its callers outward, at most ``depth``."""
        end = None if depth is None else self.charged + depth
        return tuple(Frame(file, line) for file, line in self.places[self.charged : end])

    def inside(self) -> Frame | None:
        """The innermost frame beneath the charged one (a library's or the
        standard library's), or None when the charged frame is the innermost."""
        return Frame(*self.places[0]) if self.charged else None


def walk(places: Iterable[tuple[str, int]]) -> Site | None:
    """The site of a stack given innermost first, read out to the first
    harness frame: charged to the innermost project frame, else to the
    innermost frame. None when the stack is the harness's own work: it starts
    in the harness, or reaches a harness frame that does not run a cycle
    without passing a project frame (a rich frame called by the harness).

    Stops at the harness, so a trace costs a few frames, not the whole
    traceback (half the locate phase's time before)."""
    seen: list[tuple[str, int]] = []
    kinds: list[Origin] = []
    for file, line in places:
        kind = origin(file)
        if kind is Origin.HARNESS:
            if Origin.PROJECT not in kinds and not _runs_a_cycle(file, line):
                return None
            _trim_the_runner(seen, kinds)
            break
        seen.append((file, line))
        kinds.append(kind)
    if not seen:
        return None
    charged = kinds.index(Origin.PROJECT) if Origin.PROJECT in kinds else 0
    return Site(tuple(seen), charged)


def _trim_the_runner(seen: list[tuple[str, int]], kinds: list[Origin]) -> None:
    """Drop the frames next to the harness that only run the test: those
    outward of the outermost project frame (unittest's, or pytest's and
    pluggy's: four library frames under every pytest test), else the
    standard library's next to a library cycle."""
    if Origin.PROJECT in kinds:
        kept = {Origin.PROJECT}
    elif any(k is not Origin.STDLIB for k in kinds):
        kept = {Origin.PROJECT, Origin.LIBRARY}
    else:
        return
    while kinds[-1] not in kept:
        kinds.pop()
        seen.pop()


def traceback_site(traceback: tracemalloc.Traceback) -> Site | None:
    """The site of an allocation's traceback (which lists the oldest frame first)."""
    return walk((frame.filename, frame.lineno) for frame in reversed(traceback))


def live_places(frame: FrameType | None) -> Iterator[tuple[str, int]]:
    """The places of a running stack, from ``frame`` outward."""
    while frame is not None:
        yield frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back

"""Who keeps a leaked object alive: the reference path from a root to a sample.

A breadth-first walk over ``gc.get_referrers`` (objgraph's) goes back from the
newest object of a growing type to the nearest root: a module, a class, a frame
that is executing now, or a thread-local; ``holder_steps`` then names the
chain step by step.

Objects moved to gc's permanent generation by ``gc.freeze()`` are not scanned
by ``gc.get_referrers`` (checked on CPython 3.11: a frozen module dict holding a
new object is not among its referrers), so a search made while the heap is
frozen misses holders created before the freeze: search after thawing.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
import threading
import types
from contextlib import redirect_stdout
from pathlib import Path

import objgraph

from leakharness.diagnose.findings import type_name
from leakharness.diagnose.holder_steps import Holder, frame_locals, steps
from leakharness.frames import Origin, origin

MAX_DEPTH = 12
# Each visit is one gc.get_referrers scan of the whole heap: 2.3 ms at 100k objects
# (measured), so a search that finds nothing stops within about half a second.
MAX_VISITS = 200


def find_holder(objects_of_type: list[object], max_depth: int = MAX_DEPTH) -> Holder | None:
    """The path from a root to the newest of ``objects_of_type`` (the last one),
    or None when there is no sample, no root within ``max_depth`` references,
    or the search visits more than ``MAX_VISITS`` objects."""
    if not objects_of_type:
        return None
    target = objects_of_type[-1]
    roots = _Roots(target, _harness_ids(sys._getframe()) | {id(objects_of_type)})
    chain = roots.chain(max_depth)
    if chain is None:
        return None
    return Holder(steps(chain, roots.held), type_name(target))


def render_graph(obj: object, path: Path) -> Path | None:
    """Draw the chain that holds ``obj`` (or, with none found, its referrers
    three levels up) into ``path``, whose suffix picks graphviz's format (.png,
    .svg, .dot); the .dot source is kept beside it. None when graphviz's
    ``dot`` is not on PATH or fails."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    roots = _Roots(obj, _harness_ids(sys._getframe()))
    chain = roots.chain(MAX_DEPTH)
    graph = io.StringIO()
    with redirect_stdout(io.StringIO()):
        if chain is None:
            objgraph.show_backrefs([obj], max_depth=3, extra_ignore=tuple(roots.ignore), output=graph)
        else:
            objgraph.show_chain(chain, output=graph)
    dot_path = path.with_suffix(".dot")
    dot_path.write_text(graph.getvalue(), encoding="utf-8")
    if path.suffix == ".dot":
        return path
    done = subprocess.run(
        [dot, f"-T{path.suffix[1:]}", "-o", str(path), str(dot_path)], capture_output=True, check=False
    )
    return path if done.returncode == 0 and path.exists() else None


def holder_picture(obj: object) -> bytes | None:
    """``render_graph`` of ``obj`` as PNG bytes, or None without graphviz."""
    with tempfile.TemporaryDirectory(prefix="leakharness-graph-") as folder:
        drawn = render_graph(obj, Path(folder) / "holder.png")
        return drawn.read_bytes() if drawn is not None else None


def _harness_ids(frame: types.FrameType | None) -> set[int]:
    """The ids of this call's frames in the harness: they hold the samples."""
    ids = set()
    while frame is not None:
        if origin(frame.f_code.co_filename) is Origin.HARNESS:
            ids.add(id(frame))
        frame = frame.f_back
    return ids


class _OutOfBudget(Exception):
    pass


class _Roots:
    """The root predicate of one search, and the variables of executing frames.

    An executing frame hides its variables from ``gc.get_referrers`` (CPython
    3.11 traverses a frame's locals only once the frame has finished), so the
    objects they hold are roots themselves, remembered with frame and name.
    Functions, classes and modules held by frames are left out: a module or
    class owns them, and pytest's frames hold every test function.
    """

    def __init__(self, target: object, ignore: set[int]) -> None:
        self.target = target
        self.frames = _live_frames(ignore)
        self.held = _frame_variables(self.frames)
        self.ignore = ignore | {id(self.frames), id(self.held), id(self.__dict__)}
        self.visits = 0

    def __call__(self, obj: object) -> bool:
        self.visits += 1
        if self.visits > MAX_VISITS:
            raise _OutOfBudget
        if id(obj) in self.held:
            return True
        return obj is not self.target and isinstance(obj, (types.ModuleType, type, threading.local))

    def chain(self, max_depth: int) -> list[object] | None:
        ignore = tuple(self.ignore | {id(sys._getframe())})
        try:
            chain = objgraph.find_backref_chain(self.target, self, max_depth=max_depth, extra_ignore=ignore)
        except _OutOfBudget:
            return None
        found = len(chain) > 1 or id(self.target) in self.held
        return chain if found else None


def _live_frames(ignore: set[int]) -> list[types.FrameType]:
    """Frames executing now in any thread, outside the harness and module level
    (a module's variables are its globals: the module is their root)."""
    frames = []
    for top in sys._current_frames().values():
        frame: types.FrameType | None = top
        while frame is not None:
            code = frame.f_code
            if (
                id(frame) not in ignore
                and code.co_name != "<module>"
                and origin(code.co_filename) is not Origin.HARNESS
            ):
                frames.append(frame)
            frame = frame.f_back
    return frames


def _frame_variables(frames: list[types.FrameType]) -> dict[int, tuple[types.FrameType, str]]:
    held: dict[int, tuple[types.FrameType, str]] = {}
    for frame in frames:
        variables = frame_locals(frame)
        if not isinstance(variables, dict) or variables is frame.f_globals:
            continue
        for name, value in variables.items():
            if not isinstance(value, (types.FunctionType, types.ModuleType, type)):
                held.setdefault(id(value), (frame, name))
    return held

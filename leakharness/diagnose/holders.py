"""Who keeps a leaked object alive: the reference path from a root to a sample.

A breadth-first walk over ``gc.get_referrers`` goes back from the newest
object of a growing type to the nearest root: a module, a class, a frame that
is executing now, or a thread-local; ``holder_steps`` then names the chain
step by step. Each scan of the heap looks for the referrers of a batch of one
level's objects at once (``BATCH``), not of one object at a time. A root in
the project under test is looked for first (with a quarter of the visits), so
that the chain a user can change wins over a nearer one through a library's
internals; any root comes after.

Objects moved to gc's permanent generation by ``gc.freeze()`` are not scanned
by ``gc.get_referrers`` (checked on CPython 3.11: a frozen module dict holding a
new object is not among its referrers), so a search made while the heap is
frozen misses holders created before the freeze: search after thawing.
"""

from __future__ import annotations

import gc
import io
import shutil
import subprocess
import sys
import tempfile
import threading
import types
from collections.abc import Callable, Iterable
from contextlib import redirect_stdout
from pathlib import Path

import objgraph

from leakharness.diagnose.findings import type_name
from leakharness.diagnose.holder_steps import Holder, steps
from leakharness.diagnose.object_origin import harness_own, is_a, is_any, object_origin
from leakharness.diagnose.references import frame_locals
from leakharness.frames import Origin, origin

MAX_DEPTH = 12
# A search that finds nothing stops after this many objects looked at.
MAX_VISITS = 200
# One gc.get_referrers scan of a 108k-object heap took 1.6 ms for one object,
# 2.4 ms for 20 and 3.7 ms for 50 at once (measured): the objects of a level
# are looked up in batches of this many.
BATCH = 32


def find_holder(
    objects_of_type: list[object], max_depth: int = MAX_DEPTH, *, besides: Iterable[object] = ()
) -> Holder | None:
    """The path from a root to the newest of ``objects_of_type`` (the last one),
    from a project root if one is near, or None when there is no sample, no
    root within ``max_depth`` references, or the search visits more than
    ``MAX_VISITS`` objects. ``besides`` are the caller's own containers that
    hold samples: never a holder. Collect garbage first: it refers to live
    objects too, and leads nowhere."""
    if not objects_of_type:
        return None
    target = objects_of_type[-1]
    ignore = _harness_ids(sys._getframe()) | {id(objects_of_type)} | {id(obj) for obj in besides}
    for project_only in (True, False):
        roots = _Roots(target, ignore, project_only)
        chain = roots.chain(max_depth)
        if chain is not None:
            library = sum(object_origin(obj) in _LIBRARIES for obj in chain[1:-1])
            root = roots.held[id(chain[0])][0] if id(chain[0]) in roots.held else chain[0]
            return Holder(
                steps(chain, roots.held), type_name(target), object_origin(root) is Origin.PROJECT, library
            )
    return None


_LIBRARIES = (Origin.LIBRARY, Origin.STDLIB)


def render_graph(obj: object, path: Path) -> Path | None:
    """Draw the chain that holds ``obj`` (or, with none found, its referrers
    three levels up) into ``path``, whose suffix picks graphviz's format (.png,
    .svg, .dot); the .dot source is kept beside it. None when graphviz's
    ``dot`` is not on PATH or fails."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    gc.collect()
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
    class owns them, and pytest's frames hold every test function. Closures
    are kept: nothing else owns them.
    """

    def __init__(self, target: object, ignore: set[int], project_only: bool = False) -> None:
        self.target = target
        self.project_only = project_only
        self.budget = MAX_VISITS // 4 if project_only else MAX_VISITS
        self.frames = _live_frames(ignore)
        self.held = _frame_variables(self.frames)
        # No way round through other modules: a library's module, or its namespace, is a dead
        # end. Its origin is looked up only when the walk meets it (every module's: 4 ms for 700).
        self.modules = _loaded_modules() if project_only else {}
        self.ignore = ignore | {id(self.frames), id(self.held), id(self.__dict__), id(self.modules)}
        if project_only:
            self.ignore.add(id(sys.modules))
        self.visits = 0

    def __call__(self, obj: object) -> bool:
        self.visits += 1
        if self.visits > self.budget:
            raise _OutOfBudget
        held = self.held.get(id(obj))
        if held is not None:
            return not self.project_only or object_origin(held[0]) is Origin.PROJECT
        if obj is self.target or not is_any(obj, (types.ModuleType, type, threading.local)):
            return False
        if not self.project_only:
            return True
        if is_a(obj, threading.local):  # a project's thread-local is one of its globals
            return any(
                object_origin(m) is Origin.PROJECT and _binds(m, obj) for m in list(sys.modules.values())
            )
        return object_origin(obj) is Origin.PROJECT

    def dead_end(self, obj: object) -> bool:
        """A module outside the project, or its namespace, when only project roots count."""
        module = self.modules.get(id(obj))
        return module is not None and object_origin(module) is not Origin.PROJECT

    def chain(self, max_depth: int) -> list[object] | None:
        """The path from the nearest root down to the target, or None."""
        try:
            chain = referrer_chain(self.target, self, max_depth, self.ignore, self.dead_end)
        except _OutOfBudget:
            return None
        return chain if chain and (len(chain) > 1 or id(self.target) in self.held) else None


def referrer_chain(
    target: object,
    is_root: Callable[[object], bool],
    max_depth: int,
    ignore: set[int],
    dead_end: Callable[[object], bool] = lambda obj: False,
) -> list[object] | None:
    """Breadth-first over referrers, a level at a time: the objects from the
    first root found (in the order of a walk of one object at a time) down to
    ``target``, or None when no root is within ``max_depth`` references.
    Objects whose ids are in ``ignore``, or that are a ``dead_end``, are not followed."""
    parent: dict[int, object] = {id(target): target}
    walk: list[object] = [parent]  # the walk's own containers, alive so that their ids stay theirs
    ours = ignore | {id(sys._getframe()), id(walk), id(parent)}  # parent: a referrer of the target
    level = [target]
    for depth in range(max_depth + 1):
        root = next((obj for obj in level if is_root(obj)), None)
        if root is not None:
            return _path(root, parent)
        if depth < max_depth:
            walk.append(level)
            ours.add(id(level))
            level = _next_level(level, parent, walk, ours, dead_end)
    return None


def _next_level(
    level: list[object],
    parent: dict[int, object],
    walk: list[object],
    ignore: set[int],
    dead_end: Callable[[object], bool],
) -> list[object]:
    """Every new referrer of ``level``'s objects, ordered by the first of them
    it refers to, which is recorded as its parent. The harness's own objects
    (a cycle's adapter, a report holding samples) lead to no user's root."""
    ignore.add(id(sys._getframe()))
    found: list[object] = []
    first: dict[int, int] = {}
    for start in range(0, len(level), BATCH):
        # A tuple: from a list, Python 3.13 makes one to pass, a referrer of the whole batch.
        batch = tuple(level[start : start + BATCH])
        referrers = gc.get_referrers(*batch)
        walk += (batch, referrers)
        ignore.update((id(batch), id(referrers)))
        places = {id(obj): index for index, obj in enumerate(batch)}
        for source in referrers:
            key = id(source)
            if key in ignore or key in parent or harness_own(source) or dead_end(source):
                continue
            alone = len(batch) == 1 and not is_a(source, types.FunctionType)
            offset = 0 if alone else _first_held(source, places)
            if offset is not None:
                first[key] = start + offset
                parent[key] = level[first[key]]
                found.append(source)
    walk.append(found)
    ignore.add(id(found))
    return sorted(found, key=lambda source: first[id(source)])


def _first_held(source: object, places: dict[int, int]) -> int | None:
    """The least index ``places`` (a batch's ids) gives of what ``source``
    refers to, or None. A function's globals are its module's, which the
    module holds: a closure reached through them would outrank the module
    itself. Only the batch is indexed: with a set of every referent's id, a
    search through a list of a million took 0.25 s and peaked at 79 MB
    traced; this way 0.10 s and 8.5 MB (measured)."""
    skipped = id(source.__globals__) if is_a(source, types.FunctionType) else None
    held = [places[key] for key in map(id, gc.get_referents(source)) if key in places and key != skipped]
    return min(held, default=None)


def _path(root: object, parent: dict[int, object]) -> list[object]:
    """``root`` and the parents after it, down to the walk's target."""
    chain = [root]
    while parent[id(chain[-1])] is not chain[-1]:
        chain.append(parent[id(chain[-1])])
    return chain


def _loaded_modules() -> dict[int, types.ModuleType]:
    """Each module of ``sys.modules``, by its id and by its namespace's."""
    found: dict[int, types.ModuleType] = {}
    for module in list(sys.modules.values()):
        found[id(module)] = module
        namespace = getattr(module, "__dict__", None)
        if is_a(namespace, dict):
            found[id(namespace)] = module
    return found


def _binds(module: types.ModuleType, obj: object) -> bool:
    return any(value is obj for value in list(vars(module).values()))


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
            if _closure(value) or not is_any(value, (types.FunctionType, types.ModuleType, type)):
                held.setdefault(id(value), (frame, name))
    return held


def _closure(value: object) -> bool:
    """A function made inside another (a cycle a factory returned): no module
    or class owns it, so the frame that holds it is its root."""
    return is_a(value, types.FunctionType) and "<locals>" in value.__qualname__

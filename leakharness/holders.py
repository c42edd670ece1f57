"""Who keeps a leaked object alive: the reference path from a root to a sample.

A breadth-first walk over ``gc.get_referrers`` (objgraph's) goes back from the
newest object of a growing type to the nearest root: a module, a class, a frame
that is executing now, or a thread-local. The chain is then named step by step
by how each object holds the next (global name, attribute, dict key, closure
variable), with the namespace dicts and closure tuples in between left out.

Objects moved to gc's permanent generation by ``gc.freeze()`` are not scanned
by ``gc.get_referrers`` (checked on CPython 3.11: a frozen module dict holding a
new object is not among its referrers), so a search made while the heap is
frozen misses holders created before the freeze: search after thawing.
"""

from __future__ import annotations

import gc
import io
import os
import reprlib
import shutil
import subprocess
import sys
import threading
import types
from collections.abc import Iterable
from contextlib import redirect_stdout
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import objgraph

from leakharness.findings import Findings
from leakharness.frames import Origin, origin

MAX_DEPTH = 12
# Each visit is one gc.get_referrers scan of the whole heap: 2.3 ms at 100k objects
# (measured), so a search that finds nothing stops within about half a second.
MAX_VISITS = 200
_REPR = reprlib.Repr()
_REPR.maxstring = 30
_REPR.maxother = 30


class HolderKind(Enum):
    """A step of a holder path: a root, or how the previous step holds this one."""

    MODULE = "module"
    CLASS = "class"
    FRAME = "frame"
    THREAD_LOCAL = "thread-local"
    GLOBAL = "global"
    CLASS_ATTRIBUTE = "class attribute"
    ATTRIBUTE = "attribute"
    KEY = "key"
    ITEM = "item"
    CLOSURE = "closure"
    LOCAL = "local"
    REFERENCE = "reference"

    @property
    def root(self) -> bool:
        return self in _ROOTS


_ROOTS = frozenset({HolderKind.MODULE, HolderKind.CLASS, HolderKind.FRAME, HolderKind.THREAD_LOCAL})


@dataclass(frozen=True)
class Step:
    """One object on the path, named by how the previous one holds it."""

    kind: HolderKind
    label: str

    def __repr__(self) -> str:
        return f"<Step {self.kind.value} {self.label!r}>"

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind.value, "label": self.label}


@dataclass(frozen=True)
class Holder:
    """The reference path from a root to a sample object of ``type_name``."""

    steps: tuple[Step, ...]
    type_name: str

    @property
    def path(self) -> str:
        return " → ".join(step.label for step in self.steps)

    @property
    def root(self) -> Step:
        return self.steps[0]

    def __repr__(self) -> str:
        return f"<Holder {self.type_name}: {self.path}>"

    def to_dict(self) -> dict[str, object]:
        return {"type": self.type_name, "path": self.path, "steps": [s.to_dict() for s in self.steps]}


def type_names(obj: object) -> tuple[str, str]:
    """``module.__name__`` (objgraph's ``typestats(shortnames=False)`` spelling)
    and ``module.__qualname__``; they differ for nested classes."""
    return _class_names(type(obj))


def _class_names(cls: type) -> tuple[str, str]:
    module = getattr(cls, "__module__", None)
    prefix = f"{module}." if module else ""
    return prefix + cls.__name__, prefix + cls.__qualname__


def _of_type(objects: list[object], type_name: str) -> list[object]:
    wanted = {cls for cls in set(map(type, objects)) if type_name in _class_names(cls)}
    return [obj for obj in objects if type(obj) in wanted]


def sample_of_type(type_name: str) -> list[object]:
    """The live gc-tracked objects of ``type_name``, roughly oldest first.

    New objects join the tail of generation 0 and survivors move on to older
    generations, so generation 2, 1, 0 in turn is about allocation order. A
    full collection (to drop garbage, which no root holds) merges and reorders
    the generations, so the order is read before it, by id.
    """
    by_age = _of_type([obj for generation in (2, 1, 0) for obj in gc.get_objects(generation)], type_name)
    ranks = {id(obj): rank for rank, obj in enumerate(by_age)}
    del by_age  # garbage among them must be free to go
    gc.collect()
    alive = _of_type(gc.get_objects(), type_name)
    alive.sort(key=lambda obj: ranks.get(id(obj), len(ranks)))
    return alive


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
    return Holder(_steps(chain, roots), type_names(target)[0])


def find_holders(names: Iterable[str], limit: int = 3, max_depth: int = MAX_DEPTH) -> Findings[Holder]:
    """The holder of a sample of each of the first ``limit`` type names, with a
    note for each type that has none and when a frozen heap hides holders."""
    holders: list[Holder] = []
    notes: list[str] = []
    if gc.get_freeze_count():
        notes.append(f"{gc.get_freeze_count()} objects frozen by gc.freeze() were not searched for holders")
    for name in list(names)[:limit]:
        holder = find_holder(sample_of_type(name), max_depth)
        if holder is None:
            notes.append(f"no holder of {name} found within {max_depth} references and {MAX_VISITS} objects")
        else:
            holders.append(holder)
    return Findings(tuple(holders), tuple(notes))


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
        variables = _frame_locals(frame)
        if not isinstance(variables, dict) or variables is frame.f_globals:
            continue
        for name, value in variables.items():
            if not isinstance(value, (types.FunctionType, types.ModuleType, type)):
                held.setdefault(id(value), (frame, name))
    return held


def _root_kind(obj: object) -> HolderKind:
    if isinstance(obj, types.ModuleType):
        return HolderKind.MODULE
    if isinstance(obj, type):
        return HolderKind.CLASS
    if isinstance(obj, types.FrameType):
        return HolderKind.FRAME
    return HolderKind.THREAD_LOCAL


def _noun(obj: object) -> str:
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}"
    if isinstance(obj, type):
        return f"class {obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, types.FrameType):
        code = obj.f_code
        return f"frame {code.co_name} ({os.path.basename(code.co_filename)}:{obj.f_lineno})"
    if isinstance(obj, threading.local):
        return f"thread-local {_global_name(obj)}".rstrip()
    if isinstance(obj, types.FunctionType):
        return f"function {obj.__qualname__}"
    if isinstance(obj, types.MethodType):
        return f"method {getattr(obj.__func__, '__qualname__', '?')}"
    return type(obj).__qualname__


def _label(obj: object, kind: HolderKind, name: str) -> str:
    noun = _noun(obj)
    if not name or name == getattr(obj, "__name__", None):
        return noun
    slot = f".{name}" if kind in (HolderKind.ATTRIBUTE, HolderKind.CLASS_ATTRIBUTE) else name
    if isinstance(obj, (types.FunctionType, types.MethodType)):
        word, _, qualname = noun.partition(" ")
        return f"{word} {slot} ({qualname})"
    return f"{noun} {slot}"


def _steps(chain: list[object], roots: _Roots) -> tuple[Step, ...]:
    first = chain[0]
    held = roots.held.get(id(first))
    if held is None:
        steps = [Step(_root_kind(first), _noun(first))]
    else:
        frame, name = held
        only = len(chain) == 1
        steps = [
            Step(HolderKind.FRAME, _noun(frame)),
            Step(
                HolderKind.LOCAL, type(first).__qualname__ if only else _label(first, HolderKind.LOCAL, name)
            ),
        ]
    at = 0
    while at < len(chain) - 1:
        at, kind, name = _reference(chain, at)
        target = at == len(chain) - 1
        steps.append(Step(kind, type(chain[at]).__qualname__ if target else _label(chain[at], kind, name)))
    return tuple(steps)


def _reference(chain: list[object], at: int) -> tuple[int, HolderKind, str]:
    """How ``chain[at]`` holds the next object worth naming: that object's
    index, the kind of reference, and its name."""
    holder, nxt = chain[at], chain[at + 1]
    after = at + 2 < len(chain)
    if isinstance(holder, threading.local) and at + 3 < len(chain) and isinstance(chain[at + 2], dict):
        # local -> {weakref to the thread's dummy: per-thread dict} -> per-thread dict -> value
        return at + 3, HolderKind.ATTRIBUTE, _key_of(chain[at + 2], chain[at + 3])
    if after and _is_namespace(holder, nxt):
        return at + 2, _namespace_kind(holder, nxt), _key_of(nxt, chain[at + 2])
    if isinstance(holder, types.FunctionType) and nxt is holder.__closure__ and at + 3 < len(chain):
        return at + 3, HolderKind.CLOSURE, _closure_name(holder, chain[at + 2])
    return at + 1, *_direct(holder, nxt)


def _direct(holder: object, held: object) -> tuple[HolderKind, str]:
    if isinstance(holder, dict):
        return HolderKind.KEY, _key_label(holder, held)
    if isinstance(holder, (list, tuple, set, frozenset)):
        return HolderKind.ITEM, ""
    if isinstance(holder, types.CellType):
        return HolderKind.CLOSURE, "(closure cell)"
    if isinstance(holder, types.FrameType):
        return HolderKind.LOCAL, _key_of(_frame_locals(holder), held)
    if isinstance(holder, (types.MethodType, types.FunctionType, type, types.ModuleType)):
        return HolderKind.REFERENCE, ""
    name = _attribute_of(holder, held)
    return (HolderKind.ATTRIBUTE if name else HolderKind.REFERENCE), name


def _is_namespace(holder: object, candidate: object) -> bool:
    if not isinstance(candidate, dict):
        return False
    if isinstance(holder, type):
        # A class's __dict__ is a new mappingproxy; the dict it wraps is its only referent.
        return any(inner is candidate for inner in gc.get_referents(_namespace(holder)))
    if isinstance(holder, types.FrameType):
        return candidate is holder.f_globals or candidate is _frame_locals(holder)
    return candidate is _namespace(holder)


def _namespace_kind(holder: object, namespace: object) -> HolderKind:
    if isinstance(holder, type):
        return HolderKind.CLASS_ATTRIBUTE
    if isinstance(holder, types.FrameType) and namespace is not holder.f_globals:
        return HolderKind.LOCAL
    if isinstance(holder, (types.ModuleType, types.FrameType)):
        return HolderKind.GLOBAL
    return HolderKind.ATTRIBUTE


def _global_name(obj: object) -> str:
    """``module.name`` of a module global bound to ``obj``, or ""."""
    for module in list(sys.modules.values()):
        name = _key_of(getattr(module, "__dict__", None), obj)
        if name:
            return f"{module.__name__}.{name}"
    return ""


def _namespace(obj: object) -> object:
    try:
        return object.__getattribute__(obj, "__dict__")
    except Exception:  # no __dict__, or a property that raises
        return None


def _key_of(mapping: object, value: object) -> str:
    if isinstance(mapping, (dict, types.MappingProxyType)):
        for key, item in list(mapping.items()):  # another thread may be changing it
            if item is value:
                return str(key)
    return ""


def _key_label(mapping: dict[object, object], held: object) -> str:
    for key, item in list(mapping.items()):
        if item is held:
            return f"[{_short_repr(key)}]"
        if key is held:
            return "(a key)"
    return ""


def _short_repr(obj: object) -> str:
    try:
        return _REPR.repr(obj)
    except Exception:  # a user __repr__ that raises
        return type(obj).__qualname__


def _closure_name(function: types.FunctionType, cell: object) -> str:
    names = function.__code__.co_freevars
    for name, candidate in zip(names, function.__closure__ or (), strict=False):
        if candidate is cell:
            return f"{name} (closure of {function.__name__})"
    return f"(closure of {function.__name__})"


def _frame_locals(frame: types.FrameType) -> object:
    try:
        return frame.f_locals
    except Exception:  # a frame torn down meanwhile
        return None


def _attribute_of(holder: object, held: object) -> str:
    name = _key_of(_namespace(holder), held)
    if name:
        return name
    for cls in type(holder).__mro__:
        for slot in _slots(cls):
            try:
                if object.__getattribute__(holder, slot) is held:
                    return slot
            except AttributeError:
                continue
    return ""


def _slots(cls: type) -> tuple[str, ...]:
    slots = cls.__dict__.get("__slots__", ())
    return (slots,) if isinstance(slots, str) else tuple(slots)

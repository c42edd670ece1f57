"""How a chain of references reads: named steps from a root to the held object.

Each object in the chain is named by how it holds the next one (global name,
attribute, dict key, closure variable); the namespace dicts and closure tuples
in between are left out.
"""

from __future__ import annotations

import gc
import os
import reprlib
import sys
import threading
import types
from dataclasses import dataclass
from enum import Enum

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


def steps(chain: list[object], held_by_frames: dict[int, tuple[types.FrameType, str]]) -> tuple[Step, ...]:
    """The named steps of ``chain``, a root first; ``held_by_frames`` maps the id
    of an object held by a running frame's variable to that frame and name."""
    first = chain[0]
    held = held_by_frames.get(id(first))
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
        return HolderKind.LOCAL, _key_of(frame_locals(holder), held)
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
        return candidate is holder.f_globals or candidate is frame_locals(holder)
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


def frame_locals(frame: types.FrameType) -> object:
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

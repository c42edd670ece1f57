"""How one object holds the next on a chain of references: the kind of
reference, a name for it, and its spelling in Python (``via``).

Namespace dicts, closure tuples and defaults tuples are looked through: a
module holds a value by a global name, a function by a closure variable or a
default argument, an object by an attribute (from its ``__dict__`` or slots).
"""

from __future__ import annotations

import gc
import reprlib
import sys
import threading
import types
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
    DEFAULT = "default argument"
    LOCAL = "local"
    REFERENCE = "reference"

    @property
    def root(self) -> bool:
        return self in _ROOTS


_ROOTS = frozenset({HolderKind.MODULE, HolderKind.CLASS, HolderKind.FRAME, HolderKind.THREAD_LOCAL})


def reference(chain: list[object], at: int) -> tuple[int, HolderKind, str, str]:
    """How ``chain[at]`` holds the next object worth naming: that object's
    index, the kind of reference, its name, and the reference in Python's
    spelling."""
    holder, nxt = chain[at], chain[at + 1]
    after = at + 2 < len(chain)
    if isinstance(holder, threading.local) and at + 3 < len(chain) and isinstance(chain[at + 2], dict):
        # local -> {weakref to the thread's dummy: per-thread dict} -> per-thread dict -> value
        name = _key_of(chain[at + 2], chain[at + 3])
        return at + 3, HolderKind.ATTRIBUTE, name, f".{name}"
    if after and _is_namespace(holder, nxt):
        name = _key_of(nxt, chain[at + 2])
        kind = _namespace_kind(holder, nxt)
        return at + 2, kind, name, f"local {name}" if kind is HolderKind.LOCAL else f".{name}"
    if isinstance(holder, types.FunctionType) and nxt is holder.__closure__ and at + 3 < len(chain):
        name = _closure_name(holder, chain[at + 2])
        return at + 3, HolderKind.CLOSURE, name, f"__closure__ {name.partition(' ')[0]}"
    if isinstance(holder, types.FunctionType) and after and nxt is holder.__defaults__:
        name, via = _default_name(holder, chain[at + 2])
        return at + 2, HolderKind.DEFAULT, name, via
    if isinstance(holder, types.FunctionType) and after and nxt is holder.__kwdefaults__:
        key = _key_of(nxt, chain[at + 2])
        return at + 2, HolderKind.DEFAULT, f"{key} (default of {holder.__name__})", f"__kwdefaults__[{key!r}]"
    return at + 1, *_direct(holder, nxt)


def _direct(holder: object, held: object) -> tuple[HolderKind, str, str]:
    if isinstance(holder, dict):
        label = _key_label(holder, held)
        return HolderKind.KEY, label, label
    if isinstance(holder, (list, tuple)):
        index = _index_of(holder, held)
        # a growing list's index changes every cycle: only a tuple's is part of the label
        return HolderKind.ITEM, index if isinstance(holder, tuple) else "", index
    if isinstance(holder, (set, frozenset)):
        return HolderKind.ITEM, "", "(an item)"
    if isinstance(holder, types.CellType):
        return HolderKind.CLOSURE, "(closure cell)", "cell_contents"
    if isinstance(holder, types.FrameType):
        name = _key_of(frame_locals(holder), held)
        return HolderKind.LOCAL, name, f"local {name}"
    if isinstance(holder, (types.MethodType, types.FunctionType, type, types.ModuleType)):
        return HolderKind.REFERENCE, "", _dunder_of(holder, held)
    name = _attribute_of(holder, held)
    return (HolderKind.ATTRIBUTE if name else HolderKind.REFERENCE), name, f".{name}" if name else ""


def _index_of(sequence: list[object] | tuple[object, ...], held: object) -> str:
    for index, item in enumerate(list(sequence)):  # another thread may be changing a list
        if item is held:
            return f"[{index}]"
    return ""


def _default_name(function: types.FunctionType, value: object) -> tuple[str, str]:
    """``seen (default of _dedupe)`` and ``__defaults__[0]`` for a default value."""
    defaults = function.__defaults__ or ()
    index = next((i for i, item in enumerate(defaults) if item is value), -1)
    code = function.__code__
    names = code.co_varnames[code.co_argcount - len(defaults) : code.co_argcount]
    name = names[index] if 0 <= index < len(names) else ""
    return f"{name} (default of {function.__name__})".lstrip(), f"__defaults__[{index}]"


def _dunder_of(holder: object, held: object) -> str:
    """The special attribute of a function, method, class or module that is ``held``."""
    for name in ("__self__", "__func__", "__wrapped__", "__globals__", "__dict__", "__mro__", "__bases__"):
        try:
            if object.__getattribute__(holder, name) is held:
                return name
        except AttributeError:
            continue
    return ""


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


def global_name(obj: object) -> str:
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
    """A frame's variables: up to Python 3.12 the frame's own dict; from 3.13
    ``f_locals`` is a proxy (PEP 667), and a dict of what it shows."""
    try:
        variables = frame.f_locals
        return variables if isinstance(variables, dict) else dict(variables)
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

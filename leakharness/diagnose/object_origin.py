"""Where the code that made an object lives, told by the object's real type."""

from __future__ import annotations

import sys
import types
from typing import TypeGuard, TypeVar

from leakharness.frames import Origin, origin

_T = TypeVar("_T")
_NEUTRAL = (dict, list, tuple, set, frozenset, types.CellType, types.MappingProxyType)


def object_origin(obj: object) -> Origin | None:
    """Where the code that made ``obj`` lives: a module's file, a function's or
    frame's code, a class's module, an instance's class; None for the builtin
    containers a chain passes through."""
    if is_a(obj, types.ModuleType):
        file = getattr(obj, "__file__", None)
        return origin(file) if isinstance(file, str) else Origin.STDLIB
    if is_a(obj, types.FunctionType):
        return origin(obj.__code__.co_filename)
    if is_a(obj, types.MethodType):
        return object_origin(obj.__func__)
    if is_a(obj, types.FrameType):
        return origin(obj.f_code.co_filename)
    if is_a(obj, type):
        module = sys.modules.get(getattr(obj, "__module__", "") or "")
        return None if obj in _NEUTRAL or module is None else object_origin(module)
    return object_origin(type(obj))


def is_a(obj: object, kind: type[_T]) -> TypeGuard[_T]:
    """``isinstance`` by ``obj``'s real type: ``isinstance`` also asks an
    object its ``__class__``, which a lazy proxy (Django's ``LazyObject``)
    answers by evaluating itself, or by raising; a holder search meets
    such objects among the referrers it looks at."""
    return issubclass(type(obj), kind)


def is_any(obj: object, kinds: tuple[type, ...]) -> bool:
    """``is_a`` for any of ``kinds``."""
    return issubclass(type(obj), kinds)


def harness_own(obj: object) -> bool:
    """An instance, function or frame of the harness's (its modules and
    classes are roots like any other)."""
    return not is_any(obj, (types.ModuleType, type)) and object_origin(obj) is Origin.HARNESS

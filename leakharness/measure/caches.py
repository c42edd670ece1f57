"""Caches that fill up and stop: emptied between cycles so they read as flat.

Like CPython's refleak hunter, the harness empties interpreter and stdlib
caches after every cycle, and the caches users register. It also empties the
bounded ``functools.lru_cache`` wrappers that the cycle is filling (their
size grew by two or more during warm-up): ``maxsize=128`` is the default,
and filling one with a new key per cycle takes 128 cycles. Caches that grew
by one at most are left alone, so a zero-argument ``lru_cache`` singleton
stays a singleton, and so are unbounded ones, because growing without bound
is the leak to find.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import struct
import sys
from collections.abc import Callable
from typing import Any

Clear = Callable[[], object]

_USER_CLEARERS: list[Clear] = []
_LRU_TYPE = type(functools.lru_cache(maxsize=1)(len))
_WRAPPING = frozenset({_LRU_TYPE, staticmethod, classmethod})  # the types an lru wrapper is found as


def register_cache(clear: Clear) -> Clear:
    """Call ``clear`` between cycles (usable as a decorator); returns it."""
    if not callable(clear):
        raise TypeError(f"register_cache needs a callable (got {clear!r})")
    if clear not in _USER_CLEARERS:
        _USER_CLEARERS.append(clear)
    return clear


def unregister_cache(clear: Clear) -> None:
    """Stop calling ``clear`` between cycles."""
    if clear in _USER_CLEARERS:
        _USER_CLEARERS.remove(clear)


def _stdlib_clearers() -> list[Clear]:
    # The type attribute cache keeps a strong reference to each attribute name
    # it looked up, in slots chosen by hash: a hunted `with open` test grows the
    # heap by 67-byte strings that way, 123 to 170 of them over 500 to 1,500
    # cycles depending on the hash seed, then stops. Emptied every cycle, it
    # grows by none (measured on CPython 3.11).
    type_cache = getattr(sys, "_clear_internal_caches", None) or getattr(sys, "_clear_type_cache", None)
    clearers: list[Clear] = []
    if callable(type_cache):
        clearers.append(type_cache)
    for owner, name in ((struct, "_clearcache"), (getattr(fnmatch, "_compile_pattern", None), "cache_clear")):
        clear = getattr(owner, name, None)
        if callable(clear):
            clearers.append(clear)
    return clearers


_MODULE_CACHES: dict[int, tuple[int, list[Any]]] = {}


def _lru_wrappers_in(namespace: dict[str, Any], classes: bool = True) -> list[Any]:
    """Bounded lru_cache wrappers among a namespace's values and, with
    ``classes``, its classes'. Types are compared before any call: a first
    scan looks at some 30k values (2.1 to 2.4 ms with a call for each, 1.4 ms
    so: measured in one process)."""
    values = list(namespace.values())
    for value in list(values) if classes else ():
        if isinstance(value, type):
            values += vars(value).values()
    return [value for value in values if type(value) in _WRAPPING and _is_bounded_lru(value)]


_STDLIB = os.path.dirname(os.__file__) + os.sep


def _in_stdlib(module: object) -> bool:
    """A standard library module's, by its file's folder (no path resolved).
    Their classes are not scanned: most of a first scan's values (a fresh
    process's first check spent 1.9 ms scanning, 0.9 ms without them), and in
    CPython 3.11 one bounded lru_cache method among them
    (``importlib.metadata.FastPath.__new__``)."""
    file = getattr(module, "__file__", None)
    return not isinstance(file, str) or (
        file.startswith(_STDLIB) and "site-packages" not in file and "dist-packages" not in file
    )


def _is_bounded_lru(value: object) -> bool:
    kind = type(value)  # compared by identity: 32k attributes are checked on a first scan
    if kind is staticmethod or kind is classmethod:
        value = value.__func__  # type: ignore[attr-defined]
        kind = type(value)
    return kind is _LRU_TYPE and value.cache_parameters()["maxsize"] is not None  # type: ignore[attr-defined]


_ALL_WRAPPERS: list[tuple[int, list[Any]]] = []  # (len(sys.modules), wrappers) of the last scan


def _module_lru_wrappers() -> list[Any]:
    """Bounded lru caches reachable from loaded modules' namespaces.

    Rescanned when a module is imported, and then only the namespaces that
    changed size: a scan of every gc object cost 12 ms with 65k objects and
    grows with the heap; walking a thousand module namespaces costs 0.7 ms."""
    if _ALL_WRAPPERS and _ALL_WRAPPERS[0][0] == len(sys.modules):
        return _ALL_WRAPPERS[0][1]
    wrappers: list[Any] = []
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        known = _MODULE_CACHES.get(id(module))
        if known is None or known[0] != len(namespace):
            known = (len(namespace), _lru_wrappers_in(namespace, classes=not _in_stdlib(module)))
            _MODULE_CACHES[id(module)] = known
        wrappers += [getattr(wrapper, "__func__", wrapper) for wrapper in known[1]]
    _ALL_WRAPPERS[:] = [(len(sys.modules), wrappers)]
    return wrappers


def _bounded_lru_sizes() -> dict[int, tuple[Any, int]]:
    """The bounded lru caches of loaded modules, with their current sizes."""
    return {id(wrapper): (wrapper, wrapper.cache_info().currsize) for wrapper in _module_lru_wrappers()}


class _PatternCache:
    """``re``'s compiled-pattern cache, left alone during warm-up and from
    then on put back as warm-up left it: a pattern compiled in every cycle is
    compiled once, and a new pattern a cycle is still dropped. Emptying it
    every cycle made each cycle compile every pattern it used again:
    Markdown's 123 inline tests took 3.4 s of CPU to hunt, 0.8 s without it.
    Emptied during warm-up, it was refilled by the first measured cycle, whose
    native heap then grew by about 1.4 KiB: 943 of Markdown's 1,141 tests ran
    on to 15 cycles instead of 10."""

    def __init__(self) -> None:
        self._caches = [
            c for c in (getattr(re, n, None) for n in ("_cache", "_cache2")) if isinstance(c, dict)
        ]
        self._kept: list[dict[Any, Any]] | None = None

    def keep(self) -> None:
        """From now on, put the cache back as it is now."""
        self._kept = [dict(cache) for cache in self._caches]

    def __call__(self) -> None:
        for cache, kept in zip(self._caches, self._kept or (), strict=False):
            if cache.keys() != kept.keys():
                cache.clear()
                cache.update(kept)


class CacheClearer:
    """Empties the known caches after every cycle.

    Create it before warm-up and call ``adopt_filling_caches`` after it.
    """

    def __init__(self) -> None:
        self._lru_before = _bounded_lru_sizes()
        self._patterns = _PatternCache()
        self._clearers: tuple[Clear, ...] = tuple([self._patterns, *_stdlib_clearers(), *_USER_CLEARERS])

    def adopt_filling_caches(self) -> int:
        """Add the bounded lru caches that grew since creation; return how many."""
        filling: list[Clear] = []
        for key, (wrapper, size) in _bounded_lru_sizes().items():
            before = self._lru_before.get(key)
            old_size = before[1] if before is not None and before[0] is wrapper else 0
            if size - old_size >= 2:
                filling.append(wrapper.cache_clear)
        self._lru_before = {}
        self._clearers += tuple(filling)
        self()
        self._patterns.keep()  # after the caches it may compile patterns for are emptied
        return len(filling)

    def __call__(self) -> None:
        for clear in self._clearers:
            clear()

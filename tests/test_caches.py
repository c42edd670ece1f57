"""Caches emptied between cycles: which ones, and which are left alone."""

from __future__ import annotations

import functools
import os
import re
import sys
import types

import pytest

from leakharness.measure import caches
from leakharness.measure.caches import CacheClearer, register_cache, unregister_cache


@functools.lru_cache(maxsize=64)
def bounded(key: int) -> str:
    return str(key)


@functools.cache
def unbounded(key: int) -> str:
    return str(key)


@functools.lru_cache
def singleton() -> object:
    return object()


class Holder:
    @staticmethod
    @functools.lru_cache(maxsize=8)
    def method(key: int) -> int:
        return key


@pytest.fixture(autouse=True)
def empty() -> None:
    for function in (bounded, unbounded, singleton, Holder.method):
        function.cache_clear()


def warm_up(clearer: CacheClearer, keys: range) -> None:
    for key in keys:
        bounded(key)
        unbounded(key)
        singleton()
        Holder.method(key)
        clearer()


def test_bounded_caches_filled_during_warm_up_are_emptied() -> None:
    clearer = CacheClearer()
    warm_up(clearer, range(5))
    assert clearer.adopt_filling_caches() >= 2
    assert bounded.cache_info().currsize == 0
    assert Holder.method.cache_info().currsize == 0
    bounded(1)
    clearer()
    assert bounded.cache_info().currsize == 0


def test_unbounded_caches_and_singletons_are_left_alone() -> None:
    clearer = CacheClearer()
    warm_up(clearer, range(5))
    clearer.adopt_filling_caches()
    assert unbounded.cache_info().currsize == 5
    assert singleton.cache_info().currsize == 1
    first = singleton()
    clearer()
    assert singleton() is first


def test_registered_caches_are_emptied() -> None:
    registry: dict[int, int] = {1: 1}
    register_cache(registry.clear)
    try:
        CacheClearer()()
        assert registry == {}
    finally:
        unregister_cache(registry.clear)
    registry[2] = 2
    CacheClearer()()
    assert registry == {2: 2}


def test_register_cache_needs_a_callable() -> None:
    with pytest.raises(TypeError, match="register_cache needs a callable"):
        register_cache(42)  # type: ignore[arg-type]


def _cached(text: str) -> bool:
    return any(text in str(key) for key in re._cache)  # type: ignore[attr-defined]


def test_after_warm_up_the_re_cache_is_put_back_as_warm_up_left_it() -> None:
    clearer = CacheClearer()
    steady = re.compile("leakharness-steady-[0-9]+")  # warm-up compiles it
    clearer()
    assert re.compile("leakharness-steady-[0-9]+") is steady  # not emptied during warm-up
    clearer.adopt_filling_caches()  # warm-up is over
    for index in range(3):  # each measured cycle uses it again and compiles a new one
        assert re.compile("leakharness-steady-[0-9]+") is steady  # compiled once, not every cycle
        re.compile(f"leakharness-new-{index}")
        clearer()
        assert _cached("leakharness-steady-") and not _cached("leakharness-new-")


def test_a_new_pattern_every_cycle_is_clean_and_a_kept_one_a_leak() -> None:
    from leakharness import check

    numbers = iter(range(10**6))
    kept: list[re.Pattern[str]] = []
    assert (
        check(lambda: re.match(f"leakharness-cycle-{next(numbers)}", "x")).tests[0].verdict.value == "clean"
    )
    assert check(lambda: re.match("leakharness-same-[a-z]+", "x")).tests[0].verdict.value == "clean"
    leaky = check(lambda: kept.append(re.compile(f"leakharness-kept-{next(numbers)}")))
    assert leaky.tests[0].verdict.value == "leak"


def test_the_classes_of_standard_library_modules_are_not_scanned() -> None:
    assert caches._in_stdlib(os) and caches._in_stdlib(sys)  # sys: built in, no file
    assert not caches._in_stdlib(sys.modules[__name__])
    vendored = types.ModuleType("vendored")
    vendored.__file__ = os.path.join(os.path.dirname(os.__file__), "site-packages", "vendored.py")
    assert not caches._in_stdlib(vendored)
    namespace = {"Holder": Holder, "bounded": bounded, "unbounded": unbounded}
    assert len(caches._lru_wrappers_in(namespace)) == 2  # bounded, and Holder.method
    assert caches._lru_wrappers_in(namespace, classes=False) == [bounded]

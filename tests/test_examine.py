"""The core call on real allocations of known size."""

from __future__ import annotations

import functools
import mmap
import subprocess
import sys
from itertools import pairwise
from typing import Any

import pytest

import leakharness
from leakharness import Resource, Verdict
from leakharness.measure import detect
from leakharness.measure.caches import register_cache, unregister_cache
from tests.helpers import libc, map_page

_KEPT: list[object] = []


EMPTY_CYCLE = """
import leakharness
from itertools import pairwise
from typing import Any
test = leakharness.check(lambda: None, max_cycles=300, min_cycles=300).tests[0]
assert test.cycles == 300, test.cycles
for result in test.resources:
    deltas = [b - a for a, b in pairwise(result.series)]
    if result.resource.value == "rss":
        # The first cycle's page: one build passed and failed runs in a row on the same machine.
        assert 0 <= deltas[0] <= 4096, (result.resource, result.series[:20])
        deltas = deltas[1:]
    assert set(deltas) == {0}, (result.resource, result.series[:20])
print("exactly zero")
"""


def test_an_empty_cycle_measures_exactly_zero_in_a_fresh_interpreter() -> None:
    proc = subprocess.run([sys.executable, "-c", EMPTY_CYCLE], capture_output=True, text=True)
    assert proc.stdout.strip() == "exactly zero", proc.stderr


def test_an_empty_cycle_never_grows_in_a_busy_process() -> None:
    # The host process may free one ambient block during the first cycle, and
    # process-wide memory (RSS, malloc) moves with whatever else it runs.
    test = leakharness.check(lambda: None, max_cycles=300, min_cycles=300).tests[0]
    for result in test.resources:
        if result.resource in (Resource.RSS, Resource.NATIVE_HEAP):
            continue
        deltas = [b - a for a, b in pairwise(result.series)]
        assert max(deltas) == 0 and set(deltas[1:]) == {0}, (result.resource, result.series[:20])


def test_a_kilobyte_per_cycle_is_located_with_its_size() -> None:
    def cycle() -> None:
        _KEPT.append(bytearray(1000))

    test = leakharness.check(cycle, max_cycles=80).tests[0]
    assert test.verdict is Verdict.LEAK
    top = test.lines[0]
    assert top.source == "_KEPT.append(bytearray(1000))"
    # the object and its buffer (1,057 bytes), plus the list's lumpy resizes
    assert 1000 <= top.size_per_cycle <= 1250
    assert top.count_per_cycle == pytest.approx(2.0, abs=0.1)  # the object and its buffer
    assert top.traceback[0].line == top.line


def test_one_small_object_per_cycle_is_a_leak() -> None:
    ids = iter(range(10**9, 2 * 10**9))

    def cycle() -> None:
        _KEPT.append(next(ids))

    test = leakharness.check(cycle).tests[0]
    assert test.result(Resource.HEAP).verdict is Verdict.LEAK
    assert test.lines and test.lines[0].size_per_cycle < 100


def test_a_leak_every_fifth_cycle_is_a_leak() -> None:
    calls = [0]

    def cycle() -> None:
        calls[0] += 1
        if calls[0] % 5 == 0:
            _KEPT.append([])  # a list: tracked by gc, unlike object()

    test = leakharness.check(cycle).tests[0]
    assert test.verdict is Verdict.LEAK
    assert test.result(Resource.OBJECTS).growth_per_cycle == pytest.approx(0.2, rel=0.1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="libc mmap through ctypes")
def test_a_page_mapped_and_touched_per_cycle_is_an_rss_leak() -> None:
    test = leakharness.check(map_page, libc()).tests[0]
    rss = test.result(Resource.RSS)
    assert rss.verdict is Verdict.LEAK, rss
    assert rss.growth_per_cycle == pytest.approx(mmap.PAGESIZE, rel=0.1)
    assert test.result(Resource.HEAP).verdict is Verdict.CLEAN
    assert test.result(Resource.NATIVE_HEAP).verdict is Verdict.CLEAN


def test_a_page_mapped_and_unmapped_per_cycle_is_clean() -> None:
    def cycle() -> None:
        with mmap.mmap(-1, mmap.PAGESIZE) as page:
            page[0] = 1

    assert leakharness.check(cycle).tests[0].result(Resource.RSS).verdict is Verdict.CLEAN


def test_garbage_cycles_are_clean() -> None:
    def cycle() -> None:
        a: list[object] = []
        b = [a]
        a.append(b)

    assert leakharness.check(cycle).tests[0].verdict is Verdict.CLEAN


REPLACED_STATE = """
import time
from leakharness import Settings
from leakharness.examine import examine
STATE = {}
def replace_a_cyclic_state():
    node = {"payload": [[i] for i in range(200)]}
    node["self"] = node  # freed by a collection only
    STATE["last"] = node
    time.sleep(0.01)  # slow enough for an exact native heap (see thread_cache)
# RSS left out: the first cycles of a check touch a few new pages, more or fewer run to run.
settings = Settings(resources=[r for r in Settings().resources if r.value != "rss"])
for ran_before in (0, 1):
    test = examine(replace_a_cyclic_state, settings, test_id="t", ran_before=ran_before)
    grew = [r.resource.value for r in test.resources if len(set(r.series)) > 1]
    print(test.verdict.value, test.cycles, grew)
"""


def test_state_each_cycle_replaces_is_flat_from_the_first_cycle() -> None:
    # Frozen with the rest of warm-up's leftovers, the last warm-up run's state was never
    # collected once the first measured cycle replaced it: +202 gc objects and +404 heap
    # blocks at the first cycle, and 15 cycles to be clean.
    proc = subprocess.run([sys.executable, "-c", REPLACED_STATE], capture_output=True, text=True)
    assert proc.stdout.splitlines() == ["clean 10 []", "clean 10 []"], proc.stdout + proc.stderr


def test_a_default_lru_cache_filling_up_is_clean() -> None:
    @functools.lru_cache  # maxsize=128: takes 128 cycles to fill
    def render(key: int) -> str:
        return f"<p>{key}</p>" * 8

    keys = iter(range(10**6))
    assert leakharness.check(lambda: render(next(keys))).tests[0].verdict is Verdict.CLEAN


def test_an_unbounded_lru_cache_is_a_leak() -> None:
    @functools.cache
    def render(key: int) -> str:
        return f"<p>{key}</p>" * 8

    keys = iter(range(10**6))
    assert leakharness.check(lambda: render(next(keys))).tests[0].verdict is Verdict.LEAK


def test_a_zero_argument_singleton_is_not_cleared() -> None:
    @functools.lru_cache
    def settings() -> object:
        return object()

    seen: set[int] = set()
    leakharness.check(lambda: seen.add(id(settings())), max_cycles=60)
    assert len(seen) == 1


def test_a_registered_cache_is_cleared_between_cycles() -> None:
    cache: dict[int, bytes] = {}
    keys = iter(range(10**6))

    def cycle() -> None:
        cache[next(keys)] = bytes(64)

    assert leakharness.check(cycle, max_cycles=80).tests[0].verdict is Verdict.LEAK
    register_cache(cache.clear)
    try:
        assert leakharness.check(cycle, max_cycles=80).tests[0].verdict is Verdict.CLEAN
    finally:
        unregister_cache(cache.clear)


def test_check_returns_a_report_that_renders_itself() -> None:
    def cycle() -> None:
        _KEPT.append(bytearray(300))

    report = leakharness.check(cycle, max_cycles=60)
    assert report.leaked
    assert report.resources and report.lines
    text = str(report)
    assert "LEAK" in text and "_KEPT.append(bytearray(300))" in text
    data = report.to_dict()
    assert data["tests"][0]["verdict"] == "leak"


def test_check_passes_arguments_to_the_cycle() -> None:
    received: list[tuple[int, int]] = []

    def cycle(a: int, *, b: int) -> None:
        if not received:
            received.append((a, b))

    leakharness.check(cycle, 1, b=2, max_cycles=60)
    assert received == [(1, 2)]


def test_the_time_budget_bounds_a_slow_cycle() -> None:
    import time

    test = leakharness.check(lambda: time.sleep(0.05), time_budget=0.3).tests[0]
    assert test.cycles < 20
    assert any("time budget" in note for note in test.notes)


def test_a_slow_leaking_cycle_keeps_to_its_time_budget() -> None:
    import time

    calls = [0]

    def cycle() -> None:
        calls[0] += 1
        _KEPT.append(bytearray(100))
        time.sleep(0.01)

    test = leakharness.check(cycle, warmup=10, time_budget=0.3).tests[0]
    assert any("not located" in note for note in test.notes), test.notes
    assert test.lines == ()
    assert calls[0] < 60  # warm-up, detection and nothing traced, all within about 0.3 s of cycles


def test_where_first_calls_keep_frames_the_judging_runs_once_before_the_baseline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, bool]] = []  # (rows recorded by the real samples, final)
    real_judge_all = detect.judge_all
    recorded = [0]

    def judge_all(samples: Any, settings: Any, **options: Any) -> Any:
        calls.append((recorded[0], options["final"]))
        return real_judge_all(samples, settings, **options)

    real_record = detect.Samples.record

    def record(self: Any) -> None:
        if len(self.probes) and not isinstance(self.probes[0], detect._MadeUp):
            recorded[0] += 1
        real_record(self)

    monkeypatch.setattr(detect, "judge_all", judge_all)
    monkeypatch.setattr(detect.Samples, "record", record)
    monkeypatch.setattr(detect, "KEEPS_FIRST_FRAMES", True)
    test = leakharness.check(lambda: None).tests[0]
    before = [final for rows, final in calls if rows == 0]
    assert test.verdict is Verdict.CLEAN
    assert len(before) >= 2 * len(detect._SHAPES) and set(before) == {False, True}
    huge = leakharness.check(lambda: None, max_cycles=10**11, min_cycles=10**10, time_budget=0.5)
    assert huge.tests[0].cycles < 10**10  # made-up series stay short
    monkeypatch.setattr(detect, "KEEPS_FIRST_FRAMES", False)
    calls.clear()
    recorded[0] = 0
    leakharness.check(lambda: None)
    assert [final for rows, final in calls if rows == 0] == [False, True]  # one flat series

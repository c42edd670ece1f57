"""The detection loop with fake probes: when it stops, and what it judged."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from itertools import count

import pytest

from leakharness.config import Settings
from leakharness.judge.tolerance import Tolerated, tolerate
from leakharness.judge.verdict import Verdict, judge
from leakharness.measure import detect as runner
from leakharness.measure.detect import detect
from leakharness.measure.session import Session
from leakharness.measure.state import preserved_state
from leakharness.resources import Resource
from tests.helpers import ROOT


class FakeProbe:
    """Returns ``shape(n)`` on its n-th sample (n = 0 is the first call)."""

    def __init__(self, resource: Resource, shape: Callable[[int], int]) -> None:
        self.resource = resource
        self._calls: Iterator[int] = count()
        self._shape = shape

    def sample(self) -> int:
        return self._shape(next(self._calls))


def run(settings: Settings, *probes: FakeProbe) -> runner.Detection:
    with preserved_state() as state:
        return detect(Session(lambda: None, settings, state), probes)


def test_flat_series_stop_at_min_cycles() -> None:
    detection = run(Settings(min_cycles=60, max_cycles=400), FakeProbe(Resource.HEAP, lambda n: 100))
    assert detection.cycles == 60
    assert detection.stopped == "settled"
    assert detection.judgements[Resource.HEAP].judgement.verdict is Verdict.CLEAN


def test_steady_heap_growth_runs_until_its_leak_span() -> None:
    detection = run(Settings(min_cycles=60, max_cycles=400), FakeProbe(Resource.HEAP, lambda n: n))
    assert detection.cycles == Resource.HEAP.leak_span
    assert detection.judgements[Resource.HEAP].judgement.verdict is Verdict.LEAK


def test_an_fd_leak_settles_the_run_without_waiting_for_memory() -> None:
    detection = run(
        Settings(min_cycles=60, max_cycles=400),
        FakeProbe(Resource.FDS, lambda n: n),
        FakeProbe(Resource.HEAP, lambda n: 3 * n),
    )
    assert detection.cycles == 60
    assert detection.stopped == "file descriptors leak settled"
    assert detection.judgements[Resource.HEAP].judgement.verdict is Verdict.LEAK


def test_irregular_growth_runs_to_max_cycles_and_is_inconclusive() -> None:
    detection = run(
        Settings(min_cycles=60, max_cycles=120),
        FakeProbe(Resource.OBJECTS, lambda n: n // 25 * 3 if n < 60 else 6 + (n // 40)),
    )
    assert detection.cycles == 120
    assert detection.stopped == "max_cycles (120)"
    assert detection.judgements[Resource.OBJECTS].judgement.verdict is not Verdict.LEAK


def test_the_time_budget_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = count()
    monkeypatch.setattr(runner, "perf_counter", lambda: float(next(ticks)))
    detection = run(
        Settings(min_cycles=60, max_cycles=400, time_budget=30), FakeProbe(Resource.FDS, lambda n: 0)
    )
    assert detection.cycles < 60
    assert detection.stopped.startswith("time budget")
    assert detection.judgements[Resource.FDS].judgement.verdict is Verdict.CLEAN


def test_warmup_cycles_run_before_the_baseline() -> None:
    calls = [0]

    def cycle() -> None:
        calls[0] += 1

    with preserved_state() as state:
        detection = detect(Session(cycle, Settings(warmup=7), state), (FakeProbe(Resource.FDS, lambda n: 0),))
    assert calls[0] == 7 + detection.cycles  # warm-up, then measured cycles
    assert detection.warmup == 7


def test_a_slow_warm_up_is_cut_short_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = count()  # each reading of the clock is one second later: every cycle is slow
    monkeypatch.setattr(runner, "perf_counter", lambda: float(next(ticks)))
    detection = run(Settings(warmup=50, time_budget=2), FakeProbe(Resource.FDS, lambda n: 0))
    assert detection.warmup == 2  # the first already outlasts the warm-up share (0.5 s); two at least


@pytest.mark.parametrize(
    ("min_cycles", "due"),
    [
        (10, [10, 15, 20, 30, 40, 50, 60]),
        (15, [15, 20, 30, 40, 50, 60]),
        (60, [60]),
        (20, [20, 30, 40, 50, 60]),
        (7, [7, 10, 15, 20, 30, 40, 50, 60]),
    ],
)
def test_judging_is_due_at_min_cycles_then_at_every_tenth_cycle(min_cycles: int, due: list[int]) -> None:
    assert [c for c in range(61) if runner._judging_due(c, min_cycles)] == due


# A threaded more-itertools test fitted 10 cycles in its time budget; its RSS,
# read every third cycle, moved by megabytes each reading.
THREADED_RSS = [85901312] * 3 + [81465344] * 3 + [83255296] * 3 + [88514560] * 2


def _judged(series: list[int], resource: Resource) -> dict[Resource, Tolerated]:
    settings = Settings()
    judgement = judge(
        series,
        allowed=resource.floor,
        band=resource.band,
        min_cycles=runner.MIN_CYCLES_WHEN_OUT_OF_TIME,
        leak_span=resource.leak_span,
        unit=resource.unit,
    )
    return {resource: tolerate(judgement, series, resource.unit, settings.tolerance(resource))}


def test_a_leak_from_too_few_readings_of_a_strided_probe_is_inconclusive() -> None:
    judged = _judged(THREADED_RSS, Resource.RSS)
    assert judged[Resource.RSS].judgement.verdict is Verdict.LEAK  # what the series alone says
    out = runner.leaks_need_readings(judged, {Resource.RSS: 3}, len(THREADED_RSS) - 1, 10)
    judgement = out[Resource.RSS].judgement
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert "only 3 readings" in judgement.reason and "allow more time" in judgement.reason


def test_a_leak_read_at_every_cycle_or_often_enough_stays_a_leak() -> None:
    series = list(range(0, 12 * 4096 * 8, 4096 * 8))  # 8 pages a cycle, 11 cycles
    judged = _judged(series, Resource.RSS)
    out = runner.leaks_need_readings(judged, {Resource.RSS: 1}, len(series) - 1, 10)
    assert out[Resource.RSS].judgement.verdict is Verdict.LEAK
    clean = _judged([5] * 12, Resource.HEAP)
    out = runner.leaks_need_readings(clean, {Resource.HEAP: 5}, 11, 10)
    assert out[Resource.HEAP].judgement.verdict is Verdict.CLEAN


def test_an_empty_cycle_in_a_fresh_interpreter_is_flat_from_its_first_row() -> None:
    # The loop's own code runs there for the first time. Its first run allocates
    # on 3.10 (a spare frame) and on 3.12+ once sys.monitoring was used: 1 block per
    # code object, +30 blocks over rows 1 to 16 before the loop rehearsed.
    script = (
        "import json, sys, leakharness\n"
        "if sys.version_info >= (3, 12):\n"
        "    m = sys.monitoring\n"
        "    m.use_tool_id(3, 'test'); m.set_events(3, m.events.LINE)\n"
        "    m.set_events(3, m.events.NO_EVENTS); m.free_tool_id(3)\n"
        "test = leakharness.check(lambda: None).tests[0]\n"
        "print(json.dumps([test.cycles, list(test.result(leakharness.Resource.HEAP).series)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    cycles, heap = json.loads(done.stdout)
    assert cycles == Settings().min_cycles and len(set(heap)) == 1, heap

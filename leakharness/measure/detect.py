"""The detection phase: warm up, freeze, repeat the cycle, sample cheap probes.

Tracing is off here (tracemalloc slows allocation-heavy code 13x to 35x).
Every ``CHECK_EVERY`` cycles past ``min_cycles`` the series are judged; the
run stops as soon as every resource is settled, or at ``max_cycles``, or when
the time budget is spent.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter

from leakharness.config import Settings
from leakharness.judge.tolerance import Tolerated, tolerate
from leakharness.judge.verdict import Verdict, judge
from leakharness.measure.caches import CacheClearer
from leakharness.measure.probes import Probe
from leakharness.measure.samples import Samples
from leakharness.measure.state import ProcessState
from leakharness.resources import Resource

CHECK_EVERY = 10
WARMUP_SHARE = 0.25  # at most this share of the time budget goes to warm-up (past two cycles)
# When the time budget stops a slow cycle early, judge what ran if it is at least this much.
MIN_CYCLES_WHEN_OUT_OF_TIME = 10

Cycle = Callable[[], object]


@dataclass(frozen=True)
class Detection:
    """Samples of a detection run and the judgement of each resource."""

    samples: Samples
    judgements: dict[Resource, Tolerated]
    seconds: float
    stopped: str

    @property
    def cycles(self) -> int:
        return self.samples.count - 1


def run_cycle(cycle: Cycle, clear_caches: CacheClearer) -> None:
    """One cycle, then empty known caches and collect garbage."""
    cycle()
    clear_caches()
    gc.collect()


def detect(
    cycle: Cycle,
    probes: tuple[Probe, ...],
    settings: Settings,
    state: ProcessState,
    clear_caches: CacheClearer,
) -> Detection:
    """Warm up, then sample ``probes`` (the dear ones every few cycles) until
    every resource is settled, ``max_cycles``, or the time budget."""
    warming = perf_counter()
    for done in range(settings.warmup):
        run_cycle(cycle, clear_caches)
        if perf_counter() - warming > settings.time_budget * WARMUP_SHARE and done >= 1:
            break  # a slow cycle: keep most of the budget for measuring
    clear_caches.adopt_filling_caches()
    state.freeze()  # what warm-up left behind, too
    samples = Samples(probes, settings.max_cycles + 1)
    stopped = f"max_cycles ({settings.max_cycles})"
    started = perf_counter()
    deadline = started + settings.time_budget
    samples.calibrate()  # a first, timed read of every probe: psutil settles lazily
    run_cycle(cycle, clear_caches)  # settles what the first collection after freezing frees
    while True:  # the baseline is the first row, recorded by the same code as every other row
        samples.record()
        rows = samples.count  # cycles run + 1
        if rows > settings.min_cycles and rows % CHECK_EVERY == 1:
            stop = _settled(judge_all(samples, settings, final=False))
            if stop:
                stopped = stop
                break
        if perf_counter() > deadline:
            stopped = f"time budget ({settings.time_budget:g} s)"
            break
        if samples.full:
            break
        run_cycle(cycle, clear_caches)
    seconds = perf_counter() - started
    out_of_time = stopped.startswith("time budget")
    min_cycles = MIN_CYCLES_WHEN_OUT_OF_TIME if out_of_time else settings.min_cycles
    judgements = judge_all(samples, settings, final=True, min_cycles=min_cycles)
    return Detection(samples, judgements, seconds, stopped)


def _settled(judgements: dict[Resource, Tolerated]) -> str:
    """Why detection can stop now, or "" to go on."""
    if all(t.judgement.settled for t in judgements.values()):
        return "settled"
    for resource, tolerated in judgements.items():
        judgement = tolerated.judgement
        if resource.exact and judgement.settled and judgement.verdict is Verdict.LEAK:
            return f"{resource.label} leak settled"
    return ""


def judge_all(
    samples: Samples, settings: Settings, *, final: bool, min_cycles: int | None = None
) -> dict[Resource, Tolerated]:
    """Judge every recorded series, then apply the user's tolerances."""
    judged = {}
    for resource in samples.resources:
        series = samples.series(resource)
        judgement = judge(
            series,
            allowed=resource.floor,
            min_cycles=settings.min_cycles if min_cycles is None else min_cycles,
            leak_span=min(resource.leak_span, settings.max_cycles),
            final=final,
            unit=resource.unit,
        )
        judged[resource] = tolerate(
            judgement, series, resource.unit, settings.tolerance(resource), settings.warn_tolerance(resource)
        )
    return judged

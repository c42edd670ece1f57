"""The detection phase: warm up, freeze, repeat the cycle, sample cheap probes.

Tracing is off here (tracemalloc slows allocation-heavy code 13x to 35x).
At ``min_cycles`` and every multiple of ``CHECK_EVERY`` after, the series are judged; the
run stops as soon as every resource is settled, or at ``max_cycles``, or when
the time budget is spent.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from time import perf_counter

from leakharness.config import Settings
from leakharness.judge.tolerance import Tolerated, tolerate
from leakharness.judge.verdict import QUIET_WINDOW, Verdict, judge
from leakharness.measure.probes import Probe
from leakharness.measure.samples import Samples
from leakharness.measure.session import TICK_EVERY, Session, Tick
from leakharness.resources import Resource

CHECK_EVERY = 10
FIRST_FULL_WINDOWS = 3 * QUIET_WINDOW  # the first run judged in three windows of 5
WARMUP_SHARE = 0.25  # at most this share of the time budget goes to warm-up (past two cycles)
# When the time budget stops a slow cycle early, judge what ran if it is at least this much.
MIN_CYCLES_WHEN_OUT_OF_TIME = 10


class Stop(Enum):
    """Why detection stopped."""

    SETTLED = "settled"
    LEAK_SETTLED = "leak settled"  # an exact count (fds, threads, ...) leaks steadily: no need to go on
    MAX_CYCLES = "max_cycles"
    TIME_BUDGET = "time budget"


@dataclass(frozen=True)
class Detection:
    """Samples of a detection run and the judgement of each resource."""

    samples: Samples
    judgements: dict[Resource, Tolerated]
    seconds: float
    stop: Stop
    stopped: str  # the same, in words: "file descriptors leak settled", "time budget (20 s)"
    warmup: int = 0  # warm-up cycles run before the baseline (fewer than asked for a slow cycle)

    @property
    def cycles(self) -> int:
        return self.samples.count - 1


def detect(session: Session, probes: tuple[Probe, ...]) -> Detection:
    """Warm up, then sample ``probes`` (the dear ones every few cycles) until
    every resource is settled, ``max_cycles``, or the time budget."""
    settings = session.settings
    warming = last_run = perf_counter()
    warmed, run_seconds = min(session.ran_before, settings.warmup), 0.0
    while warmed < settings.warmup:
        # What earlier runs left is frozen, what the last one leaves is not: frozen
        # objects are never collected, so state that the first measured cycle
        # replaced stayed in the heap (+202 gc objects for 200 lists in a cycle).
        session.state.freeze()
        session.run_cycle()
        warmed += 1
        now = perf_counter()
        run_seconds, last_run = now - last_run, now
        if now - warming > settings.time_budget * WARMUP_SHARE and warmed >= 2:
            break  # a slow cycle: keep most of the budget for measuring
    session.clear_caches.adopt_filling_caches()
    samples = Samples(probes, settings.max_cycles + 1)
    stop, settled_leak = Stop.MAX_CYCLES, None
    started = perf_counter()
    deadline = started + settings.time_budget
    samples.calibrate(run_seconds)  # a first, timed read of every probe: psutil settles lazily
    # A first tick before the baseline row: whatever a tick keeps (the text of a
    # progress bar) is then replaced by the next one, never added (0 blocks per cycle).
    next_tick = _tick(session.tick, 0, deadline, started) if session.tick else started
    _judge_made_up_series(samples, settings, every_shape=KEEPS_FIRST_FRAMES)
    session.settle()  # without it, the first collection after freezing freed 174 blocks of the baseline
    while True:  # the baseline is the first row, recorded by the same code as every other row
        samples.record()
        rows = samples.count  # cycles run + 1
        if _judging_due(rows - 1, settings.min_cycles):
            settled = _settled(judge_all(samples, settings, final=False))
            if settled is not None:
                stop, settled_leak = settled
                break
        if perf_counter() > deadline:
            stop = Stop.TIME_BUDGET
            break
        if samples.full:
            break
        if session.tick is not None:  # between a sample and the next cycle: no local float kept
            next_tick = _tick(session.tick, rows - 1, deadline, next_tick)
        session.run_cycle()
    seconds = perf_counter() - started
    min_cycles = MIN_CYCLES_WHEN_OUT_OF_TIME if stop is Stop.TIME_BUDGET else settings.min_cycles
    judgements = judge_all(samples, settings, final=True, min_cycles=min_cycles)
    if stop is Stop.TIME_BUDGET:
        strides = {resource: samples.stride(resource) for resource in judgements}
        judgements = leaks_need_readings(judgements, strides, samples.count - 1, min_cycles)
    return Detection(samples, judgements, seconds, stop, _words(stop, settled_leak, settings), warmed)


# CPython 3.10 keeps a frame per function after its first call (50 functions
# called once: +53 blocks, against +3 on 3.11). The bookkeeping first run after
# the baseline then counted +2 blocks at an empty cycle's first reading, and a
# verdict rule first used at a later judging point one more each: the judging
# runs once on made-up series of each shape before the baseline (15 ms).
# CPython 3.12+ instruments a code object at its first run once sys.monitoring
# was used in the process (cProfile, a coverage tool, native attribution): one
# block each. Unjudged, an empty cycle's heap grew +2, +24 and +4 blocks at
# rows 1, 11 and 16 there, and ran 30 cycles to be "filled up": every version
# judges a flat series once (0.14 ms; a whole check of an empty cycle: 3.2 ms).
KEEPS_FIRST_FRAMES = sys.version_info < (3, 11)
MADE_UP_CYCLES = 120  # the longest made-up series
_SHAPES: tuple[Callable[[int], int], ...] = (
    lambda n: 0,  # flat
    lambda n: n,  # steady
    lambda n: min(n, 7),  # fills and stops
    lambda n: n // 7,  # sparse
    lambda n: int(40 * n**0.5),  # slowing
    lambda n: n % 3,  # wandering
    lambda n: max(0, n - 12),  # late
    lambda n: 64 - (64 >> min(n // 5, 6)),  # halving
)


class _MadeUp:
    """A probe that reads a made-up series."""

    def __init__(self, resource: Resource, shape: Callable[[int], int]) -> None:
        self.resource, self._shape, self._read = resource, shape, 0

    def sample(self) -> int:
        self._read += 1
        return self._shape(self._read - 1)


def _judge_made_up_series(samples: Samples, settings: Settings, *, every_shape: bool) -> None:
    """Run the judging code once before the baseline (see above): on made-up
    series of ``samples``' resources, and the loop's own checks too."""
    _judging_due(0, settings.min_cycles)
    _ = samples.full
    longest = min(settings.max_cycles, MADE_UP_CYCLES)
    lengths, shapes = [min(settings.min_cycles, longest)], _SHAPES[:1]
    if every_shape:
        every = {settings.min_cycles, FIRST_FULL_WINDOWS, 20, 30, 60, MADE_UP_CYCLES}
        lengths, shapes = sorted(n for n in every if n <= longest), _SHAPES
    for cycles in lengths:
        for shape in shapes:
            made_up = Samples([_MadeUp(r, shape) for r in samples.resources], cycles + 1)
            for _ in range(cycles + 1):
                made_up.record()
            _settled(judge_all(made_up, settings, final=False))
            judge_all(made_up, settings, final=True)


def _tick(tick: Tick, cycles: int, deadline: float, due: float) -> float:
    """Call ``tick`` when it is ``due``; when it is next due."""
    now = perf_counter()
    if now < due:
        return due
    tick(cycles, deadline - now)
    return now + TICK_EVERY


def _judging_due(cycles: int, min_cycles: int) -> bool:
    """At ``min_cycles``, at 15 (the first run judged in windows of 5, whose
    first window may fill: a noisy native heap, ``[3232, -448, 1168]`` bytes
    per window, is clean there and not at 20), then at every multiple of
    ``CHECK_EVERY``: a leak of an exact count then settles at 60 cycles, six
    windows of ten, where probes read every 2nd or 5th cycle line up with the
    windows (at 65 a leak of one descriptor a cycle read as +0.96)."""
    return cycles == min_cycles or (
        cycles > min_cycles and (cycles == FIRST_FULL_WINDOWS or cycles % CHECK_EVERY == 0)
    )


def _words(stop: Stop, settled_leak: Resource | None, settings: Settings) -> str:
    if stop is Stop.LEAK_SETTLED and settled_leak is not None:
        return f"{settled_leak.label} leak settled"
    if stop is Stop.MAX_CYCLES:
        return f"max_cycles ({settings.max_cycles})"
    if stop is Stop.TIME_BUDGET:
        return f"time budget ({settings.time_budget:g} s)"
    return str(stop.value)


def _settled(judgements: dict[Resource, Tolerated]) -> tuple[Stop, Resource | None] | None:
    """Why detection can stop now (and the leak that settled it), or None to go on."""
    if all(t.judgement.settled for t in judgements.values()):
        return Stop.SETTLED, None
    for resource, tolerated in judgements.items():
        judgement = tolerated.judgement
        if resource.exact and judgement.settled and judgement.verdict is Verdict.LEAK:
            return Stop.LEAK_SETTLED, resource
    return None


def leaks_need_readings(
    judgements: dict[Resource, Tolerated], strides: dict[Resource, int], cycles: int, needed: int
) -> dict[Resource, Tolerated]:
    """A leak read from fewer than ``needed`` readings of its probe is
    inconclusive. A probe read every k-th cycle (to keep its cost down) has
    only cycles/k readings when the time budget cuts a slow test short: a
    threaded more-itertools test's RSS, read every third cycle, read 85.9,
    81.5, 83.3 and 88.5 MB in 10 cycles, judged a leak of 1.1 MiB a cycle."""
    out = {}
    for resource, tolerated in judgements.items():
        judgement, stride = tolerated.judgement, strides.get(resource, 1)
        readings = cycles // stride
        if judgement.verdict is Verdict.LEAK and readings < needed:
            reason = (
                f"{judgement.reason}, but over only {readings} readings (read every {stride} cycles, "
                f"at least {needed} needed): allow more time"
            )
            tolerated = replace(
                tolerated, judgement=replace(judgement, verdict=Verdict.INCONCLUSIVE, reason=reason)
            )
        out[resource] = tolerated
    return out


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
            band=resource.band,
            min_cycles=settings.min_cycles if min_cycles is None else min_cycles,
            leak_span=min(resource.leak_span, settings.max_cycles),
            final=final,
            unit=resource.unit,
        )
        judged[resource] = tolerate(
            judgement, series, resource.unit, settings.tolerance(resource), settings.warn_tolerance(resource)
        )
    return judged

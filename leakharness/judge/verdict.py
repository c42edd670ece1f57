"""Pure verdict rules: a series of samples in, a judgement with its reason out.

The series is split into equal windows aligned to its end. A leak grows in
every window; noise does not. CPython's refleak checker gives the shapes to
beat: ``[3, 0, 0]``, ``[0, 1, 0]`` and ``[8, -8, 1]`` are noise, ``[5, 5, 6]``
and ``[10, 1, 1]`` are leaks. Caches that fill up and stop (``deque(maxlen=32)``,
a free list) grow in the early windows and are flat in the later ones.
Before 60 cycles the later windows are short, so such a series is also clean
once its last ten cycles are flat in both windows of five: a leak striking at
least once in ten cycles shows in one of them.

A counter that moves in steps (RSS moves in 4 KiB pages) also has a noise
*band*: a window's growth within it is noise, however short the window. The
per-cycle floor then only needs to cover slow creep, so a steady page per
cycle (``[4096] * 60``: windows of 10 pages) is a leak, while the level
wandering by 0 to 3 pages at random (windows within ±3 pages) stays clean.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import pairwise
from statistics import median

from leakharness.units import signed_amount

# Before this many cycles a clean verdict needs a series flat after its first
# window or in its last QUIET_CYCLES, not just in its last third: at 15 or 20
# cycles that is one window of 5, and a leak striking once every 7 cycles can
# fall quiet for that long ([1, 1, 0] per window).
FULL_CYCLES = 60
# A run whose windows are shorter than this is clean only when flat from its
# first cycle in windows of this length: one object every fifth cycle is [1, 1].
QUIET_WINDOW = 5
# From 15 cycles to FULL_CYCLES, a series quiet in its last this many cycles
# (two windows of QUIET_WINDOW) is clean, whatever grew before: a Markdown
# test's RSS rose 8.7 MB at cycle 3 and 1.0 MB at cycle 7, then stayed flat; a
# second window that fills kept it unclean until 40 cycles (12 s), this rule
# makes it clean at 20.
QUIET_CYCLES = 2 * QUIET_WINDOW


class Verdict(Enum):
    """The outcome for one resource or one test."""

    LEAK = "leak"
    CLEAN = "clean"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"
    SKIPPED = "skipped"

    @property
    def rank(self) -> int:
        """Severity order used to combine verdicts: higher wins."""
        return _RANK[self]


_RANK = {
    Verdict.SKIPPED: 0,
    Verdict.CLEAN: 1,
    Verdict.INCONCLUSIVE: 2,
    Verdict.LEAK: 3,
    Verdict.ERROR: 4,
}


@dataclass(frozen=True)
class Judgement:
    """What one series says: verdict, growth per cycle, and why."""

    verdict: Verdict
    growth_per_cycle: float
    total_growth: float
    reason: str
    settled: bool = True

    def __repr__(self) -> str:
        return (
            f"<Judgement {self.verdict.value} {self.growth_per_cycle:+g}/cycle "
            f"total={self.total_growth:+g} settled={self.settled}: {self.reason}>"
        )


def window_size(cycles: int) -> int:
    """At least 3 windows; at least 5 cycles each once there are 15 cycles,
    so a leak that strikes once every five cycles shows in every window."""
    return max(1, min(cycles // 3, max(5, cycles // 6)))


def window_growth(deltas: Sequence[float], size: int) -> list[float]:
    """Sums of ``deltas`` over windows of ``size``, aligned to the end; the
    leftover at the start (the oldest cycles) is dropped."""
    start = len(deltas) % size
    return [sum(deltas[i : i + size]) for i in range(start, len(deltas), size)]


def judge(
    values: Sequence[float],
    *,
    allowed: float = 0.0,
    band: float = 0.0,
    min_cycles: int = 3,
    leak_span: int = 0,
    final: bool = True,
    unit: str = "",
) -> Judgement:
    """Judge a series of samples taken after cycles 0..n (index 0 is the baseline).

    ``allowed`` is growth per cycle that still counts as flat (noise floor
    plus tolerance); ``band`` is growth per window, of any length, that still
    counts as flat (a counter's noise amplitude). Growth in every window settles a leak only after
    ``leak_span`` cycles, so a cache that fills for longer than
    ``min_cycles`` can still show its plateau. Before ``final`` the
    judgement may be unsettled: run more cycles and ask again.

    Clean, final or not: under 15 cycles, flat in every window of 5 from the
    first cycle; from 15, flat after the first window; from 15 to 59, also
    quiet in the last 10 cycles (both windows of 5 counted back from the end);
    from 60, flat in the last third of the windows (when ``final``, at any
    length).
    """
    cycles = max(0, len(values) - 1)
    total = float(values[-1] - values[0]) if cycles >= 1 else 0.0
    if cycles < max(1, min_cycles):
        return _pending(total, cycles, min_cycles, final)
    deltas = [float(b - a) for a, b in pairwise(values)]
    size = window_size(cycles)
    floor = _Floor(allowed, band)
    if size < QUIET_WINDOW and _quiet(deltas, floor):
        return Judgement(Verdict.CLEAN, 0.0, total, f"no growth in any of {cycles} cycles")
    if size < QUIET_WINDOW and not final:  # a leak settles after 60 cycles at the earliest
        return Judgement(Verdict.INCONCLUSIVE, 0.0, total, "moved in its first cycles", settled=False)
    windows = window_growth(deltas, size)
    grew = [g > floor.over(size) for g in windows]
    settled_part = windows[1:] or windows
    tail = windows[len(windows) - max(1, len(windows) // 3) :]
    slope = sum(settled_part) / (len(settled_part) * size)
    span = f"{len(windows)} windows of {size} cycle{'s' if size > 1 else ''}"

    if all(grew):
        if _slowing(settled_part):
            early = median(settled_part[: len(settled_part) // 2]) / size
            late = settled_part[-1] / size
            per_cycle = f" {unit}/cycle" if unit else "/cycle"
            reason = f"growth slowed from {early:+.2f} to {late:+.2f}{per_cycle}: a cache filling up"
            if final:
                return Judgement(Verdict.CLEAN, 0.0, total, reason)
            return Judgement(Verdict.INCONCLUSIVE, slope, total, reason, settled=False)
        if final and cycles < FULL_CYCLES and _halving(windows):
            return _fading(f"grew in all {span}", windows, slope, total, unit)
        settled = final or (cycles >= leak_span and not _declining(settled_part))
        return Judgement(Verdict.LEAK, slope, total, f"grew in all {span}", settled=settled)
    # A run the time budget cut short is judged final at any length: from ten cycles on, a
    # flat part counts when it spans ten, else a leak every 7th to 10th cycle hid in it at
    # 10 to 29 cycles. Shorter runs (when fewer cycles are asked for) keep their short parts.
    quiet_span = QUIET_CYCLES if cycles >= QUIET_CYCLES else 0
    flat_part = _flat(settled_part, size, floor) and len(settled_part) * size >= quiet_span
    quiet_tail = _flat(tail, size, floor) and (
        cycles >= FULL_CYCLES or (final and len(tail) * size >= quiet_span)
    )
    if flat_part or quiet_tail:
        return Judgement(
            Verdict.CLEAN, 0.0, total, _clean_reason(total, floor, cycles, len(tail) * size, unit)
        )
    if cycles < FULL_CYCLES and _quiet(deltas[-QUIET_CYCLES:], floor):
        return Judgement(Verdict.CLEAN, 0.0, total, _clean_reason(total, floor, cycles, QUIET_CYCLES, unit))
    if not final:
        if _late_leak_settled(grew, windows, cycles, leak_span):
            grown = f"grew in the last {len(windows) - 1} of {span}"
            return Judgement(Verdict.LEAK, slope, total, grown)
        return Judgement(Verdict.INCONCLUSIVE, slope, total, "still growing now and then", settled=False)
    if all(grew[1:]):
        grown = f"grew in the last {len(windows) - 1} of {span}"
        if cycles < FULL_CYCLES and _halving(windows[1:]):
            return _fading(grown, windows[1:], slope, total, unit)
        return Judgement(Verdict.LEAK, slope, total, grown)
    if total <= floor.over(cycles):
        return Judgement(
            Verdict.CLEAN, 0.0, total, f"no net growth over {cycles} cycles ({signed_amount(total, unit)})"
        )
    positive = sum(grew)
    return Judgement(
        Verdict.INCONCLUSIVE,
        slope,
        total,
        f"grew in {positive} of {span} ({signed_amount(total, unit)} in all): "
        "run more cycles or set a tolerance",
    )


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """The test's verdict: the most severe of its resources' (clean if none)."""
    return max(verdicts, key=lambda v: v.rank, default=Verdict.CLEAN)


def _slowing(windows: Sequence[float]) -> bool:
    """The latest window grew less than a quarter of the earlier ones' median:
    a fill that saturates (measured: a hunted ``with open`` test grew the heap
    by ``[18, 18, 20, 18, 18, 14, 18, 18, 12, 0]`` per 20 cycles while the type
    cache was not emptied), while a leak's rate stays put."""
    if len(windows) < 4:
        return False
    return windows[-1] * 4 < median(windows[: len(windows) // 2])


def _late_leak_settled(grew: Sequence[bool], windows: Sequence[float], cycles: int, leak_span: int) -> bool:
    """Growth in every window but the first, steady over a whole leak span:
    the judgement the end of the run would give, so no need to wait for it.
    A memory leak whose RSS starts to rise a window late (malloc serves the
    first cycles from free memory: ``[0, 2, 2, 2, 2, 2]`` pages) ran on to
    ``max_cycles``, twice its leak span."""
    later = windows[1:]
    return (
        leak_span > 0
        and cycles >= leak_span
        and len(later) >= 2
        and all(grew[1:])
        and not _declining(later)
        and not _slowing(later)
    )


def _declining(windows: Sequence[float]) -> bool:
    """The last third of the windows grew less than half as fast as the first
    third: the rate is still falling, as when a hunted ``with open`` test filled
    the type cache (22, 120 and 147 blocks after 100, 300 and 600 cycles) before
    it was emptied between cycles. Such a run goes on to ``max_cycles``."""
    third = max(1, len(windows) // 3)
    return 2 * sum(windows[-third:]) < sum(windows[:third])


def _halving(windows: Sequence[float]) -> bool:
    """Each window grew less than the one before, the last by at most half the
    first: how a fill that saturates looks in a run cut short (a hunted
    Markdown test that fits 12 to 16 cycles in its time budget grew the native
    heap by 3,520, 1,776 and 976 bytes in three windows, or by 14,368 and
    4,080 in two, its Python heap flat), while a leak's windows stay alike
    ([1, 1, 1] for one object every fifth cycle)."""
    shrinking = all(later < earlier for earlier, later in pairwise(windows))
    return len(windows) >= 2 and shrinking and 2 * windows[-1] <= windows[0]


def _fading(grown: str, windows: Sequence[float], slope: float, total: float, unit: str) -> Judgement:
    steps = ", ".join(signed_amount(w, unit) for w in windows)
    reason = f"{grown}, but less each time ({steps}): a fill settling or a leak; allow more time"
    return Judgement(Verdict.INCONCLUSIVE, slope, total, reason)


@dataclass(frozen=True)
class _Floor:
    """Growth that counts as flat: ``per_cycle`` times the cycles, and never
    less than the noise ``band``."""

    per_cycle: float
    band: float

    def over(self, cycles: int) -> float:
        return max(self.per_cycle * cycles, self.band)


def _flat(windows: Sequence[float], size: int, floor: _Floor) -> bool:
    return sum(windows) <= floor.over(size * len(windows))


def _quiet(deltas: Sequence[float], floor: _Floor) -> bool:
    """Flat in every window of ``QUIET_WINDOW`` cycles from the first: how a
    run of under 15 cycles (windows under 5) proves clean, and, given the last
    ``QUIET_CYCLES`` deltas, how a run of 15 to 59 cycles does whatever grew
    before them. A leak striking at least once in 10 cycles shows in one of
    those windows."""
    starts = range(0, len(deltas), QUIET_WINDOW)
    return all(sum(deltas[i : i + QUIET_WINDOW]) <= floor.over(QUIET_WINDOW) for i in starts)


def _pending(total: float, cycles: int, min_cycles: int, final: bool) -> Judgement:
    reason = f"only {cycles} cycle{'s' if cycles != 1 else ''} ran (at least {min_cycles} needed)"
    if final:
        reason += ": allow more time or lower min_cycles"
    return Judgement(Verdict.INCONCLUSIVE, 0.0, total, reason, settled=final)


def _clean_reason(total: float, floor: _Floor, cycles: int, flat_for: int, unit: str) -> str:
    if total <= floor.over(cycles):
        return f"no growth over {cycles} cycles"
    cycles_text = f"{flat_for} cycle{'s' if flat_for != 1 else ''}"
    return f"{signed_amount(total, unit)} early, then flat for the last {cycles_text} (filled up and stopped)"

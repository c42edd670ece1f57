"""The locate phase: trace allocations over extra cycles and rank the lines that grow.

Tracing starts after detection, then ``warmup`` traced cycles run before the
first snapshot (starting mid-run makes a ring buffer look like a leak: old,
untraced slots are replaced by traced ones). Three snapshots split the traced
cycles into two halves; a line *grows* when it gains in both halves, which
drops one-off allocations such as a dict resize. Each allocation is charged
to its innermost project frame (``frames.walk``) and names the library or
standard-library frame beneath; the harness's own allocations are dropped.
"""

from __future__ import annotations

import fnmatch
import gc
import linecache
import tracemalloc
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import NamedTuple

import objgraph

from leakharness.diagnose.findings import type_name
from leakharness.errors import LeakHarnessError
from leakharness.frames import Frame, Site, origin, walk
from leakharness.measure.session import Session

TRACE_FRAMES = 16  # the charged frame is the innermost in the project: rarely deeper
SAMPLES = 3  # leaked instances kept per growing type, for the holder search
# Tracing slows allocation-heavy code 13 to 35 times (1 to 5+ frames); the
# locate phase is planned with the upper figure so it keeps to the time budget.
TRACE_SLOWDOWN = 35
MIN_LOCATE_CYCLES = 4
Place = tuple[str, int]


@dataclass(frozen=True)
class Line:
    """A source line whose live allocations grow per cycle."""

    file: str
    line: int
    size_per_cycle: float
    count_per_cycle: float
    traceback: tuple[Frame, ...] = ()
    in_user_code: bool = True
    inside: Frame | None = None
    native: bool = False  # memory tracemalloc cannot see, charged to the line that ran meanwhile
    native_call: str = ""  # for a native line: the call that allocated it, as the line spells it

    @property
    def source(self) -> str:
        return linecache.getline(self.file, self.line).strip()

    @property
    def steady(self) -> bool:
        """Allocates at least one block every other cycle: the leaked objects
        themselves, rather than a container's occasional resize."""
        return self.count_per_cycle >= 0.5

    @property
    def sort_key(self) -> tuple[bool, bool, float, float]:
        """Project code first, then steady lines, then by size and count per cycle."""
        return (not self.in_user_code, not self.steady, -self.size_per_cycle, -self.count_per_cycle)

    @property
    def what(self) -> str:
        """What the line does, for a native line: empty for traced allocations."""
        if not self.native:
            return ""
        return f"native allocation inside `{self.native_call}`" if self.native_call else "native allocation"

    def __repr__(self) -> str:
        native = f" {self.what}" if self.native else ""
        return (
            f"<Line {self.file}:{self.line} size={self.size_per_cycle:+.1f} B/cycle "
            f"count={self.count_per_cycle:+.2f}/cycle{native}>"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "source": self.source,
            "size_per_cycle": self.size_per_cycle,
            "count_per_cycle": self.count_per_cycle,
            "in_user_code": self.in_user_code,
            "origin": origin(self.file).value,
            "inside": self.inside.to_dict() if self.inside else None,
            "native": self.native,
            "native_call": self.native_call or None,
            "traceback": [f.to_dict() for f in self.traceback],
        }


@dataclass(frozen=True)
class TypeGrowth:
    """A type whose gc-tracked instances grow per cycle."""

    name: str
    per_cycle: float

    def to_dict(self) -> dict[str, object]:
        return {"type": self.name, "per_cycle": self.per_cycle}


@dataclass(frozen=True)
class Location:
    """What the traced cycles kept: ranked lines and growing types."""

    cycles: int
    lines: tuple[Line, ...]
    types: tuple[TypeGrowth, ...] = field(default=())
    samples: dict[str, list[object]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def size_per_cycle(self) -> float:
        return sum(line.size_per_cycle for line in self.lines)


@dataclass
class _Tally:
    size: int = 0
    count: int = 0
    user: bool = True
    biggest: int = -1
    site: Site | None = None


class Plan(NamedTuple):
    """How many cycles the locate phase traces, after how many traced warm-up cycles."""

    cycles: int
    warmup: int


def plan(cycles: int, warmup: int, seconds_per_cycle: float, budget: float) -> Plan | None:
    """Locate cycles and traced warm-up cycles that fit in ``budget`` seconds
    (halved until they do), or None when even the fewest would not."""
    while seconds_per_cycle * (cycles + (cycles + warmup) * TRACE_SLOWDOWN) > budget:
        if cycles <= MIN_LOCATE_CYCLES and warmup <= 1:
            return None
        cycles, warmup = max(MIN_LOCATE_CYCLES, cycles // 2), max(1, warmup // 2)
    return Plan(cycles, warmup)


def locate(session: Session, planned: Plan, watch: AbstractContextManager[object] | None = None) -> Location:
    """Count growing types over the planned cycles untraced, then run the
    planned warm-up and cycles traced, and rank the lines that grew."""
    half = max(1, planned.cycles // 2)
    types, samples = _growing_types(session, 2 * half)
    # The watch starts before tracing: the table of descriptors it starts with is then not traced.
    with watch or nullcontext():  # only the traced cycles: the census must not count the watcher's notes
        session.state.start_tracing(TRACE_FRAMES)
        for _ in range(planned.warmup):
            session.run_cycle()
        snapshots = [_snapshot()]
        for _ in range(2):
            for _ in range(half):
                session.run_cycle()
            snapshots.append(_snapshot())
    # Traced no longer: tallying a leaked thread's snapshots took 11 ms traced, 0.7 ms untraced.
    session.state.stop_tracing()
    # Tallied once all are taken: what tallying keeps would be traced in the next snapshot
    # (the unclosed file's last one: 864 traces, 322 of them the tallies of the first two).
    sites: _Sites = {}
    first, middle, last = (_tallies(snapshot, sites) for snapshot in snapshots)
    ignore = session.settings.ignore
    lines = [line for line in _growing_lines(first, middle, last, 2 * half) if not ignored(line.file, ignore)]
    if any(line.in_user_code for line in lines):  # a leaked thread's own bootstrap frames say nothing
        lines = [line for line in lines if line.in_user_code]
    return Location(cycles=2 * half, lines=tuple(lines), types=types, samples=samples)


def _snapshot() -> tracemalloc.Snapshot:
    if not tracemalloc.is_tracing():
        raise LeakHarnessError(
            "the cycle called tracemalloc.stop(): the lines that leak cannot be located "
            "(leave tracing to the harness while it runs)"
        )
    return tracemalloc.take_snapshot()


def ignored(file: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(file, pattern) for pattern in patterns)


Stack = tuple[tuple[str, int], ...]  # a trace's (file, line) frames, innermost first
_Sites = dict[Stack, Site | None]


def _tallies(snapshot: tracemalloc.Snapshot, sites: _Sites) -> dict[Place, _Tally]:
    """Sizes and counts by charged frame: the library lines under one project
    line make one tally, whose traceback is that of its biggest part. ``sites``
    keeps each traceback's site for the next snapshot, which repeats most of
    them (an unclosed file's three snapshots: 97 tracebacks, 49 of them distinct)."""
    tallies: dict[Place, _Tally] = {}
    for stack, (size, count) in _by_stack(snapshot):
        if stack not in sites:
            sites[stack] = walk(stack)
        site = sites[stack]
        if site is None:
            continue
        tally = tallies.get(site.place)
        if tally is None:
            tally = tallies[site.place] = _Tally(user=site.in_project)
        tally.size += size
        tally.count += count
        if size > tally.biggest:
            tally.biggest, tally.site = size, site
    return tallies


def _by_stack(snapshot: tracemalloc.Snapshot) -> list[tuple[Stack, list[int]]]:
    """Size and count of the traces of each stack, in ``statistics``' order:
    biggest first, ties by count, then by the frames from the outermost (a
    tie left in the traces' order, which follows addresses, would name
    another stack from one run to the next)."""
    parts: dict[Stack, list[int]] = {}
    for size, stack in _traces(snapshot):
        part = parts.get(stack)
        if part is None:
            parts[stack] = [size, 1]
        else:
            part[0] += size
            part[1] += 1
    return sorted(parts.items(), key=lambda item: (*item[1], item[0][::-1]), reverse=True)


def _traces(snapshot: tracemalloc.Snapshot) -> Iterator[tuple[int, Stack]]:
    """Each trace's size and stack. Read from the snapshot's own tuples
    (domain, size, stack, frames) while they have that shape: making a Trace
    and a Traceback of each, as ``statistics`` does, cost 1.4 to 4.5 ms a
    snapshot against 0.2 to 1.2 ms (84 to 566 traces)."""
    raw = getattr(snapshot.traces, "_traces", None)
    if isinstance(raw, list) and all(_raw_shape(trace) for trace in raw[:1]):
        return ((trace[1], trace[2]) for trace in raw)
    return (
        (trace.size, tuple((f.filename, f.lineno) for f in reversed(trace.traceback)))
        for trace in snapshot.traces
    )


def _raw_shape(trace: object) -> bool:
    return (
        isinstance(trace, tuple)
        and len(trace) >= 3
        and isinstance(trace[1], int)
        and isinstance(trace[2], tuple)
        and all(isinstance(frame, tuple) and len(frame) == 2 for frame in trace[2][:1])
    )


def _growing_lines(
    first: dict[Place, _Tally], middle: dict[Place, _Tally], last: dict[Place, _Tally], cycles: int
) -> tuple[Line, ...]:
    empty = _Tally()
    lines = []
    for site, end in last.items():
        start, mid = first.get(site, empty), middle.get(site, empty)
        count_grew = mid.count > start.count and end.count > mid.count
        size_grew = mid.size > start.size and end.size > mid.size
        if (count_grew or size_grew) and end.site is not None:
            lines.append(
                Line(
                    file=site[0],
                    line=site[1],
                    size_per_cycle=(end.size - start.size) / cycles,
                    count_per_cycle=(end.count - start.count) / cycles,
                    traceback=end.site.stack(),
                    in_user_code=end.user,
                    inside=end.site.inside(),
                )
            )
    return tuple(sorted(lines, key=lambda line: line.sort_key))


def _growing_types(session: Session, cycles: int) -> tuple[tuple[TypeGrowth, ...], dict[str, list[object]]]:
    """Types whose tracked instances grew over ``cycles``, and a few of the
    instances made meanwhile that are still alive: certainly leaked ones."""
    old = gc.get_objects()
    before = dict(objgraph.typestats(objects=old, shortnames=False))
    old_ids = {id(obj) for obj in old}
    del old
    for _ in range(cycles):
        session.run_cycle()
    ours = {id(before), id(old_ids)}
    now = [obj for obj in gc.get_objects() if id(obj) not in ours]
    after = objgraph.typestats(objects=now, shortnames=False)
    grown = [  # at least two more: a single new object is a one-off, not growth
        TypeGrowth(name, (count - before.get(name, 0)) / cycles)
        for name, count in after.items()
        if count >= before.get(name, 0) + 2
    ]
    samples: dict[str, list[object]] = {t.name: [] for t in grown}
    for obj in reversed(now):  # the youngest generation comes first
        found = samples.get(type_name(obj))
        if found is not None and id(obj) not in old_ids and len(found) < SAMPLES:
            found.append(obj)
    return tuple(sorted(grown, key=lambda t: (-t.per_cycle, t.name))), samples

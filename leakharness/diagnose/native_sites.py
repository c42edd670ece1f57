"""Native attribution: the project line whose execution grows native memory.

When process memory leaks and traced Python memory explains less than a
tenth of it, a few more cycles run with tracemalloc off and line hooks on
(``native_hooks``), and a ledger charges every change of the leaking
counter to the project line and callee that ran meanwhile
(``native_ledger``). A line *grows* when it kept memory in both halves of
those cycles. The native heap is read through glibc's ``mallinfo2``; when
only RSS leaks (pages mapped outside malloc), RSS is the counter.

Measured against memory_profiler's per-line RSS (docs/benchmarks.md): the
allocator counter names the line of a 64 KiB ``malloc`` per cycle whether
its pages are touched or not, where RSS sees one page of an untouched one.
"""

from __future__ import annotations

import ast
import linecache
import tracemalloc
from collections.abc import Iterable
from time import perf_counter

from leakharness.diagnose.findings import Findings
from leakharness.diagnose.locate import Line, ignored, plan
from leakharness.diagnose.native_hooks import LineHooks
from leakharness.diagnose.native_ledger import Key, Ledger, Site
from leakharness.measure.probes import NativeHeap, ProbeUnavailable, ResidentMemory
from leakharness.measure.session import Session
from leakharness.resources import Resource
from leakharness.units import signed_size

NATIVE_CYCLES = 6  # traced in two halves, after one traced warm-up cycle
NATIVE_SHARE = 10  # traced memory under a tenth of the process memory leak: a native leak
# A read of mallinfo2 walks the allocator's free lists: 50 µs to 2 ms on a
# fragmented heap (a cycle with 30 open cv2.VideoWriters: 250 reads, 6 ms
# untraced, 28 ms traced). The traced halves keep to this share of the time
# budget, down to one cycle each.
BUDGET_SHARE = 0.1
MIN_SHARE = 0.1  # a line is shown when it kept at least this share of the leak's rate
# Calls whose own allocation is rarely the leak: they file what another call made.
FILING = frozenset({"append", "appendleft", "extend", "insert", "add", "update", "setdefault", "put"})


def native_growth(leaks: Iterable[tuple[Resource, float]], traced: float) -> tuple[Resource, float] | None:
    """The fastest-growing leaking process memory (native heap or RSS) and its
    rate, when it grows more than ten times faster than ``traced`` memory."""
    memory = [(r, rate) for r, rate in leaks if r in (Resource.NATIVE_HEAP, Resource.RSS)]
    grown = max(memory, key=lambda leak: leak[1], default=None)
    return grown if grown is not None and traced * NATIVE_SHARE < grown[1] else None


def counter_for(leaks: Iterable[tuple[Resource, float]], traced: float) -> tuple[Resource, float] | None:
    """The counter to charge lines with: the native heap when it leaks beyond
    what is traced (malloc'd memory belongs to the line that allocated it, not
    to the one that first touched its pages), else RSS (pages mapped outside
    malloc), else None: no native leak."""
    memory = dict(leaks)
    if native_growth(memory.items(), traced) is None:
        return None
    heap = memory.get(Resource.NATIVE_HEAP, 0.0)
    if heap > traced * NATIVE_SHARE:
        return Resource.NATIVE_HEAP, heap
    return Resource.RSS, memory[Resource.RSS]


def attribute(session: Session, resource: Resource, rate: float, seconds_per_cycle: float) -> Findings[Line]:
    """Run a few cycles under line hooks and return the project lines that
    kept ``resource`` (growing by ``rate`` per cycle), largest first."""
    planned = plan(NATIVE_CYCLES, 1, seconds_per_cycle, session.settings.time_budget)
    if planned is None:
        return Findings(
            notes=("native allocations not attributed: the traced cycles would outlast the time budget",)
        )
    try:
        probe = NativeHeap() if resource is Resource.NATIVE_HEAP else ResidentMemory()
    except ProbeUnavailable as err:
        return Findings(notes=(f"native allocations not attributed: {err}",))
    if tracemalloc.is_tracing() and session.state.was_tracing:
        return Findings(notes=("native allocations not attributed: tracemalloc was already tracing",))
    session.state.stop_tracing()  # its own tables are malloc'd: they would be charged to every line
    halves: list[dict[Key, int]] = [{}, {}]
    half = max(1, planned.cycles // 2)
    ledger = Ledger(probe.sample)
    try:
        with LineHooks(ledger):
            started = perf_counter()
            for _ in range(planned.warmup):
                session.run_cycle()
                ledger.end_cycle()
            traced = (perf_counter() - started) / planned.warmup
            ledger.skip_quiet = True
            allowance = session.settings.time_budget * BUDGET_SHARE
            half = max(1, min(half, int(allowance / (2 * traced or 1e-9))))
            for kept in halves:
                for _ in range(half):
                    session.run_cycle()
                    for key, amount in ledger.end_cycle().items():
                        kept[key] = kept.get(key, 0) + amount
    finally:
        if isinstance(probe, ResidentMemory):
            probe.close()
    found = _lines(halves, ledger, 2 * half, max(resource.floor, MIN_SHARE * rate))
    lines = [line for line in found if not ignored(line.file, session.settings.ignore)]
    if not lines:
        grew = f"{resource.label} grew {signed_size(rate)}/cycle"
        return Findings(notes=(f"{grew}, but no project line kept it over {2 * half} cycles",))
    return Findings(tuple(lines))


def _lines(halves: list[dict[Key, int]], ledger: Ledger, cycles: int, least: float) -> tuple[Line, ...]:
    """Sites that kept memory in both halves, at least ``least`` per cycle."""
    by_site: dict[Site, list[dict[str, int]]] = {}
    for index, kept in enumerate(halves):
        for (site, callee), amount in kept.items():
            callees = by_site.setdefault(site, [{}, {}])[index]
            callees[callee] = callees.get(callee, 0) + amount
    lines = []
    for site, (first, second) in by_site.items():
        per_cycle = (sum(first.values()) + sum(second.values())) / cycles
        if not (
            first and second and sum(first.values()) > 0 and sum(second.values()) > 0 and per_cycle >= least
        ):
            continue
        callee = max(second, key=lambda name: first.get(name, 0) + second[name])
        source = linecache.getline(site[0], site[1]).strip()
        lines.append(
            Line(
                file=site[0],
                line=site[1],
                size_per_cycle=per_cycle,
                count_per_cycle=0.0,
                traceback=ledger.stacks.get((site, callee), ()),
                native=True,
                native_call=called_name(source, callee),
            )
        )
    return tuple(sorted(lines, key=lambda line: -line.size_per_cycle))


def called_name(source: str, callee: str) -> str:
    """How ``source`` spells the call to ``callee`` (a callable's short
    name, "" when unknown): ``libc.malloc`` rather than ``malloc``. Without a
    callee, the outermost call that does not merely file a result."""
    calls = _calls(source)
    for call in calls:
        if callee and _last_name(call) == callee:
            return ast.unparse(call.func)
    if callee:
        return callee
    filing = [call for call in calls if _last_name(call) not in FILING]
    chosen = filing or calls
    return ast.unparse(chosen[0].func) if chosen else ""


def _calls(source: str) -> list[ast.Call]:
    for text in (source, source + "\n    pass"):  # a compound statement's header: `with open(p) as f:`
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    return []


def _last_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""

"""The one core call: detect, judge, and (only when suspicious) locate and confirm."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, replace
from time import perf_counter

from leakharness.config import Settings, require_settings
from leakharness.diagnose.diagnosis import Diagnosis, Watch, diagnose
from leakharness.diagnose.findings import Findings
from leakharness.diagnose.locate import Line, Location, locate, plan
from leakharness.diagnose.native_sites import attribute, counter_for, native_growth
from leakharness.judge.classify import classify
from leakharness.judge.tolerance import Tolerated
from leakharness.judge.verdict import Judgement, Verdict, combine
from leakharness.measure.async_cycle import LoopCycle, as_cycle
from leakharness.measure.detect import Detection, detect
from leakharness.measure.probes import make_probes
from leakharness.measure.session import Cycle, Session, Tick
from leakharness.measure.state import preserved_state
from leakharness.report.model import ResourceResult, TestReport
from leakharness.resources import Resource
from leakharness.units import signed_amount, signed_size


@dataclass(frozen=True)
class _Run:
    """What the measuring phases produced, before any judging for the report."""

    detection: Detection
    location: Location | None
    watch: Watch | None
    notes: tuple[str, ...]
    native_lines: tuple[Line, ...] = ()


def examine(
    cycle: Cycle,
    settings: Settings | None = None,
    test_id: str = "",
    tick: Tick | None = None,
    *,
    ran_before: int = 0,
) -> TestReport:
    """Repeat ``cycle`` and report what it leaks. Exceptions from the cycle
    propagate unchanged, after the process state has been restored. An async
    cycle runs on one event loop (see ``measure.async_cycle``). ``tick`` is
    called every 0.2 s of detection with the cycles run and the seconds left.
    ``ran_before`` runs of the cycle just before (a test run once as written)
    count toward the warm-up."""
    settings = Settings() if settings is None else require_settings(settings)
    with closing(as_cycle(cycle)) as adapted:
        return _examine(adapted, settings, test_id or adapted.name, tick, ran_before)


def _examine(
    cycle: LoopCycle, settings: Settings, test_id: str, tick: Tick | None, ran_before: int
) -> TestReport:
    started = perf_counter()
    run = _measure(cycle, settings, tick, ran_before)
    results = tuple(
        sorted(
            (_result(r, t, run.detection, run.location) for r, t in run.detection.judgements.items()),
            key=lambda result: result.sort_key,
        )
    )
    verdict = combine(r.verdict for r in results)
    location = run.location
    traced = location.size_per_cycle if location else 0.0
    native = _native(results, traced)
    diagnosis = Diagnosis()
    if verdict is Verdict.LEAK:
        diagnosis = diagnose(
            run.watch,
            location.types if location and _kept_objects(results) else (),
            location.samples if location else {},
            cycle if settings.memory_profile and native else None,
            graph=settings.holder_graph,
        )
    shown = verdict in (Verdict.LEAK, Verdict.INCONCLUSIVE) and location is not None
    leaks = [r for r in results if r.verdict is Verdict.LEAK]
    return TestReport(
        id=test_id,
        verdict=verdict,
        cycles=run.detection.cycles,
        warmup_cycles=run.detection.warmup,
        seconds=perf_counter() - started,
        resources=results,
        lines=_trim(run.native_lines, location, settings) if shown else (),
        types=location.types[: settings.top_lines] if shown and location else (),
        located_cycles=location.cycles if location else 0,
        reason=summary(results) + (_native_note(native, traced) if native else ""),
        notes=run.notes,
        classification=classify(
            leaks, native=native is not None, sockets=diagnosis.sockets, traced_bytes=traced
        ),
        diagnosis=diagnosis,
    )


def _measure(cycle: LoopCycle, settings: Settings, tick: Tick | None, ran_before: int) -> _Run:
    """Detect with cheap probes; locate (and watch) only what grew."""
    location, watch = None, None
    native: Findings[Line] = Findings()
    probe_set = make_probes(settings.resources, cycle)
    with preserved_state() as state, closing(probe_set):
        state.freeze()  # before warm-up: its collections then cost nothing for the user's heap
        session = Session(cycle, settings, state, tick=tick, ran_before=ran_before)
        detection = detect(session, probe_set.probes)
        froze = state.froze
        suspicious = [
            r
            for r, t in detection.judgements.items()
            if _suspicious(t.judgement)
            and (t.judgement.verdict is Verdict.LEAK or detection.cycles >= settings.min_cycles)
        ]
        per_cycle = detection.seconds / max(1, detection.cycles)
        budgeted = plan(settings.locate_cycles, settings.warmup, per_cycle, settings.time_budget)
        if suspicious and budgeted:
            watch = Watch(suspicious, cycle, probe_set.probes)
            location = locate(session, budgeted, watch)
            watch.describe()
            grown = counter_for(_leaking(detection), location.size_per_cycle)
            if grown is not None:
                native = attribute(session, *grown, per_cycle)
    notes = [*probe_set.notes, *native.notes]
    if suspicious and not budgeted:
        notes.append(
            f"not located: at {per_cycle:.2g} s a cycle, traced cycles would outlast the time budget"
        )
    if not froze:
        notes.append("gc.freeze() was already in use: collections cost more, gc objects count all")
    notes.append(f"detection stopped: {detection.stopped}")
    return _Run(detection, location, watch, tuple(notes), tuple(native))


def _kept_objects(results: tuple[ResourceResult, ...]) -> bool:
    """Objects leak, and not through leaked threads or pending asyncio tasks
    (whose own frames hold everything they use: their tables say more, and a
    holder search from a sleeping heartbeat task's objects took 5 s): worth
    finding what holds them."""
    leaked = {r.resource for r in results if r.verdict is Verdict.LEAK}
    return bool(leaked & {Resource.HEAP, Resource.OBJECTS}) and not leaked & {
        Resource.THREADS,
        Resource.NATIVE_THREADS,
        Resource.TASKS,
    }


def _suspicious(judgement: Judgement) -> bool:
    return judgement.verdict is Verdict.LEAK or (
        judgement.verdict is Verdict.INCONCLUSIVE and judgement.total_growth > 0
    )


def _result(
    resource: Resource, tolerated: Tolerated, detection: Detection, location: Location | None
) -> ResourceResult:
    judgement = tolerated.judgement
    verdict, reason = judgement.verdict, judgement.reason
    if location is not None and _suspicious(judgement):
        verdict, reason = _confirm(resource, judgement, location)
    return ResourceResult(
        resource=resource,
        verdict=verdict,
        growth_per_cycle=judgement.growth_per_cycle if verdict is not Verdict.CLEAN else 0.0,
        total_growth=judgement.total_growth,
        reason=reason,
        series=tuple(detection.samples.series(resource)),
        warning=tolerated.warning,
    )


def _confirm(resource: Resource, judgement: Judgement, location: Location) -> tuple[Verdict, str]:
    """Heap and object counts have interpreter noise (free lists, caches):
    a suspicion stands only if traced allocations or tracked types grow too."""
    if resource is Resource.HEAP and not location.lines:
        return Verdict.CLEAN, (
            f"blocks grew ({judgement.reason}) but traced allocations did not over "
            f"{location.cycles} cycles: interpreter free lists or caches"
        )
    if resource is Resource.OBJECTS and not location.types:
        return Verdict.CLEAN, (
            f"count grew ({judgement.reason}) but no type kept growing over {location.cycles} cycles"
        )
    return judgement.verdict, judgement.reason


def _trim(native: tuple[Line, ...], location: Location | None, settings: Settings) -> tuple[Line, ...]:
    """The lines to show: those that grew native memory first (a native leak's
    bulk), then the traced ones."""
    lines = (*native, *(location.lines if location else ()))
    return tuple(
        replace(line, traceback=line.traceback[: settings.traceback_depth])
        for line in lines[: settings.top_lines]
    )


def _leaking(detection: Detection) -> list[tuple[Resource, float]]:
    return [
        (r, t.judgement.growth_per_cycle)
        for r, t in detection.judgements.items()
        if t.judgement.verdict is Verdict.LEAK
    ]


def _native(results: tuple[ResourceResult, ...], traced: float) -> tuple[Resource, float] | None:
    """The fastest-growing leaking process memory, when traced Python memory
    explains less than a tenth of it: a native leak."""
    return native_growth(
        ((r.resource, r.growth_per_cycle) for r in results if r.verdict is Verdict.LEAK), traced
    )


def _native_note(grown: tuple[Resource, float], traced: float) -> str:
    resource, rate = grown
    return (
        f"; native allocation, not visible to tracemalloc ({resource.label} "
        f"{signed_size(rate)}/cycle, traced Python memory {signed_size(traced)}/cycle)"
    )


def summary(results: tuple[ResourceResult, ...], whose: str = "", per: str = "cycle") -> str:
    """One line on what leaked, else what is unsure; ``whose`` names what was
    examined (``"the server"``), ``per`` the unit of repetition."""
    leaks = [r for r in results if r.verdict is Verdict.LEAK]
    if leaks:
        return f"{whose} leaks ".lstrip() + ", ".join(
            f"{r.resource.label} {signed_amount(r.growth_per_cycle, r.resource.unit)}/{per}" for r in leaks
        )
    unsure = [r for r in results if r.verdict is Verdict.INCONCLUSIVE]
    if unsure:
        return "inconclusive: " + "; ".join(f"{r.resource.label}: {r.reason}" for r in unsure)
    return f"no resource of {whose} grew" if whose else "no resource grew"

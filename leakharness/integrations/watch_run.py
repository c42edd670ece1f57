"""Rounds of load against a server in another process, judged as cycles are.

A round is one run of the load; after each, the server's process tree is
sampled. The series are judged by the same verdict rules and tolerances as
in-process cycles (``judge_all``), and the run stops early once every
resource is settled or a count (descriptors, threads, connections, workers)
leaks steadily. The report has no lines: another process's allocations
cannot be traced from here.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Protocol

from leakharness.config import Settings
from leakharness.errors import LeakHarnessError
from leakharness.examine import summary
from leakharness.integrations.watch_process import ProcessTree, TreeProbe
from leakharness.judge.classify import classify
from leakharness.judge.tolerance import Tolerated
from leakharness.judge.verdict import Verdict, combine
from leakharness.measure.detect import judge_all
from leakharness.measure.samples import Samples
from leakharness.report.model import ResourceResult, TestReport
from leakharness.resources import Resource

NO_LINES = (
    "no lines to locate in another process: send the same requests to the app in-process "
    "with leakharness.wsgi_cycle or leakharness.asgi_cycle to find them"
)
Progress = Callable[[int, int], None]  # rounds done, most rounds


class Load(Protocol):
    """One round of load: raises LoadError when it cannot be sent."""

    def __call__(self) -> None: ...

    def describe(self) -> str: ...


def watch_rounds(
    tree: ProcessTree, load: Load, settings: Settings, progress: Progress | None = None
) -> TestReport:
    """Warm up, then sample the tree after every round until settled, the
    most rounds (``max_cycles``) or the time budget; judge and report."""
    started = perf_counter()
    test_id = f"pid {tree.root.pid} ({tree.command})"
    probes = [TreeProbe(tree, r) for r in tree.resources if r in settings.resources]
    if not probes:
        raise LeakHarnessError("none of the chosen resources can be sampled of this process")
    samples = Samples(probes, settings.max_cycles + 1)
    stopped = f"the most rounds ({settings.max_cycles})"
    try:
        for _ in range(settings.warmup):
            load()
        tree.settle()
        tree.sample()
        samples.record()
        deadline = perf_counter() + settings.time_budget
        while not samples.full:
            load()
            tree.settle()
            tree.sample()
            samples.record()
            if progress is not None:
                progress(samples.count - 1, settings.max_cycles)
            if samples.count > settings.min_cycles:
                reason = _settled(judge_all(samples, settings, final=False))
                if reason:
                    stopped = reason
                    break
            if perf_counter() > deadline:
                stopped = f"time budget ({settings.time_budget:g} s)"
                break
    except LeakHarnessError as err:  # the load failed or the server ended: an error, not a verdict
        return TestReport(
            id=test_id,
            verdict=Verdict.ERROR,
            cycles=max(0, samples.count - 1),
            seconds=perf_counter() - started,
            reason=str(err),
            error=str(err),
        )
    judged = judge_all(samples, settings, final=True)
    results = tuple(sorted((_result(r, t, samples) for r, t in judged.items()), key=lambda r: r.sort_key))
    verdict = combine(r.verdict for r in results)
    leaks = [r for r in results if r.verdict is Verdict.LEAK]
    notes = (
        f"a cycle is a round: {load.describe()}",
        f"sampled pid {tree.root.pid} and its children after every round",
        f"stopped: {stopped}",
        *tree.notes,
    )
    return TestReport(
        id=test_id,
        verdict=verdict,
        cycles=samples.count - 1,
        seconds=perf_counter() - started,
        resources=results,
        reason=summary(results, "the server", "round") + (f"; {NO_LINES}" if leaks else ""),
        notes=notes if leaks else (*notes, NO_LINES),
        classification=classify(leaks, sockets=any(r.resource is Resource.CONNECTIONS for r in leaks)),
    )


def _settled(judgements: dict[Resource, Tolerated]) -> str:
    """Why the rounds can stop now, or "" to go on."""
    if all(t.judgement.settled for t in judgements.values()):
        return "settled"
    for resource, tolerated in judgements.items():
        if resource.exact and tolerated.judgement.settled and tolerated.judgement.verdict is Verdict.LEAK:
            return f"{resource.label} leak settled"
    return ""


def _result(resource: Resource, tolerated: Tolerated, samples: Samples) -> ResourceResult:
    judgement = tolerated.judgement
    return ResourceResult(
        resource=resource,
        verdict=judgement.verdict,
        growth_per_cycle=judgement.growth_per_cycle if judgement.verdict is not Verdict.CLEAN else 0.0,
        total_growth=judgement.total_growth,
        reason=judgement.reason,
        series=tuple(samples.series(resource)),
        warning=tolerated.warning,
    )

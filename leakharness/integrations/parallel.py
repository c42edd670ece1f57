"""Spread a hunt over worker processes (``--jobs N``), or keep one shard of it
(``--shard K/N``) so that a CI matrix splits a suite across machines.

Tests are grouped by module, so that module and class fixtures run once per
group as in a serial run. Workers take the groups biggest first, each the next
group as soon as it is free, so that one slow module does not hold up the
tests dealt out with it. Shards are dealt out biggest first to the least
loaded shard: the same tests always make the same shards. Each worker is a
process of its own: its cycles, probes and process state never meet another
worker's.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from time import perf_counter, time

from leakharness.config import Settings
from leakharness.errors import LeakHarnessError
from leakharness.integrations.hunt import Progress, hunt
from leakharness.integrations.targets import Test, load_tests
from leakharness.measure.session import Tick
from leakharness.report.model import Report, TestReport

# A worker's tests: inherited when the worker is forked, loaded again when spawned.
_WORKER_TESTS: list[Test] = []


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` as (index 1, count 4); a one-line error for anything else."""
    number, sep, count = text.partition("/")
    try:
        k, n = int(number), int(count)
    except ValueError:
        k, n = 0, 0
    if not sep or not 1 <= k <= n:
        raise LeakHarnessError(f"--shard must be K/N with 1 <= K <= N (got {text!r})")
    return k - 1, n


def modules(tests: list[Test]) -> list[list[int]]:
    """Indices of ``tests`` grouped by module, the biggest group first (then
    in the original order), each group in the original order."""
    groups: dict[str, list[int]] = {}
    for index, test in enumerate(tests):
        groups.setdefault(type(test).__module__, []).append(index)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def deal(tests: list[Test], count: int) -> list[list[int]]:
    """Indices of ``tests`` in ``count`` parts of about equal size, whole
    modules together, each part in the original order."""
    parts: list[list[int]] = [[] for _ in range(count)]
    for group in modules(tests):
        min(parts, key=len).extend(group)  # min() takes the first of equals: deterministic
    return [sorted(part) for part in parts]


def shard(tests: list[Test], index: int, count: int) -> list[Test]:
    """The tests of shard ``index`` (from 0) of ``count``."""
    return [tests[i] for i in deal(tests, count)[index]]


def hunt_in_workers(
    tests: list[Test],
    settings: Settings,
    progress: Progress | None = None,
    *,
    jobs: int,
    reload: tuple[list[str], str],
    buffer: bool = False,
    tick: Tick | None = None,
) -> Report:
    """Hunt ``tests`` in ``jobs`` processes and merge their reports in test order.
    ``reload`` (targets and pattern) lets a spawned worker find the same tests.
    Progress comes as modules finish; ``tick`` (progress within a test) cannot
    cross processes and is not called."""
    if jobs < 1:
        raise LeakHarnessError(f"--jobs must be >= 1 (got {jobs})")
    groups = modules(tests)
    if jobs == 1 or len(groups) <= 1:
        return hunt(tests, settings, progress, buffer=buffer, tick=tick)
    started = perf_counter()
    begun = time()  # not perf_counter(): the run budget's start must mean the same in every worker
    _WORKER_TESTS[:] = tests  # what a forked worker inherits
    try:
        workers = min(jobs, len(groups))
        with ProcessPoolExecutor(
            workers, mp_context=_context(), initializer=_start_worker, initargs=(*reload, sys.path)
        ) as pool:
            # Submitted biggest first; each free worker takes the next group.
            futures = {pool.submit(_hunt_module, group, settings, buffer, begun): group for group in groups}
            reports = _collect(futures, len(tests), progress)
    finally:
        _WORKER_TESTS.clear()
    ordered = [reports[i] for i in range(len(tests))]
    return Report(tests=tuple(ordered), settings=settings.to_dict(), seconds=perf_counter() - started)


def _collect(
    futures: dict[Future[list[TestReport]], list[int]], total: int, progress: Progress | None
) -> dict[int, TestReport]:
    """Each worker's reports by test index, as the workers finish."""
    reports: dict[int, TestReport] = {}
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                for index, report in zip(futures[future], future.result(), strict=True):
                    reports[index] = report
            if progress:
                progress(len(reports), total, f"{len(futures) - len(pending)} of {len(futures)} modules done")
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    return reports


def _context() -> multiprocessing.context.BaseContext:
    """Fork where it is safe and cheap (Linux: the tests are inherited, not
    imported again); spawn elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if sys.platform == "linux" and "fork" in methods else "spawn")


def _start_worker(targets: list[str], pattern: str, path: list[str]) -> None:
    if not _WORKER_TESTS:  # spawned, not forked: find the same tests again
        sys.path[:] = path
        _WORKER_TESTS.extend(load_tests(targets, pattern))


def _hunt_module(indices: list[int], settings: Settings, buffer: bool, begun: float) -> list[TestReport]:
    tests = [_WORKER_TESTS[i] for i in indices]
    report = hunt(tests, settings, buffer=buffer, spent=max(0.0, time() - begun))
    return list(report.tests)

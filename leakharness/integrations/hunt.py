"""Hunt mode: run existing unittest tests as cycles (setUp + test + tearDown).

Each test first runs once as written. One that fails, errors or skips is
reported as such and never hunted. ``LeakTestCase`` tests, and methods
decorated with ``no_leaks``, run as written and their findings join the
report. Class and module fixtures run once around the tests they serve.
"""

from __future__ import annotations

import copy
import inspect
import sys
import traceback
import unittest
from collections.abc import Callable
from dataclasses import dataclass, replace
from time import perf_counter
from typing import Any

from leakharness.config import Settings
from leakharness.errors import LeakHarnessError
from leakharness.examine import examine
from leakharness.frames import Origin, add_project_root, calls_code_under_test, origin
from leakharness.integrations.capture import captured
from leakharness.integrations.testcase import LeakTestCase, RunContext
from leakharness.judge.verdict import Verdict
from leakharness.measure.session import Tick
from leakharness.report.model import Report, TestReport

Progress = Callable[[int, int, str], None]


class TestFailed(Exception):
    """A hunted test failed or errored on a later cycle."""

    __test__ = False

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def hunt(
    tests: list[unittest.TestCase],
    settings: Settings,
    progress: Progress | None = None,
    *,
    buffer: bool = False,
    tick: Tick | None = None,
    spent: float = 0.0,
) -> Report:
    """Examine every test and return the run's Report. With ``buffer``, each
    test's output is captured and kept in the reports of errors and leaks;
    ``tick`` hears from within a test's detection (cycles run, seconds left);
    ``spent`` is what the run budget lost before these tests (in a worker)."""
    started = perf_counter()
    reports: list[TestReport] = []
    fixtures = _Fixtures()
    for test in tests:
        _declare_installed_target(test)
    try:
        for index, test in enumerate(tests):
            if progress:
                progress(index, len(tests), test.id())
            budgeted = _within_run_budget(settings, spent + perf_counter() - started)
            if budgeted is None:
                reason = f"not run: the run budget ({settings.run_budget:g} s) was spent"
                reports.append(TestReport(test.id(), Verdict.INCONCLUSIVE, reason=reason))
                continue
            with captured(buffer) as output:
                failure = fixtures.enter(test)
                found = [failure] if failure else examine_test(test, budgeted, tick)
            reports.extend(_with_output(report, output.text) for report in found)
    finally:
        fixtures.close()
    return Report(tests=tuple(reports), settings=settings.to_dict(), seconds=perf_counter() - started)


def _declare_installed_target(test: unittest.TestCase) -> None:
    """An installed package whose own tests are hunted is the project: its
    files are charged like project code, not as a library's."""
    top = sys.modules.get(type(test).__module__.partition(".")[0])
    folders = getattr(top, "__path__", None)
    where = next(iter(folders)) if folders else getattr(top, "__file__", None)
    if isinstance(where, str) and origin(where) is Origin.LIBRARY:
        add_project_root(where)


def _within_run_budget(settings: Settings, elapsed: float) -> Settings | None:
    """The test's settings with its time budget cut to what the run has left,
    or None when nothing is left."""
    if settings.run_budget is None:
        return settings
    left = settings.run_budget - elapsed
    if left <= 0:
        return None
    return (
        settings.replace(time_budget=min(settings.time_budget, left))
        if left < settings.time_budget
        else settings
    )


def _with_output(report: TestReport, output: str) -> TestReport:
    shown = output and report.verdict in (Verdict.LEAK, Verdict.ERROR)
    return replace(report, output=output) if shown else report


def examine_test(test: unittest.TestCase, settings: Settings, tick: Tick | None = None) -> list[TestReport]:
    """The reports of one test: hunted, or its own findings if it runs as written."""
    if _runs_as_written(test):
        return _run_as_written(test, settings)
    never = _never_runs(test)
    if never:
        return [TestReport(test.id(), Verdict.ERROR, reason=never)]
    first = _run_once(test)
    if first is not None:
        return [first]
    try:
        return [examine(_cycle_of(test), settings, test_id=test.id(), tick=tick, ran_before=1)]
    except TestFailed as failed:
        return [TestReport(test.id(), Verdict.ERROR, reason="failed on a repeated cycle", error=failed.text)]
    except LeakHarnessError as err:
        return [TestReport(test.id(), Verdict.ERROR, reason=str(err))]


def _runs_as_written(test: unittest.TestCase) -> bool:
    method = getattr(test, getattr(test, "_testMethodName", ""), None)
    return isinstance(test, LeakTestCase) or getattr(method, "__leakharness__", False)


def _never_runs(test: unittest.TestCase) -> str | None:
    """Why unittest would pass ``test`` without running its body: it calls a
    generator (or, outside an IsolatedAsyncioTestCase, a coroutine) test
    method and drops what that returns. None when the body runs."""
    method = getattr(test, getattr(test, "_testMethodName", ""), None)
    if inspect.isgeneratorfunction(method) or inspect.isasyncgenfunction(method):
        return "a generator test method: unittest calls it and none of its body runs"
    if inspect.iscoroutinefunction(method) and not isinstance(test, unittest.IsolatedAsyncioTestCase):
        return (
            "an async def test on a plain TestCase: unittest never awaits it; "
            "derive the class from unittest.IsolatedAsyncioTestCase"
        )
    return None


def _outcome(test: unittest.TestCase, result: unittest.TestResult) -> TestReport | None:
    """None for a pass; otherwise the report of the skip, failure or error."""
    if result.skipped:
        return TestReport(test.id(), Verdict.SKIPPED, reason=str(result.skipped[0][1]))
    problems = result.errors + result.failures
    if problems:
        return TestReport(test.id(), Verdict.ERROR, reason="the test failed on its own", error=problems[0][1])
    if result.unexpectedSuccesses:
        return TestReport(test.id(), Verdict.ERROR, reason="unexpected success")
    if result.expectedFailures:
        return TestReport(test.id(), Verdict.SKIPPED, reason="expected failure: not hunted")
    return None


def _fresh(test: unittest.TestCase) -> unittest.TestCase:
    """A new instance of ``test``'s case, or a copy where the class is not made
    from a method name (doctest and function test cases)."""
    if _made_from_method_name(type(test)):
        return type(test)(test._testMethodName)
    return copy.copy(test)


_MADE_FROM_METHOD_NAME: dict[type, bool] = {}  # inspect.signature cost 80 µs a cycle


def _made_from_method_name(case: type[unittest.TestCase]) -> bool:
    known = _MADE_FROM_METHOD_NAME.get(case)
    if known is None:
        known = _MADE_FROM_METHOD_NAME[case] = "methodName" in inspect.signature(case).parameters
    return known


def _run_once(test: unittest.TestCase) -> TestReport | None:
    result = unittest.TestResult()
    _fresh(test).run(result)
    return _outcome(test, result)


def _cycle_of(test: unittest.TestCase) -> Callable[[], None]:
    @calls_code_under_test
    def cycle() -> None:
        result = unittest.TestResult()
        _fresh(test).run(result)
        if not result.wasSuccessful() or result.skipped:
            problems = result.errors + result.failures
            raise TestFailed(problems[0][1] if problems else "skipped on a repeated cycle")

    # What a line-by-line memory profile looks into: the test method's own lines.
    cycle.__wrapped__ = getattr(type(test), test._testMethodName)  # type: ignore[attr-defined]
    return cycle


def _run_as_written(test: unittest.TestCase, settings: Settings) -> list[TestReport]:
    findings: list[TestReport] = []
    RunContext(settings, findings.append).attach(test)
    result = unittest.TestResult()
    started = perf_counter()
    test.run(result)
    seconds = perf_counter() - started
    named = [_renamed(f, test.id(), i) for i, f in enumerate(findings)]
    leaked = any(f.verdict is Verdict.LEAK for f in named)
    if result.errors or (result.failures and not leaked) or not named:
        outcome = _outcome(test, result)
        if outcome is not None:
            return [outcome]
    if named:
        return named
    return [
        TestReport(
            test.id(), Verdict.CLEAN, seconds=seconds, reason="ran as written: no leak assertion in it"
        )
    ]


def _renamed(report: TestReport, test_id: str, index: int) -> TestReport:
    return replace(report, id=test_id if index == 0 else f"{test_id}#{index + 1}")


class _Fixtures:
    """Runs setUpModule/setUpClass once before a class's first test and the
    matching teardowns after its last, as unittest's suite does. A fixture
    that raises SkipTest skips the tests it serves."""

    def __init__(self) -> None:
        self._class: type | None = None
        self._module: str | None = None
        self._class_outcome: _Outcome | None = None
        self._module_outcome: _Outcome | None = None

    def enter(self, test: unittest.TestCase) -> TestReport | None:
        cls = type(test)
        if cls.__module__ != self._module:
            self._leave_class()
            self._leave_module()
            self._module = cls.__module__
            self._module_outcome = _call(sys.modules.get(self._module), "setUpModule")
        if cls is not self._class:
            self._leave_class()
            self._class = cls
            if not getattr(cls, "__unittest_skip__", False) and self._module_outcome is None:
                self._class_outcome = _call(cls, "setUpClass")
        if getattr(cls, "__unittest_skip__", False):
            why = getattr(cls, "__unittest_skip_why__", "")
            return TestReport(test.id(), Verdict.SKIPPED, reason=f"class skipped: {why}")
        outcome = self._module_outcome or self._class_outcome
        if outcome is None:
            return None
        if outcome.skipped:
            return TestReport(test.id(), Verdict.SKIPPED, reason=f"skipped by a fixture: {outcome.text}")
        return TestReport(test.id(), Verdict.ERROR, reason="a fixture failed", error=outcome.text)

    def close(self) -> None:
        self._leave_class()
        self._leave_module()

    def _leave_class(self) -> None:
        if self._class is not None and self._class_outcome is None and self._module_outcome is None:
            if not getattr(self._class, "__unittest_skip__", False):
                _call(self._class, "tearDownClass")
                _call(self._class, "doClassCleanups")
        self._class, self._class_outcome = None, None

    def _leave_module(self) -> None:
        if self._module is not None and self._module_outcome is None:
            _call(sys.modules.get(self._module), "tearDownModule")
            _call(unittest.case, "doModuleCleanups")
        self._module, self._module_outcome = None, None


@dataclass(frozen=True)
class _Outcome:
    """How a fixture that did not simply return ended."""

    skipped: bool
    text: str  # the skip's reason, or the formatted traceback


def _call(owner: Any, name: str) -> _Outcome | None:
    """Call ``owner.name()`` if it exists; how it ended, unless it returned.
    SystemExit is a failure too: a fixture must not end the whole run."""
    function = getattr(owner, name, None)
    if function is None:
        return None
    try:
        function()
    except unittest.SkipTest as skip:
        return _Outcome(skipped=True, text=str(skip))
    except (Exception, SystemExit):
        return _Outcome(skipped=False, text=traceback.format_exc())
    return None

"""Running one pytest item under the plugin: examined, or as written.

An examined item runs once through pytest's phases; if it skips, fails or
errors it is reported as that and never repeated. Otherwise it is repeated
(``Repeater``) and, when it leaks, its call report fails with LeakError's
text. An item that examines cycles itself (``leak_check``, ``LeakTestCase``,
``no_leaks``-decorated methods) runs once; its own reports are its findings.
Either way the findings ride on the item's last report (pytest_results).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from leakharness.config import Settings
from leakharness.integrations.pytest_protocol import (
    Repeater,
    TestFailed,
    doctest_globals,
    first_failure,
    run_phase,
)
from leakharness.integrations.pytest_results import Finding, attach
from leakharness.judge.verdict import Verdict

if TYPE_CHECKING:
    from leakharness.integrations.testcase import RunContext
    from leakharness.report.model import TestReport

FIXTURE = "leak_check"
Render = Callable[["TestReport"], Finding]
REPEATED = (
    "passed once, then failed when repeated: it depends on what an earlier run changed "
    "(or it is flaky), so it cannot be examined as a cycle"
)
CONTEXT: pytest.StashKey[RunContext] = pytest.StashKey()


def runs_as_written(item: pytest.Item) -> bool:
    """The test examines cycles itself: repeating it would nest the harness."""
    if FIXTURE in getattr(item, "fixturenames", ()):
        return True
    if getattr(getattr(item, "obj", None), "__leakharness__", False):
        return True
    testcase = sys.modules.get("leakharness.integrations.testcase")  # no subclass before its import
    cls = getattr(item, "cls", None)
    return testcase is not None and isinstance(cls, type) and issubclass(cls, testcase.LeakTestCase)


def examine_item(item: pytest.Item, nextitem: pytest.Item | None, settings: Settings, render: Render) -> None:
    from leakharness.examine import examine

    globs = doctest_globals(item)
    setup = run_phase(item, "setup")
    _log(item, setup)
    call = run_phase(item, "call") if setup.passed else None
    if call is None or not call.passed:
        if call is not None:
            _log(item, call)
        _finish(item, nextitem, [render(own_outcome(item, call or setup))])
        return
    own_failure = None
    try:
        test = examine(Repeater(item, globs), settings, test_id=item.nodeid, ran_before=1)
    except TestFailed as failed:
        if failed.own:  # the first run's teardown failed: that run's outcome
            own_failure, test = failed.report, own_outcome(item, failed.report)
        else:
            test = _report(item, Verdict.ERROR, REPEATED, error=failed.text)
            call.outcome, call.longrepr = "failed", f"{REPEATED}:\n\n{failed.text}"
    except Exception:  # the harness itself failed: this test's error, not the session's
        error = traceback.format_exc()
        test = _report(item, Verdict.ERROR, "leakharness could not examine this test", error=error)
        call.outcome, call.longrepr = "failed", f"leakharness could not examine this test:\n\n{error}"
    if test.verdict is Verdict.LEAK:
        call.outcome, call.longrepr = "failed", leak_text(test, report_width(item.config))
    _log(item, call)
    _finish(item, nextitem, [render(test)], own_failure)


def run_as_written(
    item: pytest.Item, nextitem: pytest.Item | None, settings: Settings, render: Render, examined: bool
) -> None:
    from leakharness.integrations.testcase import RunContext

    found: list[TestReport] = []
    context = RunContext(settings, found.append)
    item.stash[CONTEXT] = context  # the leak_check fixture's findings go there
    reports = [run_phase(item, "setup")]
    _log(item, reports[0])
    if reports[0].passed:
        testcase = getattr(item, "_testcase", None)  # a unittest TestCase made by this setup
        if testcase is not None:
            context.attach(testcase)
        reports.append(run_phase(item, "call"))
        _log(item, reports[-1])
    final = run_phase(item, "teardown", nextitem=_following(item, nextitem))
    del item.stash[CONTEXT]
    tests = [replace(t, id=item.nodeid if i == 0 else f"{item.nodeid}#{i + 1}") for i, t in enumerate(found)]
    failed = first_failure([*reports, final])
    if failed is not None and not any(t.verdict is Verdict.LEAK for t in tests):
        tests = [own_outcome(item, failed)]
    elif not tests and examined:
        tests = [_report(item, Verdict.CLEAN, "ran as written: no leak assertion in it")]
    attach(final, [render(test) for test in tests])
    _log(item, final)


def own_outcome(item: pytest.Item, report: Any) -> TestReport:
    """The report of a test that skipped or failed on its own: not repeated."""
    if report.skipped:
        if hasattr(report, "wasxfail"):
            return _report(item, Verdict.SKIPPED, "expected failure: not repeated")
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return _report(item, Verdict.SKIPPED, reason)
    reason = f"the test failed on its own ({report.when})"
    return _report(item, Verdict.ERROR, reason, error=report.longreprtext)


def leak_text(test: TestReport, width: int) -> str:
    """LeakError's text for ``test``: its reason, then its report ``width`` wide."""
    from leakharness.errors import LeakError
    from leakharness.report.console import to_text

    return str(LeakError(f"{test.reason}\n\n{to_text(test, width)}", test))


def terminal_writer(config: pytest.Config) -> Any:
    """pytest's terminal writer, or None when nothing reports to a terminal."""
    if config.pluginmanager.get_plugin("terminalreporter") is None:
        return None
    return config.get_terminal_writer()


def report_width(config: pytest.Config) -> int:
    """The terminal's width (pytest reads ``COLUMNS``), else 100."""
    writer = terminal_writer(config)
    return int(writer.fullwidth) if writer else 100


def _report(item: pytest.Item, verdict: Verdict, reason: str, error: str | None = None) -> TestReport:
    from leakharness.report.model import TestReport

    return TestReport(item.nodeid, verdict, reason=reason, error=error)


def _log(item: pytest.Item, report: Any) -> None:
    item.ihook.pytest_runtest_logreport(report=report)


def _following(item: pytest.Item, nextitem: pytest.Item | None) -> pytest.Item | None:
    """The next item, as the last teardown sees it: none when the session is
    stopping (``-x``), so that everything is torn down and reported now."""
    return None if item.session.shouldfail or item.session.shouldstop else nextitem


def _finish(
    item: pytest.Item, nextitem: pytest.Item | None, findings: list[Finding], own_failure: Any = None
) -> None:
    """The last teardown (wider fixtures as pytest would), carrying the findings
    and, if the first run's teardown failed, that failure."""
    final = run_phase(item, "teardown", nextitem=_following(item, nextitem))
    if own_failure is not None and final.passed:
        final.outcome, final.longrepr = own_failure.outcome, own_failure.longrepr
    attach(final, findings)
    _log(item, final)

"""The pytest plugin: ``pytest --leaks``, the ``no_leaks`` marker, the ``leak_check`` fixture.

An examined test first runs once as written; one that fails, errors or
skips is reported as that and never repeated. A test that passes is then
repeated as a cycle of its setup, call and teardown (see pytest_protocol)
and fails with LeakError's text when it leaks. Tests that examine cycles
themselves (``leak_check``, ``LeakTestCase``, ``no_leaks``-decorated
methods) run as written and their findings join the report.

Registered through the ``pytest11`` entry point ``leakharness``; cheap to
load: the core is imported only when a test is examined.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

import pytest

from leakharness.config import Settings, find_pyproject
from leakharness.errors import LeakHarnessError
from leakharness.integrations.pytest_results import SHOWN, Finding, Results, finding_of, take
from leakharness.integrations.pytest_runs import (
    CONTEXT,
    examine_item,
    run_as_written,
    runs_as_written,
    terminal_writer,
)

if TYPE_CHECKING:
    from leakharness.report.model import TestReport

MARKER = "no_leaks"


class _Run:
    """The plugin's state for one pytest run (one per process under xdist)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.leaks: bool = config.getoption("leaks")
        self.worker = hasattr(config, "workerinput")
        json_path = config.getoption("leaks_json")
        self.json = Path(json_path).resolve() if json_path and not self.worker else None
        self.results = Results()
        self.started = perf_counter()
        if self.leaks or self.json:
            self.settings  # noqa: B018 - a bad [tool.leakharness] is a usage error now, not per test

    @functools.cached_property
    def settings(self) -> Settings:
        """``[tool.leakharness]`` and the options, read when first needed: a
        run that examines nothing does not depend on them."""
        return _base_settings(self.config)

    def item_settings(self, item: pytest.Item) -> Settings:
        """The run's settings with the item's ``no_leaks`` keywords applied."""
        marker = item.get_closest_marker(MARKER)
        if marker is None:
            return self.settings
        if marker.args:
            raise LeakHarnessError(f"{MARKER} takes settings as keywords only (got {marker.args!r})")
        try:
            return self.settings.replace(**marker.kwargs)
        except LeakHarnessError as err:
            raise LeakHarnessError(f"{MARKER}: {err}") from err

    def examined(self, item: pytest.Item) -> bool:
        return self.leaks or item.get_closest_marker(MARKER) is not None

    @pytest.hookimpl(tryfirst=True)  # before junitxml or the terminal see the findings' entry
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.worker:  # a worker's reports go to the controller as they are
            self.results.add(take(report))

    def pytest_sessionfinish(self) -> None:
        if self.json is None:
            return
        import json

        from leakharness.report.json_report import write_text

        document = self.results.document(self.settings.to_dict(), perf_counter() - self.started)
        write_text(json.dumps(document, indent=2) + "\n", self.json)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.worker or not self.results.findings:
            return
        terminalreporter.write_sep("=", "leakharness")
        quiet = self.config.get_verbosity() < 0
        for finding in self.results.ordered():
            if finding.verdict in SHOWN:
                if quiet:
                    terminalreporter.write_line(finding.line)
                else:
                    terminalreporter.write(finding.text)
        terminalreporter.write_line(self.results.summary_line(perf_counter() - self.started))
        if self.json is not None:
            terminalreporter.write_line(f"leak report written to {self.json}")

    def finding(self, test: TestReport) -> Finding:
        writer = None if self.worker else terminal_writer(self.config)
        width = writer.fullwidth if writer else 100
        return finding_of(test, width=width, color=bool(writer and writer.hasmarkup))


STATE = pytest.StashKey[_Run]()
SETTINGS_ERROR = pytest.StashKey[str]()


def _base_settings(config: pytest.Config) -> Settings:
    """``[tool.leakharness]`` from the nearest pyproject.toml, then the options."""
    found = find_pyproject(Path(config.rootpath))
    settings = Settings.from_pyproject(found) if found else Settings()
    changes: dict[str, Any] = {}
    cycles = config.getoption("leaks_cycles")
    if cycles is not None:
        if cycles < 1:  # else reported as min_cycles, lowered to it below
            raise LeakHarnessError(f"--leaks-cycles must be >= 1 (got {cycles})")
        changes["max_cycles"] = cycles
        if cycles < settings.min_cycles:
            changes["min_cycles"] = cycles
    budget = config.getoption("leaks_time_budget")
    if budget is not None:
        changes["time_budget"] = budget
    return settings.replace(**changes)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("leakharness", "leak hunting (leakharness)")
    group.addoption(
        "--leaks",
        action="store_true",
        help="repeat every test as a cycle (setup, call, teardown) and fail those that leak",
    )
    group.addoption("--leaks-json", metavar="PATH", help="also write the leak report as JSON")
    group.addoption("--leaks-cycles", type=int, metavar="N", help="most cycles per test (default 400)")
    group.addoption(
        "--leaks-time-budget", type=float, metavar="S", help="seconds of detection per test (default 20)"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): repeat this test as a cycle and fail it if it leaks "
        "(keywords: leakharness Settings fields, e.g. max_cycles=100)",
    )
    try:
        run = _Run(config)
        if run.json is not None:
            from leakharness.report.json_report import check_writable

            check_writable(run.json, "--leaks-json")
    except LeakHarnessError as err:
        raise pytest.UsageError(f"leakharness: {err}") from err
    config.stash[STATE] = run
    config.pluginmanager.register(run, "leakharness-run")


def pytest_collection_finish(session: pytest.Session) -> None:
    run = session.config.stash.get(STATE, None)
    if run is not None:
        run.results.collected([item.nodeid for item in session.items])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    run = node.config.stash.get(STATE, None)
    if run is not None:
        run.results.collected(ids)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    run = item.config.stash.get(STATE, None)
    if run is None or item.config.getoption("setuponly") or item.config.getoption("setupplan"):
        return None
    as_written = runs_as_written(item)
    if not (as_written or run.examined(item)):
        return None
    try:
        settings = run.item_settings(item)
    except LeakHarnessError as err:
        item.stash[SETTINGS_ERROR] = str(err)  # fails its setup, in pytest's own protocol
        return None
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    if as_written:
        run_as_written(item, nextitem, settings, run.finding, run.examined(item))
    else:
        examine_item(item, nextitem, settings, run.finding)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    error = item.stash.get(SETTINGS_ERROR, None)
    if error is not None:
        pytest.fail(error, pytrace=False)


@pytest.fixture
def leak_check(request: pytest.FixtureRequest) -> Callable[..., TestReport]:
    """``leak_check(cycle, *args, **kwargs)`` examines ``cycle`` and fails the
    test if it leaks; keywords named like Settings fields configure the call.
    Returns the TestReport."""
    run = request.config.stash[STATE]
    node = request.node
    context = node.stash.get(CONTEXT, None)
    base = context.settings if context else run.settings

    def check(cycle: Callable[..., object], /, *args: Any, **kwargs: Any) -> TestReport:
        from leakharness.integrations.testcase import assert_no_leaks

        settings, rest = base.split(kwargs)
        bound = functools.partial(cycle, *args, **rest) if args or rest else cycle
        return assert_no_leaks(bound, settings, node.nodeid, context)

    return check

"""Repeating one pytest item: its setup, call and teardown as a cycle.

Each cycle tears down the last run's function-scoped fixtures (stopping at
the item's parent, so wider fixtures stay), makes them anew and calls the
test: every teardown follows a setup, as pytest's own plugins expect
(logging keeps per-item state from one to the other). Repeating the
protocol grows pytest's bookkeeping, not the test's: captured output piles
up on the item, ``record_property`` values on ``item.user_properties``,
and every function-scoped fixture adds a finalizer to each wider fixture
it uses (``tmp_path`` to the session's ``tmp_path_factory``). ``ItemState``
cuts those back after each cycle, so a clean test reads clean.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from _pytest.runner import call_and_report

if TYPE_CHECKING:
    import pytest

When = Literal["setup", "call", "teardown"]


class TestFailed(Exception):
    """The item failed, errored or skipped on a repeated cycle. ``own`` when
    it was the teardown of the first run, before any repetition."""

    __test__ = False

    def __init__(self, report: Any, own: bool) -> None:
        self.text = report.longreprtext or f"{report.when}: {report.outcome}"
        super().__init__(self.text)
        self.report = report
        self.own = own


def run_phase(item: pytest.Item, when: When, nextitem: pytest.Item | pytest.Collector | None = None) -> Any:
    """One phase through pytest's own hooks (capture, logging, fixtures), not logged."""
    if when == "teardown":
        return call_and_report(item, when, log=False, nextitem=nextitem)
    return call_and_report(item, when, log=False)


def tear_down_item(item: pytest.Item) -> Any:
    """Tear down the item's own (function-scoped) fixtures only: the wider
    ones stay for the next cycle."""
    return run_phase(item, "teardown", nextitem=item.parent)


def forget_request(item: pytest.Item) -> None:
    """What ``runtestprotocol`` does after a run: funcargs and request go away."""
    if hasattr(item, "_request"):
        item._request = False
        item.funcargs = None  # type: ignore[attr-defined]


def renew_request(item: pytest.Item) -> None:
    """A fresh fixture request, as a re-run needs."""
    if hasattr(item, "_request") and not item._request:
        item._initrequest()  # type: ignore[attr-defined]


class ItemState:
    """pytest's per-item bookkeeping at one moment, to cut back to after a cycle."""

    def __init__(self, item: pytest.Item) -> None:
        self._lists: list[tuple[list[Any], int]] = [
            (item._report_sections, len(item._report_sections)),
            (item.user_properties, len(item.user_properties)),
        ]
        for finalizers in _wider_finalizers(item):
            self._lists.append((finalizers, len(finalizers)))

    def restore(self) -> None:
        for values, length in self._lists:
            del values[length:]


def _wider_finalizers(item: pytest.Item) -> list[list[Callable[[], object]]]:
    """The finalizer lists of the fixtures wider than a function that the
    item's last run used (statically requested, or dynamically as
    pytest-asyncio requests its event loop): each function-scoped fixture
    that uses one adds its own teardown to it."""
    used = getattr(getattr(item, "_request", None), "_fixture_defs", {})
    static = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    definitions = {id(d): d for d in [*used.values(), *(d for ds in static.values() for d in ds)]}
    found: list[list[Callable[[], object]]] = []
    for definition in definitions.values():
        finalizers = getattr(definition, "_finalizers", None)
        if getattr(definition, "scope", "function") != "function" and isinstance(finalizers, list):
            found.append(finalizers)
    return found


@contextmanager
def repeated_warnings() -> Iterator[None]:
    """Warnings of a repeated cycle are dropped (the first run showed them, and
    pytest's record of them would grow every cycle), except ResourceWarnings:
    those go on to whatever counts unclosed objects. The hook is the one the
    warnings module shows a message through (``catch_warnings`` puts it back)."""
    with warnings.catch_warnings():
        passed_on = getattr(warnings, "_showwarnmsg_impl", None)
        if passed_on is None:  # pragma: no cover - an interpreter without the hook
            warnings.simplefilter("ignore")
            warnings.simplefilter("always", ResourceWarning)
        else:

            def show(message: Any) -> None:
                if issubclass(message.category, ResourceWarning):
                    passed_on(message)

            warnings._showwarnmsg_impl = show  # type: ignore[attr-defined]
        yield


def doctest_globals(item: pytest.Item) -> dict[str, Any] | None:
    """A copy of a doctest item's globals, taken before a run empties them."""
    dtest = getattr(item, "dtest", None)
    return dict(dtest.globs) if dtest is not None else None


def first_failure(reports: Sequence[Any]) -> Any:
    return next((report for report in reports if not report.passed), None)


class Repeater:
    """The cycle of an item that has just run (set up and called): each call
    tears it down, sets it up anew and calls it; a failure, error or skip in
    any phase raises TestFailed once the item is set up again."""

    def __init__(self, item: pytest.Item, globs: dict[str, Any] | None = None) -> None:
        self.item = item
        self.globs = globs
        self.runs = 0
        self.state = ItemState(item)  # the first run's sections and properties stay
        obj = getattr(item, "obj", None)
        if obj is not None:  # what a line-by-line memory profile looks into
            self.__wrapped__ = obj

    def __call__(self) -> None:
        item = self.item
        try:
            with repeated_warnings():
                reports = [tear_down_item(item)]
                forget_request(item)
                renew_request(item)
                if self.globs is not None:  # doctest empties a test's globals after each run
                    item.dtest.globs.update(self.globs)  # type: ignore[attr-defined]
                reports.append(run_phase(item, "setup"))
                if reports[0].passed and reports[1].passed:
                    reports.append(run_phase(item, "call"))
        finally:
            self.state.restore()
        self.runs += 1
        failed = first_failure(reports)
        if failed is not None:
            raise TestFailed(failed, own=self.runs == 1 and failed is reports[0])

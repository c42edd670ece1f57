"""What event loops are told of unclosed objects: caught and counted as the
``unclosed`` resource while a run lasts, not printed; errors still reach the
loop's handler, and asyncio is left as found."""

from __future__ import annotations

import asyncio
import logging
import warnings
from asyncio import base_events
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import leakharness
from leakharness import Resource, Verdict
from leakharness.measure.loop_reports import LoopReports, is_unclosed, reported_objects

FAST = {"min_cycles": 30, "max_cycles": 40, "warmup": 2}
HERE = Path(__file__).read_text().splitlines()
ORIGINAL = base_events.BaseEventLoop.__dict__["call_exception_handler"]


class Widget:
    """Reports itself to its loop when collected unclosed, as aiohttp's session does."""

    __slots__ = ("loop", "warns")  # without a managed __dict__, tracemalloc names its line on 3.11

    def __init__(self, loop: asyncio.AbstractEventLoop, warns: bool = False) -> None:
        self.loop = loop
        self.warns = warns

    def __del__(self) -> None:
        if self.warns:
            warnings.warn("Unclosed widget", ResourceWarning, source=self, stacklevel=1)
        self.loop.call_exception_handler({"message": "Unclosed widget", "widget": self, "parts": ["a"]})


@pytest.fixture
def loop() -> Iterator[tuple[asyncio.AbstractEventLoop, list[dict[str, Any]]]]:
    """A loop whose handler (a user's own) records what reaches it."""
    heard: list[dict[str, Any]] = []
    new = asyncio.new_event_loop()
    new.set_exception_handler(lambda _loop, context: heard.append(context))
    yield new, heard
    new.close()


def unclosed(report: leakharness.Report) -> leakharness.ResourceResult:
    return next(r for r in report.tests[0].resources if r.resource is Resource.UNCLOSED)


def test_a_report_alone_is_a_leak_named_with_its_line_and_never_reaches_the_handler(
    loop: tuple[asyncio.AbstractEventLoop, list[dict[str, Any]]],
) -> None:
    own, heard = loop
    handler = own.get_exception_handler()

    def cycle() -> None:
        Widget(own)  # REPORTED

    report = leakharness.check(cycle, **FAST)
    result = unclosed(report)
    assert result.verdict is Verdict.LEAK and result.growth_per_cycle == 1.0
    (group,) = report.tests[0].diagnosis.unclosed
    assert group.example.kind == f"{__name__}.Widget" and group.example.message == "Unclosed widget"
    line = next(n for n, text in enumerate(HERE, 1) if "# REPORTED" in text)
    created = group.example.created[0]
    assert (Path(created.file).name, created.line) == ("test_loop_reports.py", line)
    assert heard == []
    assert own.get_exception_handler() is handler  # the loop keeps its own handler
    assert base_events.BaseEventLoop.__dict__["call_exception_handler"] is ORIGINAL
    Widget(own)
    assert [context["message"] for context in heard] == ["Unclosed widget"]  # after the run: as before


def test_a_report_that_repeats_its_warning_counts_once(
    loop: tuple[asyncio.AbstractEventLoop, list[dict[str, Any]]],
) -> None:
    own, heard = loop
    report = leakharness.check(lambda: Widget(own, warns=True), **FAST)
    assert unclosed(report).growth_per_cycle == 1.0
    assert [group.example.kind for group in report.tests[0].diagnosis.unclosed] == [f"{__name__}.Widget"]
    assert heard == []


def test_errors_still_reach_the_loops_handler(
    loop: tuple[asyncio.AbstractEventLoop, list[dict[str, Any]]],
) -> None:
    own, heard = loop

    def cycle() -> None:
        own.call_exception_handler({"message": "Unclosed pool", "exception": OSError("reset")})
        own.call_exception_handler({"message": "Task exception was never retrieved"})

    report = leakharness.check(cycle, **FAST)
    assert unclosed(report).verdict is Verdict.CLEAN
    runs = report.tests[0].cycles + report.tests[0].warmup_cycles
    assert len(heard) >= 2 * runs
    assert {context["message"] for context in heard} == {
        "Unclosed pool",
        "Task exception was never retrieved",
    }


def test_an_async_cycles_reports_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def cycle() -> None:
        Widget(asyncio.get_running_loop())

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        report = leakharness.check(cycle, **FAST)
    assert unclosed(report).verdict is Verdict.LEAK
    assert not [r for r in caplog.records if "Unclosed widget" in r.getMessage()]


@pytest.mark.parametrize(
    ("context", "caught"),
    [
        ({"message": "Unclosed client session", "client_session": object()}, True),
        ({"message": "unclosed transport"}, True),
        ({"message": "Unclosed connection", "exception": OSError()}, False),  # an error: the user's
        ({"message": "Task was destroyed but it is pending!"}, False),
        ({"exception": ValueError()}, False),
        ({"message": 3}, False),
    ],
)
def test_which_reports_are_of_unclosed_objects(context: dict[str, Any], caught: bool) -> None:
    assert is_unclosed(context) is caught


def test_the_objects_a_report_names_come_in_its_order() -> None:
    session, connector = object(), object()
    context = {"message": "m", "connector": connector, "source_traceback": [], "session": session}
    assert reported_objects(context) == [connector, session]


def test_the_method_is_put_back_and_one_replaced_since_is_kept() -> None:
    seen: list[object] = []
    reports = LoopReports(lambda context: seen.append(context["message"]))
    reports.install()
    reports.install()  # once only
    own = asyncio.new_event_loop()
    try:
        heard: list[str] = []
        own.set_exception_handler(lambda _loop, context: heard.append(context["message"]))
        own.call_exception_handler({"message": "Unclosed thing"})
        own.call_exception_handler({"message": "other"})
        assert (seen, heard) == (["Unclosed thing"], ["other"])
        reports.close()
        assert base_events.BaseEventLoop.__dict__["call_exception_handler"] is ORIGINAL

        reports.install()
        ours = base_events.BaseEventLoop.__dict__["call_exception_handler"]

        def theirs(loop: Any, context: Any) -> None:
            ours(loop, context)

        base_events.BaseEventLoop.call_exception_handler = theirs  # type: ignore[method-assign]
        try:
            reports.close()
            assert base_events.BaseEventLoop.__dict__["call_exception_handler"] is theirs
            own.call_exception_handler({"message": "Unclosed later"})
            assert heard == ["other", "Unclosed later"] and seen == ["Unclosed thing"]  # ours passes it on
        finally:
            base_events.BaseEventLoop.call_exception_handler = ORIGINAL  # type: ignore[method-assign]
    finally:
        own.close()

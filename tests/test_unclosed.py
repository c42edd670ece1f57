"""ResourceWarnings: objects only the garbage collector closed, counted per
cycle and named; the warnings machinery is left as found."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

import leakharness
from leakharness import Resource, Verdict
from leakharness.measure.unclosed import UnclosedWarnings

FAST = {"min_cycles": 30, "max_cycles": 40, "warmup": 2}
_PATH = __file__
HERE = Path(__file__).read_text().splitlines()


def open_and_drop() -> None:
    open(_PATH).read()  # OPENS


def open_and_close() -> None:
    with open(_PATH) as handle:
        handle.read()


def loop_never_closed() -> None:
    loop = asyncio.new_event_loop()
    loop.run_until_complete(asyncio.sleep(0))


def unclosed(report: leakharness.Report) -> leakharness.ResourceResult:
    return next(r for r in report.tests[0].resources if r.resource is Resource.UNCLOSED)


def test_a_file_only_the_collector_closes_is_a_leak_named_with_its_line() -> None:
    report = leakharness.check(open_and_drop, **FAST)
    result = unclosed(report)
    assert result.verdict is Verdict.LEAK and result.growth_per_cycle == 1.0
    (group,) = report.tests[0].diagnosis.unclosed
    assert group.example.kind == "_io.TextIOWrapper"
    assert group.example.message.startswith("unclosed file <_io.TextIOWrapper name=")
    line = next(n for n, text in enumerate(HERE, 1) if "# OPENS" in text)
    assert (Path(group.example.created[0].file).name, group.example.created[0].line) == (
        "test_unclosed.py",
        line,
    )
    assert "fds" not in report.tests[0].reason  # the collector closed every one: no descriptor leaked


def test_a_closed_file_is_clean() -> None:
    assert leakharness.check(open_and_close, **FAST).tests[0].verdict is Verdict.CLEAN


def test_an_event_loop_never_closed_is_named() -> None:
    report = leakharness.check(loop_never_closed, **FAST)
    assert unclosed(report).verdict is Verdict.LEAK
    kinds = {group.example.kind for group in report.tests[0].diagnosis.unclosed}
    assert any(kind.endswith("SelectorEventLoop") for kind in kinds), kinds
    assert "unclosed (ResourceWarning)" in str(report)


def test_warnings_are_left_as_found_and_others_still_shown() -> None:
    filters, shown = list(warnings.filters), warnings.showwarning

    def cycle() -> None:
        warnings.warn("still shown", UserWarning, stacklevel=1)

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", UserWarning)
        inner = list(warnings.filters)
        leakharness.check(cycle, **FAST)
        assert warnings.filters == inner
    assert any(str(w.message) == "still shown" for w in seen)
    assert warnings.filters == filters and warnings.showwarning is shown


def test_the_probe_counts_without_keeping_anything() -> None:
    probe = UnclosedWarnings()
    try:
        for _ in range(3):
            open_and_drop()
        assert probe.sample() == 3 and probe.recorded is None
        with probe.recording() as found:
            open_and_drop()
        assert len(found) == 1 and probe.recorded is None
    finally:
        probe.close()
    with warnings.catch_warnings(record=True) as after:
        warnings.simplefilter("always", ResourceWarning)
        open_and_drop()
    assert [w.category for w in after] == [ResourceWarning]

from __future__ import annotations

import io
import itertools
import linecache
from pathlib import Path

import pytest
from rich.console import Console, Group
from rich.text import Text

from leakharness.diagnose.locate import Line
from leakharness.frames import Frame
from leakharness.judge.verdict import Verdict
from leakharness.report.console import (
    Detail,
    make_console,
    render_report,
    render_test,
    summary_line,
)
from leakharness.report.model import Report, ResourceResult, TestReport
from leakharness.report.resource_table import ASCII_BARS, BARS, sparkline
from leakharness.resources import Resource
from leakharness.units import signed_amount, signed_size

SOURCE = "import os\n\nhoard = [bytes(100)]\n"
TEST_ID = "tests/test_hoard.py::test_hoard[case-1]"


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "leaky.py"
    path.write_text(SOURCE, encoding="utf-8")
    linecache.checkcache(str(path))
    monkeypatch.chdir(tmp_path)
    return path


def heap_leak() -> ResourceResult:
    return ResourceResult(
        Resource.HEAP, Verdict.LEAK, 1.0, 60.0, "grew in all 6 windows of 10 cycles", tuple(range(61))
    )


def rss_clean() -> ResourceResult:
    return ResourceResult(Resource.RSS, Verdict.CLEAN, 0.0, 0.0, "no growth over 60 cycles", (0,) * 61)


def leak_report(path: Path, **changes: object) -> TestReport:
    line = Line(str(path), 3, 1536.0, 1.0, traceback=(Frame(str(path), 3),))
    fields: dict[str, object] = {
        "id": TEST_ID,
        "verdict": Verdict.LEAK,
        "cycles": 60,
        "seconds": 1.5,
        "resources": (heap_leak(), rss_clean()),
        "lines": (line,),
        "reason": "leaks Python heap +1 blocks/cycle",
    }
    fields.update(changes)
    return TestReport(**fields)  # type: ignore[arg-type]


def clean_report(name: str = "test_ok") -> TestReport:
    return TestReport(f"tests/test_hoard.py::{name}", Verdict.CLEAN, cycles=60, resources=(rss_clean(),))


def render(value: object, width: int = 100) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, no_color=True).print(value)
    return buffer.getvalue()


def row(text: str, key: str) -> str:
    """The first output line that contains ``key``."""
    found = [line for line in text.splitlines() if key in line]
    assert found, f"{key!r} not in:\n{text}"
    return found[0]


@pytest.mark.parametrize("width", [100, 80])
def test_leak_report_rows(source: Path, width: int) -> None:
    text = render(leak_report(source), width)
    header = text.splitlines()[0]
    assert header.startswith("LEAK")
    assert TEST_ID in header
    heap = row(text, BARS[0])  # the first table row: it has a trend
    assert "Python heap" in heap
    assert "+1 blocks" in heap
    assert "LEAK" in heap
    top = row(text, "leaky.py:3")
    assert "hoard = [bytes(100)]" in top
    assert "+1.5 KiB" in top
    assert "+1.00" in top
    assert max(len(line) for line in text.splitlines()) <= width


def test_traceback_shows_source(source: Path) -> None:
    text = render(leak_report(source))
    assert "allocated at" in text
    assert len([line for line in text.splitlines() if "leaky.py:3  hoard = [bytes(100)]" in line]) == 1


def test_markup_like_text_is_literal(source: Path) -> None:
    markup = ResourceResult(Resource.FDS, Verdict.LEAK, 1.0, 60.0, "[bold]kept[/bold]", tuple(range(61)))
    text = render(leak_report(source, resources=(markup,)))
    assert "[case-1]" in row(text, "test_hoard")
    lines = text.splitlines()
    assert "[bold]kept[/bold]" in lines[lines.index(row(text, "file descriptors")) + 1]  # reason below
    assert "hoard = [bytes(100)]" in row(text, "leaky.py:3")


def test_quiet_reason_markup_is_literal(source: Path) -> None:
    text = render(Group(*render_test(leak_report(source, reason="[red]x[/red]"), Detail.QUIET)))
    assert "[red]x[/red]" in text


def test_verbose_shows_clean_resources_and_notes(source: Path) -> None:
    test = leak_report(source, notes=("cache adopted",))
    text = render(Group(*render_test(test, Detail.VERBOSE)))
    rss = row(text, "process memory (RSS)")
    assert "CLEAN" in rss
    assert "0 B" in rss
    assert "note: cache adopted" in text


def test_clean_test_shows_only_its_header() -> None:
    text = render(Group(*render_test(clean_report())))
    assert text.strip().splitlines() == [row(text, "CLEAN")]
    assert "test_ok" in text


@pytest.mark.parametrize("width", [80, 60])
def test_a_header_too_long_for_the_terminal_puts_its_figures_on_their_own_line(width: int) -> None:
    name = "test_" + "x" * (width - 45)  # the id fits, the figures after it do not
    lines = [line.rstrip() for line in render(Group(*render_test(clean_report(name))), width).splitlines()]
    assert lines == [f"CLEAN  tests/test_hoard.py::{name}", "  60 cycles, 0.00 s"]
    short = render(Group(*render_test(clean_report())), width).splitlines()
    assert [line.rstrip() for line in short] == ["CLEAN  tests/test_hoard.py::test_ok  60 cycles, 0.00 s"]


def test_error_text_is_shown() -> None:
    test = TestReport("t::boom", Verdict.ERROR, error="Traceback: ValueError: [x] bad\n")
    text = render(test)
    assert row(text, "t::boom").startswith("ERROR")
    assert "ValueError: [x] bad" in text


def test_quiet_shows_one_line_per_test(source: Path) -> None:
    tests = (
        clean_report("test_a"),
        leak_report(source, reason=""),
        clean_report("test_b"),
        TestReport("t::unsure", Verdict.INCONCLUSIVE, cycles=60),
    )
    text = render(Group(*render_report(Report(tests, seconds=1.0), Detail.QUIET)))
    shown = [line for line in text.splitlines() if line.strip()]
    assert len(shown) == len(tests) + 1
    assert shown[-1].startswith("4 tests:")
    assert "test_b" in shown[2]
    assert "leaks Python heap +1 blocks/cycle at leaky.py:3" not in text  # the reason was ""
    assert row(text, "LEAK").endswith("at leaky.py:3")


def test_quiet_names_growth_and_site_of_a_leak_in_one_line(source: Path) -> None:
    text = render(Group(*render_test(leak_report(source), Detail.QUIET)), width=300)
    assert len(text.strip().splitlines()) == 1
    assert text.startswith(f"LEAK  {TEST_ID}")
    assert text.rstrip().endswith("leaks Python heap +1 blocks/cycle at leaky.py:3")


@pytest.mark.parametrize(
    ("verdicts", "seconds", "expected"),
    [
        ([Verdict.LEAK, Verdict.CLEAN, Verdict.CLEAN], 2.5, "3 tests: 1 leak, 2 clean in 2.5 s"),
        ([Verdict.CLEAN], 0.0, "1 test: 1 clean in 0.0 s"),
        (
            [Verdict.SKIPPED, Verdict.ERROR, Verdict.INCONCLUSIVE, Verdict.ERROR],
            12.04,
            "4 tests: 1 inconclusive, 2 error, 1 skipped in 12.0 s",
        ),
    ],
)
def test_summary_line_counts(verdicts: list[Verdict], seconds: float, expected: str) -> None:
    tests = tuple(TestReport(f"t::{i}", v) for i, v in enumerate(verdicts))
    assert summary_line(Report(tests, seconds=seconds)).plain == expected


def test_report_ends_with_summary(source: Path) -> None:
    report = Report((leak_report(source), clean_report()), seconds=2.0)
    lines = [line.strip() for line in render(report).splitlines() if line.strip()]
    assert lines[-1] == "2 tests: 1 leak, 1 clean in 2.0 s"


def test_parts_are_parted_by_one_blank_line(source: Path) -> None:
    from leakharness.diagnose.diagnosis import Diagnosis, Group
    from leakharness.diagnose.fds import FdInfo, FdKind

    fds = (Group(3, FdInfo(7, FdKind.FILE, "/tmp/kept.log", (Frame(str(source), 3),))),)
    for test in (leak_report(source), leak_report(source, diagnosis=Diagnosis(fds=fds))):
        lines = render(Report((test, clean_report()), seconds=2.0)).splitlines()
        blank = [i for i, line in enumerate(lines) if not line.strip()]
        assert all(b - a > 1 for a, b in itertools.pairwise(blank)), lines
    below = lines[lines.index(next(line for line in lines if "allocated at" in line)) + 2 :]
    assert not below[0].strip() and "leaked fd" in below[1]


def test_str_is_plain_text(source: Path) -> None:
    report = Report((leak_report(source), clean_report()), seconds=2.0)
    for value in (report, report.tests[0]):
        text = str(value)
        assert "\x1b[" not in text
        assert text.startswith("LEAK")
        assert "hoard = [bytes(100)]" in text


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (1536, "+1.5 KiB"),
        (-512, "-512 B"),
        (0, "0 B"),
        (0.0, "0 B"),
        (2 * 1024**2, "+2.0 MiB"),
        (1023, "+1023 B"),
        (100 * 1024, "+100 KiB"),
        (-3.5 * 1024**3, "-3.5 GiB"),
        (5 * 1024**4, "+5120 GiB"),
    ],
)
def test_signed_size(amount: float, text: str) -> None:
    assert signed_size(amount) == text


@pytest.mark.parametrize(
    ("amount", "unit", "text"),
    [
        (3, "fds", "+3 fds"),
        (-1.0, "threads", "-1 threads"),
        (0.5, "blocks", "+0.5 blocks"),
        (4096, "bytes", "+4.0 KiB"),
        (11, "", "+11"),  # no unit, no trailing space
        (0, "", "0"),
        (0, "fds", "0 fds"),
    ],
)
def test_signed_amount(amount: float, unit: str, text: str) -> None:
    assert signed_amount(amount, unit) == text


@pytest.mark.parametrize("series", [[], [5]])
def test_sparkline_of_short_series_is_empty(series: list[int]) -> None:
    assert sparkline(series) == ""


@pytest.mark.parametrize("width", [16, 8])
def test_sparkline_of_flat_series_is_lowest_bar(width: int) -> None:
    assert sparkline([7, 7, 7], width=width) == BARS[0] * width


def test_sparkline_of_rising_series() -> None:
    line = sparkline(list(range(100)))
    assert len(line) == 16
    assert (line[0], line[-1]) == (BARS[0], BARS[-1])
    assert [BARS.index(c) for c in line] == sorted(BARS.index(c) for c in line)


def test_sparkline_of_two_points_and_ascii_bars() -> None:
    assert sparkline([0, 10], width=4, bars=ASCII_BARS) == ASCII_BARS[0] * 2 + ASCII_BARS[-1] * 2
    assert sparkline([10, 0], width=2) == BARS[-1] + BARS[0]


def test_diagnosis_tables_render_holders_threads_fds_and_children(source: Path) -> None:
    from leakharness.diagnose.children import ChildInfo, ChildStatus
    from leakharness.diagnose.diagnosis import Diagnosis, Group
    from leakharness.diagnose.fds import FdInfo, FdKind
    from leakharness.diagnose.holder_steps import Holder, HolderKind, Step
    from leakharness.diagnose.threads import ThreadInfo
    from leakharness.frames import Frame

    started = (Frame(str(source), 3),)
    diagnosis = Diagnosis(
        holders=(
            Holder((Step(HolderKind.MODULE, "module app"), Step(HolderKind.GLOBAL, "dict _cache")), "T"),
        ),
        threads=(Group(12, ThreadInfo("worker-1", 1, True, "app.Pool._work", started)),),
        fds=(Group(3, FdInfo(7, FdKind.SOCKET, "AF_UNIX SOCK_STREAM (unnamed)", started)),),
        children=(Group(2, ChildInfo(99, ChildStatus.ZOMBIE, ("sleep", "9"))),),
    )
    report = TestReport(TEST_ID, Verdict.LEAK, cycles=60, diagnosis=diagnosis)
    text = render(report)
    assert "kept alive by: module app → dict _cache" in text
    assert "12" in row(text, "worker-1") and "app.Pool._work" in row(text, "worker-1")
    assert "hoard = [bytes(100)]" in row(text, "worker-1")  # the start line's source
    assert "AF_UNIX SOCK_STREAM (unnamed)" in row(text, "socket")
    assert "sleep 9" in row(text, "zombie")


@pytest.mark.parametrize(("no_color", "styled"), [("1", False), ("", True)])
def test_no_color_means_plain_text_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, no_color: str, styled: bool
) -> None:
    monkeypatch.setenv("NO_COLOR", no_color)
    buffer = io.StringIO()
    console = make_console(file=buffer, force_terminal=True, width=80)
    console.print(Text("leak", style="bold red"), Text("note", style="dim"))
    assert ("\x1b[" in buffer.getvalue()) is styled


def test_a_project_line_names_the_library_line_beneath_it(source: Path) -> None:
    from leakharness.diagnose.diagnosis import Diagnosis, Group
    from leakharness.diagnose.threads import ThreadInfo

    library = source.parent / "libs" / "json.py"
    library.parent.mkdir()
    library.write_text("\n" * 102 + "    chunks.append(text)\n", encoding="utf-8")
    inside = Frame(str(library), 103)
    line = Line(str(source), 3, 1536.0, 1.0, traceback=(Frame(str(source), 3),), inside=inside)
    thread = ThreadInfo("feeder", 1, True, "queues._feed", (Frame(str(source), 3),), inside=inside)
    report = leak_report(source, lines=(line,), diagnosis=Diagnosis(threads=(Group(1, thread),)))
    text = render(report, width=140)
    assert "in libs/json.py:103" in row(text, "+1.5 KiB")
    assert "in libs/json.py:103" in row(text, "feeder")
    assert "libs/json.py:103  chunks.append(text)" in text  # first in the traceback, dimmed

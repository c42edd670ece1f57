"""The HTML report: parsed with html.parser, and rendered in headless Chromium."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

import leakharness
from leakharness.diagnose.diagnosis import Group
from leakharness.diagnose.tasks import TaskInfo
from leakharness.frames import Frame
from leakharness.judge.verdict import Verdict
from leakharness.measure.unclosed import Unclosed
from leakharness.report.html import render_html, write_html
from leakharness.report.html_chart import amount, chart, shape
from leakharness.report.model import Report, ResourceResult, TestReport
from leakharness.resources import Resource
from tests.chromium import Browser, find_chromium

HOSTILE_ID = '<img src=x onerror="alert(1)">&amp;'


class Note:
    __slots__ = ("text",)  # no __dict__: the note is allocated on the line that makes it

    def __init__(self, text: str) -> None:
        self.text = text


_HOARD: list[Note] = []


def leaky_cycle() -> None:
    _HOARD.append(Note("<script>alert('hoard')</script>" + str(len(_HOARD))))  # LEAK


def clean_cycle() -> None:
    scratch = ["<b>" + str(n) for n in range(50)]
    scratch.clear()


class Page(HTMLParser):
    """The tags of a page with their attributes, and the text inside each script."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def all(self, tag: str, **wanted: str) -> list[dict[str, str | None]]:
        return [
            attrs
            for name, attrs in self.tags
            if name == tag and all(wanted[k] in (attrs.get(k) or "").split() for k in wanted)
        ]


@pytest.fixture(scope="module")
def report() -> Report:
    """A real leak (heap and objects grow, with a holder) and a real clean cycle."""
    _HOARD.clear()
    leak = leakharness.check(leaky_cycle, max_cycles=120).tests[0]
    clean = leakharness.check(clean_cycle, max_cycles=120).tests[0]
    hostile = replace(clean, id=HOSTILE_ID, reason="said <b>loudly</b> & clearly")
    return Report((leak, clean, hostile), settings=leakharness.Settings().to_dict(), seconds=1.5)


@pytest.fixture(scope="module")
def page(report: Report) -> Page:
    return Page(render_html(report))


def test_the_fixture_is_a_real_leak_and_a_real_clean_cycle(report: Report) -> None:
    leak, clean, _ = report.tests
    assert leak.verdict is Verdict.LEAK, leak.reason
    assert clean.verdict is Verdict.CLEAN, clean.reason
    assert leak.warmup_cycles == leakharness.Settings().warmup and leak.located_cycles > 0


def test_every_watched_resource_has_a_chart_with_its_line(report: Report, page: Page) -> None:
    charts = page.all("svg", **{"class": "chart"})
    assert len(charts) == sum(len(t.resources) for t in report.tests)
    lines = page.all("polyline", **{"class": "line"})
    assert len(lines) == len(charts)
    leak = report.tests[0]
    figures = page.all("figure", **{"class": "resource"})
    assert [f["data-resource"] for f in figures[: len(leak.resources)]] == [
        r.resource.value for r in leak.resources
    ]
    leaking = page.all("figure", **{"class": "leak"})
    assert {f["data-resource"] for f in leaking} == {r.resource.value for r in leak.leaks}


def test_a_leak_is_labelled_in_words_not_only_in_colour(report: Report, page: Page) -> None:
    labels = [t.strip() for t in page.text]
    # the run's verdict, its filter button, the test's summary row and section, each leaking chart
    assert labels.count("▲ LEAK") == 4 + len(report.tests[0].leaks)
    clean_charts = sum(r.verdict is Verdict.CLEAN for t in report.tests for r in t.resources)
    # the filter button, then two tests' rows and sections
    assert labels.count("✓ CLEAN") == 1 + 2 * 2 + clean_charts


def test_warm_up_and_locate_cycles_are_marked(report: Report, page: Page) -> None:
    leak = report.tests[0]
    text = " ".join(page.text)
    assert f"warm-up {leak.warmup_cycles}" in text
    assert f"locate {leak.located_cycles}" in text
    assert f"after {leak.warmup_cycles} warm-up" in text


def test_sites_show_source_and_traceback(report: Report, page: Page) -> None:
    text = "".join(page.text)
    assert "_HOARD.append(" in text
    assert "allocated at, innermost first" in text
    assert f"test_html.py:{report.tests[0].lines[0].line}" in text


def test_a_library_frame_beneath_a_project_line_is_named() -> None:
    kept: list[object] = []
    test = leakharness.check(lambda: kept.append(json.loads('{"a": [1, 2, 3]}')), max_cycles=120).tests[0]
    (line, *_) = test.lines
    assert line.inside is not None and line.inside.file.endswith("decoder.py"), line
    text = "".join(Page(render_html(Report((test,)))).text)
    assert f"in {line.inside.place}" in text


async def _wait_forever() -> None:
    await asyncio.sleep(3600)  # WAITS


def _source_line(mark: str) -> Frame:
    lines = Path(__file__).read_text().splitlines()
    return Frame(__file__, next(n for n, text in enumerate(lines, 1) if text.endswith(mark)))


def test_a_leaked_task_is_listed_with_where_it_waits_and_was_made(report: Report) -> None:
    made = _source_line("# MADE")  # MADE
    task = TaskInfo(f"{__name__}._wait_forever", "Task-7", (made,), waiting_at=_source_line("# WAITS"))
    leak = report.tests[0]
    test = replace(leak, diagnosis=replace(leak.diagnosis, tasks=(Group(12, task),)))
    text = Page(render_html(Report((test,)))).text
    row = text[text.index("Leaked asyncio tasks") :]
    assert row[row.index("12") + 1] == f"{__name__}._wait_forever"
    assert row.index("await asyncio.sleep(3600)  # WAITS") < row.index(
        'made = _source_line("# MADE")  # MADE'
    )


def test_an_object_left_unclosed_is_listed_with_its_warning_and_line(report: Report) -> None:
    made = _source_line("# OPENED")  # OPENED
    unclosed = Unclosed("_io.FileIO", "unclosed file <_io.FileIO name='x' mode='rb'>", (made,))
    leak = report.tests[0]
    test = replace(leak, diagnosis=replace(leak.diagnosis, unclosed=(Group(3, unclosed),)))
    text = Page(render_html(Report((test,)))).text
    row = text[text.index("Left unclosed") :]
    assert row[row.index("3") + 1 : row.index("3") + 3] == ["_io.FileIO", unclosed.message]
    assert 'made = _source_line("# OPENED")  # OPENED' in row


def test_the_holder_chain_is_shown(report: Report, page: Page) -> None:
    text = " ".join(page.text)
    assert "What keeps it alive" in text
    assert "list _HOARD" in text
    vias = [step.via for step in report.tests[0].diagnosis.holders[0].steps if step.via]
    assert vias and all(via in page.text for via in vias)  # how each step holds the next


def test_user_strings_are_escaped(report: Report) -> None:
    text = render_html(report)
    parsed = Page(text)
    assert len(parsed.scripts) == 1 and "alert" not in parsed.scripts[0]
    assert not parsed.all("img", src="x") and not parsed.all("b")
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;" in text
    assert "&lt;script&gt;alert(&#x27;hoard&#x27;)&lt;/script&gt;" in text
    assert HOSTILE_ID in parsed.text and "said <b>loudly</b> & clearly" in parsed.text


def test_nothing_is_fetched(page: Page) -> None:
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"\s*(https?:)?//", value), (tag, value)
            assert value == "" or value.startswith(("#", "data:image/png;base64,")), (tag, value)
    assert not page.all("link") and all("src" not in attrs for attrs in page.all("script"))


def test_filters_cover_each_verdict_present(report: Report, page: Page) -> None:
    buttons = [b["data-filter"] for b in page.all("button") if "data-filter" in b]
    assert buttons == ["all", "leak", "clean"]
    bar = page.all("div", **{"class": "filters"})
    assert len(bar) == 1 and "hidden" in bar[0]  # shown by the script: without it, nothing to press
    rows = [attrs["data-verdict"] for tag, attrs in page.tags if tag == "tr" and "data-verdict" in attrs]
    assert rows == [t.verdict.value for t in report.tests]


def test_the_holder_picture_is_inline_when_drawn(report: Report) -> None:
    picture = b"\x89PNG\r\n\x1a\nnot really"
    leak = report.tests[0]
    drawn = replace(leak, diagnosis=replace(leak.diagnosis, holder_graph=picture))
    page = Page(render_html(Report((drawn,))))
    (image,) = page.all("img")
    assert (image["src"] or "").startswith("data:image/png;base64,iVBORw0KG")
    assert image["alt"]
    assert not Page(render_html(Report((leak,)))).all("img")


def test_write_html_writes_the_page(report: Report, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_html(report, path)
    assert path.read_text(encoding="utf-8") == render_html(report)


def result(series: tuple[int, ...], verdict: Verdict = Verdict.CLEAN) -> ResourceResult:
    return ResourceResult(Resource.RSS, verdict, 0.0, float(series[-1] - series[0]), "why", series)


def points(svg: str) -> list[tuple[float, float]]:
    found = re.search(r'<polyline class="line" points="([^"]+)"', svg)
    assert found is not None
    return [(float(x), float(y)) for x, y in (p.split(",") for p in found.group(1).split())]


def test_a_rising_series_rises_and_a_flat_one_is_flat() -> None:
    rising = points(chart(result((10, 20, 30, 40))))
    assert [y for _, y in rising] == sorted((y for _, y in rising), reverse=True)
    assert [x for x, _ in rising] == sorted(x for x, _ in rising)
    flat = points(chart(result((7, 7, 7))))
    assert len({y for _, y in flat}) == 1


@pytest.mark.parametrize(
    ("series", "kept"),
    [
        ([7, 7, 7, 7, 7], [0, 4]),  # flat: its two ends
        ([1, 2, 3, 4, 5], [0, 4]),  # straight
        ([0, 0, 1, 1, 2], [0, 1, 2, 3, 4]),  # steps: every corner
        ([3, 3, 3, 9, 9, 9], [0, 2, 3, 5]),
    ],
)
def test_a_line_keeps_only_the_readings_where_it_bends(series: list[int], kept: list[int]) -> None:
    assert shape(series, columns=100) == kept


def test_a_long_noisy_series_keeps_each_columns_extremes() -> None:
    noisy = [(n * 7919) % 101 for n in range(10_001)]  # a bend at almost every reading
    kept = shape(noisy, columns=50)
    assert len(kept) <= 2 * 50 + 2 and kept == sorted(kept) and kept[0] == 0 and kept[-1] == 10_000
    assert {noisy[i] for i in kept} >= {min(noisy), max(noisy)}


def test_bands_take_room_only_when_cycles_ran() -> None:
    plain = chart(result((1, 2)))
    banded = chart(result((1, 2)), warmup=5, located=12)
    assert "band" not in plain and banded.count('class="band"') == 2
    assert points(banded)[0][0] > points(plain)[0][0] and points(banded)[-1][0] < points(plain)[-1][0]


def test_a_charts_title_names_its_unit_once() -> None:
    sizes = chart(result((5_452_595, 7_654_604)))
    assert "<title>process memory (RSS) over 1 cycles: 5.2 MiB to 7.3 MiB (clean)</title>" in sizes
    fds = chart(ResourceResult(Resource.FDS, Verdict.CLEAN, 0.0, 0.0, "", (8, 8)))
    assert ": 8 to 8 fds (clean)</title>" in fds


def test_a_chart_without_readings_says_so() -> None:
    svg = chart(ResourceResult(Resource.FDS, Verdict.CLEAN, 0.0, 0.0, "", ()))
    assert "no readings" in svg and "polyline" not in svg


def test_axis_amounts() -> None:
    assert amount(4_852_304, "bytes") == "4.6 MiB"
    assert amount(99484, "blocks") == "99,484"
    svg = chart(result((24_338_432, 24_367_104)))  # both 23.2 MiB: the top says how much more
    assert ">+28.0 KiB<" in svg and ">23.2 MiB<" in svg


BROWSER = find_chromium()


@pytest.mark.skipif(BROWSER is None, reason="no chromium installed")
def test_a_browser_draws_the_charts_and_filters(report: Report, tmp_path: Path) -> None:
    assert BROWSER is not None
    path = tmp_path / "report.html"
    write_html(report, path)
    with Browser(BROWSER) as browser:
        browser.open(path.as_uri())
        assert all(url.startswith(("file:", "data:")) for url in browser.requested()), browser.requested()
        browser.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        widths = browser.evaluate(
            "[...document.querySelectorAll('svg.chart polyline')].map(p => p.getBBox().width)"
        )
        assert len(widths) == sum(len(t.resources) for t in report.tests)
        assert all(width > 100 for width in widths), widths
        shown = "[...document.querySelectorAll('[data-verdict]')].filter(e => e.offsetParent).length"
        assert browser.evaluate(shown) == 2 * len(report.tests)
        browser.evaluate("document.querySelector('button[data-filter=leak]').click()")
        assert browser.evaluate(shown) == 2  # the leak's summary row and section
        assert browser.evaluate("document.querySelector('article.leak').offsetParent !== null")
        browser.evaluate("document.querySelector('button[data-filter=all]').click()")
        assert browser.evaluate(shown) == 2 * len(report.tests)
        browser.open(path.as_uri(), width=360)
        assert browser.evaluate("document.documentElement.scrollWidth") <= 360
        browser.open(path.as_uri(), scripts=False)  # no buttons that do nothing; every test shown
        assert browser.evaluate("document.querySelector('.filters').offsetParent") is None
        assert browser.evaluate(shown) == 2 * len(report.tests)


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_a_real_holder_picture_is_drawn_during_diagnosis() -> None:
    _HOARD.clear()
    test = leakharness.check(leaky_cycle, max_cycles=120, holder_graph=True).tests[0]
    assert test.verdict is Verdict.LEAK
    assert (test.diagnosis.holder_graph or b"").startswith(b"\x89PNG")
    assert Page(render_html(Report((test,)))).all("img")


def test_the_most_severe_tests_come_first_and_errors_show_their_traceback(report: Report) -> None:
    skipped = TestReport("t.skipped", Verdict.SKIPPED, reason="not on this machine")
    error = TestReport(
        "t.error", Verdict.ERROR, reason="the test failed on its own", error="Traceback: <boom>\n"
    )
    page = Page(render_html(Report((skipped, *report.tests, error))))
    order = [attrs["data-verdict"] for tag, attrs in page.tags if tag == "article"]
    assert order == ["error", "leak", "clean", "clean", "skipped"]
    assert "Traceback: <boom>" in page.text


def test_an_empty_run_renders() -> None:
    page = Page(render_html(Report(())))
    assert "CLEAN nothing ran" in " ".join(" ".join(page.text).split()) and not page.all("article")

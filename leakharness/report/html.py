"""The HTML form of a Report: one self-contained page that fetches nothing.

CSS, JavaScript and the charts (SVG) are inline and the holder picture is a
``data:`` URI, so the file can be kept as a CI artifact and opened offline.
The page reads in full with JavaScript off; with it, buttons filter the tests
by verdict. Every string from the report goes through ``html.escape``.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from html import escape
from importlib import resources
from pathlib import Path

from leakharness._version import __version__
from leakharness.judge.verdict import Verdict
from leakharness.report import html_parts
from leakharness.report.html_chart import chart
from leakharness.report.json_report import write_text
from leakharness.report.model import Report, ResourceResult, TestReport
from leakharness.units import signed_amount

MARKS = {
    Verdict.LEAK: "▲",
    Verdict.CLEAN: "✓",
    Verdict.INCONCLUSIVE: "?",
    Verdict.ERROR: "!",
    Verdict.SKIPPED: "–",
}
# A diagonal hatch for the chart bands of cycles that were not sampled.
HATCH = (
    '<svg class="defs" width="0" height="0" aria-hidden="true"><defs><pattern id="hatch" '
    'width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<line x1="0" y1="0" x2="0" y2="6"/></pattern></defs></svg>'
)


def write_html(report: Report, path: Path) -> None:
    """Write the page of ``report`` to ``path`` via a temporary file and a rename."""
    write_text(render_html(report), path)


def render_html(report: Report) -> str:
    """The whole page of ``report``."""
    tests = "".join(_test(index, test) for index, test in _by_severity(report))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="leakharness {escape(__version__)}">'
        f"<title>leakharness: {escape(_counts(report))}</title>"
        f"<style>{_asset('html.css')}</style></head><body>{HATCH}"
        f'<header class="top"><h1>leakharness report</h1><p class="meta">{escape(_meta(report))}</p></header>'
        f"<main>{_summary(report)}{tests}</main>"
        f'<footer><p class="meta">made by leakharness {escape(__version__)}</p>{_settings(report)}</footer>'
        f"<script>{_asset('html.js')}</script></body></html>\n"
    )


def _by_severity(report: Report) -> list[tuple[int, TestReport]]:
    """The tests numbered in run order, most severe verdict first (errors, leaks, ...)."""
    return sorted(enumerate(report.tests, 1), key=lambda numbered: -numbered[1].verdict.rank)


def breakable(text: str) -> str:
    """``text`` escaped, with line-break opportunities after dots, slashes,
    colons and underscores (a test id is one long word)."""
    return re.sub(r"([./:_])(?!$)", r"\1<wbr>", escape(text))


def _asset(name: str) -> str:
    return resources.files("leakharness.report").joinpath(name).read_text(encoding="utf-8")


def _counts(report: Report) -> str:
    counts = report.counts()
    parts = [f"{counts[v.value]} {v.value}" for v in Verdict if counts[v.value]]
    return ", ".join(parts) or "nothing ran"


def _meta(report: Report) -> str:
    tests = html_parts.plural(len(report.tests), "test")
    return f"{tests} in {report.seconds:.1f} s · Python {sys.version.split()[0]} · {platform.platform()}"


def badge(verdict: Verdict) -> str:
    """The verdict as a coloured label: a mark and the word, never colour alone."""
    return f'<span class="badge {verdict.value}">{MARKS[verdict]} {verdict.value.upper()}</span>'


def _summary(report: Report) -> str:
    counts = report.counts()
    buttons = "".join(
        f'<button type="button" data-filter="{v.value}" aria-pressed="false">'
        f"{badge(v)} {counts[v.value]}</button>"
        for v in Verdict
        if counts[v.value]
    )
    rows = "".join(
        f'<tr data-verdict="{t.verdict.value}"><td>{badge(t.verdict)}</td>'
        f'<td class="test-id"><a href="#test-{i}">{breakable(t.id)}</a></td>'
        f'<td class="why">{escape(t.reason)}</td><td class="num">{t.cycles or ""}</td>'
        f'<td class="num">{f"{t.seconds:.2f} s" if t.seconds else ""}</td></tr>'
        for i, t in _by_severity(report)
    )
    return (
        f'<section class="summary {report.verdict.value}" aria-labelledby="summary-title">'
        f'<h2 id="summary-title">{badge(report.verdict)} {escape(_counts(report))}</h2>'
        f'<div class="filters" role="group" aria-label="show tests by verdict" hidden>'
        f'<button type="button" data-filter="all" aria-pressed="true">all {len(report.tests)}</button>'
        f"{buttons}</div>"
        '<div class="scroll"><table class="tests"><thead><tr><th>verdict</th><th>test</th>'
        '<th>why</th><th class="num">cycles</th><th class="num">time</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div></section>"
    )


def _test(index: int, test: TestReport) -> str:
    diagnosis = test.diagnosis
    body = "".join(
        (
            _warnings(test),
            f'<pre class="error">{escape(test.error.rstrip())}</pre>' if test.error else "",
            _charts(test),
            html_parts.sites(test.lines),
            html_parts.types(test.types),
            html_parts.holders(diagnosis),
            html_parts.handles(diagnosis),
            _notes(test),
        )
    )
    kind = test.classification.describe()
    return (
        f'<article class="test {test.verdict.value}" id="test-{index}" data-verdict="{test.verdict.value}">'
        f'<h2>{badge(test.verdict)} <span class="test-id">{breakable(test.id)}</span></h2>'
        f'<p class="facts">{escape(_facts(test))}{f" · <strong>{escape(kind)}</strong>" if kind else ""}</p>'
        f'<p class="reason">{escape(test.reason)}</p>{body}</article>'
    )


def _facts(test: TestReport) -> str:
    if not test.cycles:
        return "not examined" if not test.seconds else f"ran as written in {test.seconds:.2f} s"
    facts = [f"{test.cycles} cycles measured"]
    if test.warmup_cycles:
        facts.append(f"after {test.warmup_cycles} warm-up")
    if test.located_cycles:
        facts.append(f"{test.located_cycles} traced to locate")
    return ", ".join(facts) + f" · {test.seconds:.2f} s"


def _warnings(test: TestReport) -> str:
    items = "".join(f"<li>{escape(w)}</li>" for w in test.warnings)
    return f'<ul class="warnings">{items}</ul>' if items else ""


def _charts(test: TestReport) -> str:
    """One chart per watched resource. In a test that is not clean, those that
    are not clean first, and the clean ones folded under them."""
    if not test.resources:
        return ""
    clean = [r for r in test.resources if r.verdict is Verdict.CLEAN]
    folded = _figures(clean, test)
    if len(clean) == len(test.resources):
        return (
            f'<details class="resources"><summary>{html_parts.plural(len(clean), "resource")} watched, '
            f"all clean</summary>{folded}</details>"
        )
    shown = _figures([r for r in test.resources if r.verdict is not Verdict.CLEAN], test)
    names = ", ".join(r.resource.label for r in clean)
    more = (
        f"<details><summary>{len(clean)} clean: {escape(names)}</summary>{folded}</details>" if clean else ""
    )
    return html_parts.part("Resources, cycle by cycle", shown + more)


def _figures(results: list[ResourceResult], test: TestReport) -> str:
    return f'<div class="charts">{"".join(_figure(r, test) for r in results)}</div>'


def _figure(result: ResourceResult, test: TestReport) -> str:
    unit = result.resource.unit
    grown = f"{result.total_growth:+,.0f}" if round(result.total_growth) else "0"
    if unit == "bytes":
        grown = signed_amount(result.total_growth, unit)
    total = f"{grown} in {max(0, len(result.series) - 1)} cycles"
    if result.verdict is not Verdict.CLEAN:
        total = f"{signed_amount(result.growth_per_cycle, unit)}/cycle · {total}"
    warning = f'<p class="warning">{escape(result.warning)}</p>' if result.warning else ""
    return (
        f'<figure class="resource {result.verdict.value}" data-resource="{escape(result.resource.value)}">'
        f"<figcaption>{badge(result.verdict)} <strong>{escape(result.resource.label)}</strong>"
        f'<span class="growth" title="{escape(total)}">{escape(total)}</span></figcaption>'
        f"{chart(result, test.warmup_cycles, test.located_cycles)}"
        f'<p class="why">{escape(result.reason)}</p>{warning}</figure>'
    )


def _notes(test: TestReport) -> str:
    notes = (*test.notes, *test.diagnosis.notes)
    if not notes:
        return ""
    items = "".join(f"<li>{escape(n)}</li>" for n in notes)
    return f'<details class="notes"><summary>notes ({len(notes)})</summary><ul>{items}</ul></details>'


def _settings(report: Report) -> str:
    rows = [
        [escape(str(k)), html_parts.code(json.dumps(v, ensure_ascii=False))]
        for k, v in report.settings.items()
    ]
    table = html_parts.table(["setting", "value"], rows)
    return (
        f'<details class="settings"><summary>settings of the run</summary>{table}</details>' if rows else ""
    )

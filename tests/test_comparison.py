"""Two runs' leaks compared: the change of each test's resource, on plain report dicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leakharness.errors import LeakHarnessError
from leakharness.report.comparison import REGRESSION_MARGIN, Change, Difference, RunLeaks, compare
from leakharness.report.comparison_view import comparison_lines, growth


def run(*tests: dict[str, Any]) -> RunLeaks:
    return RunLeaks.from_dict({"schema": 1, "tests": list(tests)}, "test")


def entry(test_id: str, **growths: float) -> dict[str, Any]:
    """A test entry: each keyword a resource that leaks by that much per cycle
    (0 for clean); no keywords for a test that was not examined."""
    resources = [
        {
            "resource": name,
            "unit": "fds" if name == "fds" else "blocks",
            "verdict": "leak" if g else "clean",
            "growth_per_cycle": g,
        }
        for name, g in growths.items()
    ]
    return {"id": test_id, "verdict": "leak" if any(growths.values()) else "clean", "resources": resources}


def changes(before: RunLeaks, after: RunLeaks) -> list[tuple[str, str | None, Change]]:
    return [(d.test, d.resource, d.change) for d in compare(before, after).differences]


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        (1.0, 1.0, Change.STILL),
        (1.0, 1.04, Change.STILL),
        (13.0, 13.0 * (1 + REGRESSION_MARGIN), Change.STILL),  # at the margin: not worse enough
        (13.0, 13.0 * (1 + REGRESSION_MARGIN) + 0.1, Change.REGRESSED),
        (1.0, 2.0, Change.REGRESSED),
        (2.0, 1.0, Change.STILL),
        (1.0, 0.0, Change.FIXED),
        (0.0, 1.0, Change.NEW),
    ],
)
def test_growth_before_and_after_decides_the_change(before: float, after: float, change: Change) -> None:
    found = changes(run(entry("t.T.a", fds=before, heap=0)), run(entry("t.T.a", fds=after, heap=0)))
    assert found == [("t.T.a", "fds", change)]


def test_a_new_test_that_leaks_is_a_new_leak_and_fails() -> None:
    comparison = compare(run(entry("t.T.a", fds=0)), run(entry("t.T.a", fds=0), entry("t.T.b", heap=5)))
    assert [(d.test, d.change) for d in comparison.differences] == [
        ("t.T.b", Change.NEW),
        ("t.T.a", Change.UNCHANGED),
    ]
    assert comparison.failed


def test_a_leaking_test_that_is_gone_or_errored_is_not_measured() -> None:
    before = run(entry("t.T.gone", fds=1), entry("t.T.broke", fds=1))
    after = run({"id": "t.T.broke", "verdict": "error", "resources": []})
    comparison = compare(before, after)
    assert [(d.test, d.change) for d in comparison.differences] == [
        ("t.T.broke", Change.GONE),  # the later run's tests first
        ("t.T.gone", Change.GONE),
    ]
    assert not comparison.failed


def test_only_new_and_regressed_fail() -> None:
    assert {c for c in Change if c.fails} == {Change.NEW, Change.REGRESSED}


def test_pytest_node_ids_are_matched_as_they_are() -> None:
    node = "tests/test_a.py::TestA::test_x[1]"
    assert changes(run(entry(node, heap=4)), run(entry(node, heap=0))) == [(node, "heap", Change.FIXED)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a leakharness JSON report"),
        ({"tests": "x"}, "not a leakharness JSON report"),
        ({"tests": [{"id": "a"}]}, "a test entry is not as docs/json-report.md says"),
    ],
)
def test_bad_reports_are_one_line_errors(data: object, message: str) -> None:
    with pytest.raises(LeakHarnessError, match=message):
        RunLeaks.from_dict(data, "before.json")


def test_reading_a_missing_or_broken_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(LeakHarnessError, match=r"cannot read .*nope\.json"):
        RunLeaks.read(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(LeakHarnessError, match=r"broken\.json: not JSON"):
        RunLeaks.read(broken)


def test_the_comparison_json_counts_every_change() -> None:
    data = compare(run(entry("t.T.a", fds=1)), run(entry("t.T.a", fds=3))).to_dict()
    assert json.loads(json.dumps(data))["summary"]["regressed"] == 1
    assert data["differences"] == [
        {
            "test": "t.T.a",
            "resource": "fds",
            "change": "regressed",
            "before": 1.0,
            "after": 3.0,
            "unit": "fds",
        }
    ]


@pytest.mark.parametrize(
    ("difference", "text"),
    [
        (Difference("t", "fds", Change.NEW, None, 1.04, "fds"), "+1.04 fds/cycle"),
        (Difference("t", "heap", Change.STILL, 13.0, 40.0, "blocks"), "+13 → +40 blocks/cycle"),
        (Difference("t", "fds", Change.FIXED, 1.0, None, "fds"), "+1 → 0 fds/cycle"),
        (Difference("t", "rss", Change.REGRESSED, 4096.0, 8192.0, "bytes"), "+4.0 KiB → +8.0 KiB/cycle"),
        (Difference("t", "fds", Change.GONE, 2.0, None, "fds"), "+2 fds/cycle before"),
    ],
)
def test_growth_reads_before_and_after(difference: Difference, text: str) -> None:
    assert growth(difference) == text


def test_under_a_baseline_still_leaking_is_known_and_fixed_is_stale() -> None:
    comparison = compare(
        run(entry("t.T.a", fds=1), entry("t.T.b", fds=1)), run(entry("t.T.a", fds=1), entry("t.T.b", fds=0))
    )
    lines = [line.plain for line in comparison_lines(comparison, baseline=True)]
    assert lines[0].startswith("known leak    t.T.a  file descriptors  +1 → +1 fds/cycle")
    assert lines[1].startswith("stale: fixed  t.T.b")
    assert lines[-1] == (
        "against the baseline: known leak 1, stale: fixed 1 (refresh the baseline with --save-baseline)"
    )
    plain = [line.plain for line in comparison_lines(comparison)]
    assert plain[0].startswith("still leaking  t.T.a")
    assert plain[-1] == "compared: still leaking 1, fixed 1"

"""OpenMetrics text of a Report: growth per cycle and leak flags, per test and resource."""

from __future__ import annotations

import pytest

from leakharness.judge.verdict import Verdict
from leakharness.report.metrics import label, openmetrics
from leakharness.report.model import Report, ResourceResult, TestReport
from leakharness.resources import Resource


def test_label_values_are_escaped() -> None:
    assert label('a\\b"c\nd') == 'a\\\\b\\"c\\nd'


def report() -> Report:
    fds = ResourceResult(Resource.FDS, Verdict.LEAK, 1.04, 62.0, "grew")
    rss = ResourceResult(Resource.RSS, Verdict.CLEAN, 0.0, 4096.0, "flat")
    return Report(
        (
            TestReport('tests/t.py::test_x["a"]', Verdict.LEAK, resources=(fds, rss)),
            TestReport("t.T.test_error", Verdict.ERROR),
        )
    )


def test_each_resource_is_a_sample() -> None:
    lines = openmetrics(report()).splitlines()
    assert (
        'leakharness_growth_per_cycle{test="tests/t.py::test_x[\\"a\\"]",resource="fds",unit="fds"} 1.04'
        in lines
    )
    assert 'leakharness_leak{test="tests/t.py::test_x[\\"a\\"]",resource="rss",unit="bytes"} 0' in lines
    assert lines[-1] == "# EOF"
    assert not any("test_error" in line for line in lines)  # nothing was measured


def test_prometheus_parses_it() -> None:
    parser = pytest.importorskip("prometheus_client.openmetrics.parser")
    families = {f.name: f for f in parser.text_string_to_metric_families(openmetrics(report()))}
    assert [s.value for s in families["leakharness_growth_per_cycle"].samples] == [1.04, 0.0]
    assert [s.labels["resource"] for s in families["leakharness_leak"].samples if s.value] == ["fds"]

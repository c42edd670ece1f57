"""Findings on pytest reports: the round trip a pytest-xdist worker's report
makes to the controller, collection order, the JSON document, quiet lines."""

from __future__ import annotations

from types import SimpleNamespace

from leakharness import Resource, ResourceResult, TestReport, Verdict
from leakharness.integrations.pytest_results import PROPERTY, Results, attach, finding_of, quiet_line, take


def report(node_id: str, verdict: Verdict = Verdict.CLEAN, reason: str = "no resource grew") -> TestReport:
    return TestReport(node_id, verdict, cycles=60, reason=reason)


def test_findings_ride_on_a_report_and_are_taken_off_it() -> None:
    pytest_report = SimpleNamespace(user_properties=[("size", 1)])
    findings = [
        finding_of(report("t.py::a", Verdict.LEAK, "leaks fds +1/cycle")),
        finding_of(report("t.py::b")),
    ]
    attach(pytest_report, findings)
    assert [name for name, _ in pytest_report.user_properties] == ["size", PROPERTY]
    assert take(pytest_report) == findings
    assert pytest_report.user_properties == [("size", 1)]
    assert take(pytest_report) == []


def test_findings_are_ordered_as_collected_whatever_order_they_arrive_in() -> None:
    results = Results()
    results.collected(["t.py::first", "t.py::second", "t.py::third"])
    results.collected(["t.py::first", "t.py::second", "t.py::third"])  # a second worker's list
    for node_id in ("t.py::third", "t.py::second#2", "t.py::first", "t.py::second"):
        results.add([finding_of(report(node_id))])
    assert [f.id for f in results.ordered()] == [
        "t.py::first",
        "t.py::second",
        "t.py::second#2",
        "t.py::third",
    ]


def test_the_document_counts_verdicts_and_keeps_the_schema() -> None:
    results = Results()
    results.add([finding_of(report("t.py::a", Verdict.LEAK, "leaks")), finding_of(report("t.py::b"))])
    document = results.document({"max_cycles": 60}, 1.5)
    assert document["schema"] == 1
    assert document["settings"] == {"max_cycles": 60}
    assert document["summary"] == {"leak": 1, "clean": 1, "inconclusive": 0, "error": 0, "skipped": 0}
    assert [t["id"] for t in document["tests"]] == ["t.py::a", "t.py::b"]
    assert results.summary_line(1.5) == "2 tests examined: 1 leak, 1 clean in 1.5 s"


def test_a_quiet_line_names_the_verdict_the_test_and_the_reason() -> None:
    assert (
        quiet_line(report("t.py::a", Verdict.LEAK, "leaks fds +1/cycle"))
        == "LEAK t.py::a: leaks fds +1/cycle"
    )


def test_the_rendered_text_is_the_console_report() -> None:
    text = finding_of(report("t.py::a", Verdict.INCONCLUSIVE, "only 3 cycles ran"), width=80).text
    assert text.startswith("INCONCLUSIVE  t.py::a  60 cycles")
    assert "only 3 cycles ran" in text


def test_no_rendered_line_ends_in_spaces() -> None:
    fds = ResourceResult(
        Resource.FDS, Verdict.LEAK, 1.0, 60.0, "grew in all 6 windows of 10 cycles", tuple(range(61))
    )
    test = TestReport("t.py::a", Verdict.LEAK, cycles=60, resources=(fds,), reason="leaks file descriptors")
    text = finding_of(test, width=100).text
    assert "file descriptors" in text
    assert [line for line in text.splitlines() if line != line.rstrip()] == []

"""JUnit XML of a Report: pytest's layout, names, and what each verdict becomes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from leakharness.diagnose.diagnosis import Diagnosis
from leakharness.diagnose.holder_steps import Holder, HolderKind, Step
from leakharness.diagnose.locate import Line
from leakharness.judge.verdict import Verdict
from leakharness.report.junit import clean, junit_xml, names
from leakharness.report.model import Report, ResourceResult, TestReport
from leakharness.resources import Resource


@pytest.mark.parametrize(
    ("test_id", "expected"),
    [
        ("pkg.test_mod.Case.test_x", ("pkg.test_mod.Case", "test_x")),
        ("pkg.test_mod.Case.test_x#2", ("pkg.test_mod.Case", "test_x#2")),
        ("tests/test_a.py::TestA::test_x[1.5]", ("tests.test_a.TestA", "test_x[1.5]")),
        ("tests/test_a.py::test_f", ("tests.test_a", "test_f")),
        ("cycle", ("leakharness", "cycle")),
    ],
)
def test_names_are_pytests(test_id: str, expected: tuple[str, str]) -> None:
    assert names(test_id) == expected


def test_characters_xml_cannot_hold_are_written_out() -> None:
    assert clean("red \x1b[31mX\x1b[0m\ttab") == "red \\x1b[31mX\\x1b[0m\ttab"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Report:
    source = tmp_path / "app.py"
    source.write_text("import os\nKEPT.append(open(os.devnull))\n")
    monkeypatch.chdir(tmp_path)
    fds = ResourceResult(Resource.FDS, Verdict.LEAK, 1.0, 60.0, "grew in all 6 windows", tuple(range(61)))
    holder = Holder(
        (Step(HolderKind.MODULE, "module app"), Step(HolderKind.GLOBAL, "list KEPT")), "TextIOWrapper"
    )
    leak = TestReport(
        "app.tests.T.test_leak",
        Verdict.LEAK,
        cycles=60,
        seconds=0.25,
        resources=(fds,),
        lines=(Line(str(source), 2, 5000.0, 12.0),),
        reason="leaks file descriptors +1 fds/cycle",
        diagnosis=Diagnosis(holders=(holder,)),
        output="printed <here> & there\n",
    )
    return Report(
        (
            leak,
            TestReport("app.tests.T.test_ok", Verdict.CLEAN, cycles=60, seconds=0.1),
            TestReport(
                "app.tests.T.test_broken",
                Verdict.ERROR,
                reason="the test failed on its own",
                error="Traceback\nValueError: bad\n",
            ),
            TestReport("app.tests.T.test_later", Verdict.SKIPPED, reason="not today"),
            TestReport("app.tests.T.test_unsure", Verdict.INCONCLUSIVE, reason="too few cycles"),
        ),
        seconds=1.5,
    )


def cases(xml: str) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in ET.fromstring(xml).iter("testcase")}


def test_a_leak_is_a_failure_with_summary_site_and_holder(run: Report) -> None:
    case = cases(junit_xml(run))["test_leak"]
    assert case.attrib == {"classname": "app.tests.T", "name": "test_leak", "time": "0.250"}
    failure = case.find("failure")
    assert failure is not None
    assert failure.attrib["message"] == (
        "leaks file descriptors +1 fds/cycle at app.py:2; kept alive by module app → list KEPT"
    )
    assert failure.text is not None
    assert "app.py:2" in failure.text and "KEPT.append(open(os.devnull))" in failure.text
    assert "kept alive by: module app → list KEPT" in failure.text
    assert not any(line.endswith(" ") for line in failure.text.splitlines())
    assert case.findtext("system-out") == "printed <here> & there\n"


def test_errors_skips_and_inconclusive_tests(run: Report) -> None:
    found = cases(junit_xml(run))
    error = found["test_broken"].find("error")
    assert error is not None and error.attrib["message"] == "the test failed on its own"
    assert error.text == "Traceback\nValueError: bad\n"
    skipped = found["test_later"].find("skipped")
    assert skipped is not None and skipped.attrib["message"] == "not today"
    assert list(found["test_ok"]) == []
    assert found["test_unsure"].findtext("system-out") == "inconclusive: too few cycles"


def test_suite_counts(run: Report) -> None:
    suite = ET.fromstring(junit_xml(run)).find("testsuite")
    assert suite is not None
    counts = {k: suite.attrib[k] for k in ("tests", "failures", "errors", "skipped", "time")}
    assert counts == {"tests": "5", "failures": "1", "errors": "1", "skipped": "1", "time": "1.500"}


def test_a_known_leak_is_skipped(run: Report) -> None:
    xml = junit_xml(run, known={"app.tests.T.test_leak"})
    skipped = cases(xml)["test_leak"].find("skipped")
    assert skipped is not None
    assert skipped.attrib["message"] == "known leak: leaks file descriptors +1 fds/cycle"
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None and (suite.attrib["failures"], suite.attrib["skipped"]) == ("0", "2")


def test_junitparser_reads_every_verdict(run: Report, tmp_path: Path) -> None:
    junitparser = pytest.importorskip("junitparser")
    path = tmp_path / "junit.xml"
    path.write_text(junit_xml(run), encoding="utf-8")
    suite = next(iter(junitparser.JUnitXml.fromfile(str(path))))
    kinds = {case.name: type(case.result[0]).__name__ if case.result else "passed" for case in suite}
    assert kinds == {
        "test_leak": "Failure",
        "test_ok": "passed",
        "test_broken": "Error",
        "test_later": "Skipped",
        "test_unsure": "passed",
    }

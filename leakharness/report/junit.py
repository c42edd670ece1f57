"""JUnit XML in pytest's layout, which Jenkins, GitLab and GitHub test reporters read.

``testsuites/testsuite/testcase`` with ``classname``, ``name`` and ``time``;
a leak is a ``failure`` (message: the one-line summary; text: the report of
the test, sites and holder included), an error an ``error``, a skip
``skipped``. A leak the baseline already holds is ``skipped`` as "known leak".
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Collection
from datetime import datetime, timezone

from leakharness.judge.verdict import Verdict
from leakharness.report.console import to_text
from leakharness.report.model import Report, TestReport
from leakharness.report.sites import one_line

# Characters XML 1.0 cannot hold (ANSI escapes in captured output, for one).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """``text`` with the characters XML cannot hold written as ``\\xNN``."""
    return _ILLEGAL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def names(test_id: str) -> tuple[str, str]:
    """(classname, name) as pytest writes them: ``pkg.mod.Class``, ``test_x``.
    A pytest node id ``tests/test_a.py::TestA::test_x[1]`` gives
    ``tests.test_a.TestA``, ``test_x[1]``."""
    if "::" in test_id:
        path, *parts = test_id.split("::")
        module = path.removesuffix(".py").replace("/", ".").replace("\\", ".")
        return ".".join([module, *parts[:-1]]), parts[-1]
    head, _, tail = test_id.rpartition(".")
    return (head, tail) if head else ("leakharness", test_id)


def testcase(test: TestReport, known: bool = False) -> ET.Element:
    classname, name = names(test.id)
    case = ET.Element("testcase", classname=clean(classname), name=clean(name), time=f"{test.seconds:.3f}")
    if test.verdict is Verdict.LEAK:
        if known:
            ET.SubElement(
                case, "skipped", type="leakharness.known", message=clean(f"known leak: {test.reason}")
            )
        else:
            failure = ET.SubElement(case, "failure", message=clean(one_line(test)))
            failure.text = clean(to_text(test))
    elif test.verdict is Verdict.ERROR:
        error = ET.SubElement(case, "error", message=clean(test.reason))
        error.text = clean(test.error or test.reason)
    elif test.verdict is Verdict.SKIPPED:
        ET.SubElement(case, "skipped", type="pytest.skip", message=clean(test.reason))
    elif test.verdict is Verdict.INCONCLUSIVE:
        ET.SubElement(case, "system-out").text = clean(f"inconclusive: {test.reason}")
    if test.output and test.verdict in (Verdict.LEAK, Verdict.ERROR):
        ET.SubElement(case, "system-out").text = clean(test.output)
    return case


def junit_xml(report: Report, known: Collection[str] = ()) -> str:
    """The report as JUnit XML; tests whose ids are in ``known`` leak as the baseline says."""
    cases = [testcase(test, test.id in known) for test in report.tests]
    counts = report.counts()
    known_leaks = sum(1 for t in report.tests if t.leaked and t.id in known)
    suite = ET.Element(
        "testsuite",
        name="leakharness",
        errors=str(counts[Verdict.ERROR.value]),
        failures=str(counts[Verdict.LEAK.value] - known_leaks),
        skipped=str(counts[Verdict.SKIPPED.value] + known_leaks),
        tests=str(len(report.tests)),
        time=f"{report.seconds:.3f}",
        timestamp=datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        hostname=socket.gethostname(),
    )
    suite.extend(cases)
    root = ET.Element("testsuites", name="leakharness")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

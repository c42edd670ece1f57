"""The CI options end to end, on leaky and fixed twins of a tiny test file:
baselines and their exit status, JUnit XML read by junitparser, annotations,
OpenMetrics, --buffer."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import Run, run_cli

# One file descriptor kept per cycle: exact, so a verdict settles in 60 cycles.
LEAKY = """\
import os
import unittest

KEPT = []


class Files(unittest.TestCase):
    def test_open(self):
        print("opening", os.devnull)
        KEPT.append(open(os.devnull){more})  # LEAK

    def test_scratch(self):
        print("chatty " * 20)
        bytearray(256)
"""
FIXED = LEAKY.replace("KEPT.append(open(os.devnull){more})  # LEAK", "open(os.devnull).close()")
WORSE = LEAKY.format(more="), KEPT.append(open(os.devnull)")  # two a cycle
NEW_TEST = (
    LEAKY
    + """
    def test_also_keeps(self):
        KEPT.append(bytearray(512))
"""
)
ONE = r"\+1(\.\d+)?"  # one fd a cycle: the slope over 60 cycles reads +1 or +1.04


def write(folder: Path, text: str) -> Path:
    path = folder / "test_files.py"
    path.write_text(text.format(more="") if "{more}" in text else text)
    return path


def hunt(folder: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    return run_cli("test_files.py", "--cycles", "80", *args, cwd=folder, env=env)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("baseline")
    write(folder, LEAKY)
    run = hunt(folder, "--save-baseline", "baseline.json", "--junit-xml", "junit.xml", "--metrics", "m.txt")
    assert run.code == 1, run.stdout + run.stderr
    return folder


def test_the_saved_baseline_is_the_json_report(baseline: Path) -> None:
    data = json.loads((baseline / "baseline.json").read_text())
    leaking = {t["id"].rsplit(".", 1)[-1]: t["verdict"] for t in data["tests"]}
    assert leaking == {"test_open": "leak", "test_scratch": "clean"}


def test_a_known_leak_passes_and_shows_then_and_now(baseline: Path) -> None:
    run = hunt(baseline, "--baseline", "baseline.json")
    assert run.code == 0, run.stdout + run.stderr
    known = [line for line in run.stdout.splitlines() if line.startswith("known leak")]
    assert all("test_open" in line for line in known), run.stdout
    assert any(re.search(rf"file descriptors +{ONE} → {ONE} fds/cycle$", line) for line in known), known
    assert "against the baseline: known leak" in run.stdout
    assert "new leak" not in run.stdout


def test_a_fixed_leak_passes_and_is_listed_as_stale(baseline: Path, tmp_path: Path) -> None:
    write(tmp_path, FIXED)
    run = hunt(tmp_path, "--baseline", str(baseline / "baseline.json"))
    assert run.code == 0, run.stdout
    assert any(line.startswith("stale: fixed") and "test_open" in line for line in run.stdout.splitlines())
    assert "refresh the baseline with --save-baseline" in run.stdout


def test_a_leak_that_got_worse_fails(baseline: Path, tmp_path: Path) -> None:
    write(tmp_path, WORSE)
    run = hunt(tmp_path, "--baseline", str(baseline / "baseline.json"))
    assert run.code == 1, run.stdout
    assert any(
        line.startswith("regressed") and re.search(rf"{ONE} → \+2(\.\d+)? fds/cycle", line)
        for line in run.stdout.splitlines()
    )


def test_a_new_test_that_leaks_fails(baseline: Path, tmp_path: Path) -> None:
    write(tmp_path, NEW_TEST)
    run = hunt(tmp_path, "--baseline", str(baseline / "baseline.json"), "--cycles", "200")
    assert run.code == 1, run.stdout
    new = [line for line in run.stdout.splitlines() if line.startswith("new leak")]
    assert new and all("test_also_keeps" in line for line in new), run.stdout


def test_a_missing_baseline_is_a_usage_error_before_the_run(tmp_path: Path) -> None:
    write(tmp_path, FIXED)
    run = hunt(tmp_path, "--baseline", "nope.json")
    assert run.code == 2
    assert run.stderr.startswith("leakharness: error: cannot read nope.json")
    assert run.stdout == ""


def test_junit_xml_loads_in_junitparser(baseline: Path) -> None:
    junitparser = pytest.importorskip("junitparser")
    xml = junitparser.JUnitXml.fromfile(str(baseline / "junit.xml"))
    suite = next(iter(xml))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (2, 1, 0, 0)
    cases = {case.name: case for case in suite}
    assert set(cases) == {"test_open", "test_scratch"}
    assert cases["test_open"].classname == "test_files.Files"
    (failure,) = cases["test_open"].result
    assert isinstance(failure, junitparser.Failure)
    assert re.match(f"leaks file descriptors {ONE} fds/cycle", failure.message)
    assert "at test_files.py:10" in failure.message
    assert "KEPT.append(open(os.devnull))" in failure.text  # the site, in the report's text
    assert cases["test_scratch"].is_passed


def test_junit_xml_has_pytests_layout(baseline: Path) -> None:
    root = ET.parse(baseline / "junit.xml").getroot()
    assert root.tag == "testsuites"
    (suite,) = root
    assert suite.tag == "testsuite"
    assert {"name", "tests", "failures", "errors", "skipped", "time", "timestamp", "hostname"} <= set(
        suite.attrib
    )
    for case in suite:
        assert case.tag == "testcase"
        assert {"classname", "name", "time"} <= set(case.attrib)
        float(case.attrib["time"])


def test_with_a_baseline_a_known_leak_is_skipped_in_junit(baseline: Path) -> None:
    junitparser = pytest.importorskip("junitparser")
    run = hunt(baseline, "--baseline", "baseline.json", "--junit-xml", "known.xml")
    assert run.code == 0
    suite = next(iter(junitparser.JUnitXml.fromfile(str(baseline / "known.xml"))))
    assert (suite.failures, suite.skipped) == (0, 1)
    case = next(case for case in suite if case.name == "test_open")
    assert case.is_skipped and case.result[0].message.startswith("known leak: leaks file descriptors")


def test_annotations_point_at_the_leaking_line(baseline: Path) -> None:
    run = hunt(baseline, "-q", env={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(baseline)})
    commands = [line for line in run.stdout.splitlines() if line.startswith("::")]
    assert len(commands) == 1, run.stdout
    assert commands[0].startswith(
        "::error file=test_files.py,line=10,title=leak in test_files.Files.test_open::"
    )
    assert re.search(f"::leaks file descriptors {ONE} fds/cycle", commands[0])
    quiet = run_cli("test_files.py", "--cycles", "80", "-q", cwd=baseline)
    assert "::error" not in quiet.stdout  # not outside GitHub Actions, unless asked
    asked = hunt(baseline, "--annotations", "github", "--baseline", "baseline.json")
    assert any(line.startswith("::warning file=test_files.py,line=10") for line in asked.stdout.splitlines())


def test_metrics_are_openmetrics_text(baseline: Path) -> None:
    text = (baseline / "m.txt").read_text()
    assert text.endswith("# EOF\n")
    parser = pytest.importorskip("prometheus_client.openmetrics.parser")
    families = {family.name: family for family in parser.text_string_to_metric_families(text)}
    growth = {
        (s.labels["test"].rsplit(".", 1)[-1], s.labels["resource"]): s.value
        for s in families["leakharness_growth_per_cycle"].samples
    }
    assert growth[("test_open", "fds")] == pytest.approx(1.0, abs=0.1)
    assert growth[("test_scratch", "fds")] == 0
    leaks = {s.labels["resource"] for s in families["leakharness_leak"].samples if s.value == 1}
    assert "fds" in leaks


def test_buffer_keeps_the_output_of_leaks_only(baseline: Path) -> None:
    run = hunt(baseline, "--buffer", "--json", "buffered.json")
    assert "chatty" not in run.stdout  # a clean test's output is dropped
    assert "captured output:" in run.stdout and "opening /dev/null" in run.stdout
    report = json.loads((baseline / "buffered.json").read_text())
    outputs = {t["id"].rsplit(".", 1)[-1]: t["output"] for t in report["tests"]}
    assert outputs["test_scratch"] == ""
    assert outputs["test_open"].startswith("opening /dev/null\n")
    unbuffered = hunt(baseline)
    assert "chatty chatty" in unbuffered.stdout  # without --buffer, tests print as they run

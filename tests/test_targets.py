"""Turning command-line targets into tests, and hunt mode's fixtures."""

from __future__ import annotations

import sys
import textwrap
import unittest
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakharness import Settings, Verdict
from leakharness.errors import LeakHarnessError
from leakharness.integrations.hunt import hunt
from leakharness.integrations.targets import load_tests

MODULE = textwrap.dedent(
    """
    import unittest

    EVENTS = []

    def setUpModule():
        EVENTS.append("setUpModule")

    def tearDownModule():
        EVENTS.append("tearDownModule")

    class A(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            EVENTS.append("setUpClass")

        @classmethod
        def tearDownClass(cls):
            EVENTS.append("tearDownClass")

        def test_one(self):
            pass

        def test_two(self):
            pass

        @unittest.expectedFailure
        def test_known_bug(self):
            self.fail("known")

    @unittest.skip("whole class")
    class B(unittest.TestCase):
        def test_skipped(self):
            pass
    """
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "test_mod.py").write_text(MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("pkg", "pkg.test_mod"):
        sys.modules.pop(name, None)


def ids(tests: list[unittest.TestCase]) -> list[str]:
    return [test.id() for test in tests]


def test_a_file_a_folder_a_module_and_an_id_load_the_same_tests(project: Path) -> None:
    expected = ["pkg.test_mod.A.test_known_bug", "pkg.test_mod.A.test_one", "pkg.test_mod.A.test_two"]
    for target in ("pkg/test_mod.py", "pkg", "pkg.test_mod"):
        assert ids(load_tests([target]))[:3] == expected, target
    assert ids(load_tests(["pkg.test_mod.A.test_two"])) == ["pkg.test_mod.A.test_two"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("pkg.nope", "cannot find target 'pkg.nope'"),
        ("nope_at_all", "cannot import target 'nope_at_all'"),
        ("pkg/missing.py", "no such file"),
    ],
)
def test_bad_targets_raise_clear_errors(project: Path, target: str, message: str) -> None:
    with pytest.raises(LeakHarnessError, match=message):
        load_tests([target])


def test_a_folder_without_tests_is_an_error(project: Path) -> None:
    (project / "empty").mkdir()
    with pytest.raises(LeakHarnessError, match="no tests found in 'empty'"):
        load_tests(["empty"])


def test_hunt_runs_fixtures_once_around_their_tests(project: Path) -> None:
    tests = load_tests(["pkg.test_mod"])
    report = hunt(tests, Settings(max_cycles=60))
    events = __import__("pkg.test_mod", fromlist=["EVENTS"]).EVENTS
    assert events == ["setUpModule", "setUpClass", "tearDownClass", "tearDownModule"]
    verdicts = {test.id.rsplit(".", 1)[-1]: test.verdict for test in report.tests}
    assert verdicts == {
        "test_known_bug": Verdict.SKIPPED,
        "test_one": Verdict.CLEAN,
        "test_two": Verdict.CLEAN,
        "test_skipped": Verdict.SKIPPED,
    }


def test_a_failing_class_fixture_makes_its_tests_errors(project: Path) -> None:
    (project / "pkg" / "test_fixture.py").write_text(
        "import unittest\n\nclass F(unittest.TestCase):\n"
        "    @classmethod\n    def setUpClass(cls):\n        raise OSError('no database')\n\n"
        "    def test_x(self):\n        pass\n"
    )
    report = hunt(load_tests(["pkg.test_fixture"]), Settings(max_cycles=60))
    (test,) = report.tests
    assert test.verdict is Verdict.ERROR
    assert "OSError: no database" in (test.error or "")

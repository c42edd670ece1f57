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
    assert ids(load_tests(["pkg/test_mod.py::A::test_two"])) == ["pkg.test_mod.A.test_two"]
    assert ids(load_tests(["pkg/test_mod.py::A"])) == expected


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("pkg.nope", "cannot find target 'pkg.nope'"),
        ("nope_at_all", "cannot import target 'nope_at_all'"),
        ("pkg/missing.py", "no such file"),
        ("pkg/test_mod.py::A::test_nope", "cannot find target .*no attribute 'test_nope'"),
        ("pkg/missing.py::A", "no such file"),
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


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def forget_modules() -> Iterator[None]:
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_two_files_with_one_name_in_two_folders_load_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: None
) -> None:
    monkeypatch.chdir(tmp_path)
    for folder in ("a", "b"):
        _write(
            tmp_path / folder / "test_same.py",
            f"import unittest\n\nclass T(unittest.TestCase):\n    def test_{folder}(self):\n        pass\n",
        )
    names = [test.id().rsplit(".", 1)[-1] for test in load_tests(["a/test_same.py", "b/test_same.py"])]
    assert names == ["test_a", "test_b"]


def test_a_file_named_like_a_stdlib_module_loads_its_own_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: None
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path / "shadow" / "string.py",
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_mine(self):\n        pass\n",
    )
    (test,) = load_tests(["shadow/string.py"])
    assert test.id().endswith("T.test_mine")
    assert sys.modules["string"].__file__ != str(tmp_path / "shadow" / "string.py")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("pkg.test_mod.helper", "is a function, not a test"),
        ("pkg.test_mod.CONST", "is a int, not a test"),
        ("pkg.test_mod.Plain", "is a type, not a test"),
    ],
)
def test_an_id_that_names_no_test_is_an_error_and_calls_nothing(
    project: Path, target: str, message: str
) -> None:
    with (project / "pkg" / "test_mod.py").open("a") as module:
        module.write("\nCALLS = []\nCONST = 5\n\ndef helper():\n    CALLS.append(1)\n    return 42\n")
        module.write("\nclass Plain:\n    pass\n")
    with pytest.raises(LeakHarnessError, match=message):
        load_tests([target])
    assert sys.modules["pkg.test_mod"].CALLS == []


@pytest.mark.parametrize("body", ["raise RuntimeError('package init boom')", "import sys; sys.exit(0)"])
def test_a_dotted_target_in_a_package_whose_init_fails_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: None, body: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    _write(tmp_path / "badpkg" / "__init__.py", body + "\n")
    _write(tmp_path / "badpkg" / "test_x.py", "import unittest\n")
    with pytest.raises(LeakHarnessError, match=r"cannot import target 'badpkg\.test_x'"):
        load_tests(["badpkg.test_x"])


def test_an_empty_target_is_an_error() -> None:
    with pytest.raises(LeakHarnessError, match="must not be empty"):
        load_tests([""])


FIXTURES = """
    import sys
    import unittest

    def setUpModule():
        {module}

    class T(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            {klass}

        def test_x(self):
            pass
"""


@pytest.mark.parametrize(
    ("module", "klass", "verdict", "text"),
    [
        ("raise unittest.SkipTest('no GPU')", "pass", Verdict.SKIPPED, "no GPU"),
        ("pass", "raise unittest.SkipTest('no database')", Verdict.SKIPPED, "no database"),
        ("pass", "sys.exit(0)", Verdict.ERROR, "SystemExit"),
        ("sys.exit(3)", "pass", Verdict.ERROR, "SystemExit: 3"),
    ],
)
def test_fixtures_that_skip_or_exit(
    project: Path, module: str, klass: str, verdict: Verdict, text: str
) -> None:
    (project / "pkg" / "test_fix.py").write_text(textwrap.dedent(FIXTURES.format(module=module, klass=klass)))
    try:
        (test,) = hunt(load_tests(["pkg.test_fix"]), Settings(max_cycles=60)).tests
    finally:
        sys.modules.pop("pkg.test_fix", None)
    assert test.verdict is verdict
    assert text in (test.reason + (test.error or ""))


def test_an_installed_package_hunted_for_its_own_tests_is_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leakharness import frames

    libs = tmp_path / "libs"
    package = libs / "installedpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("_kept = []\n\n\ndef store():\n    _kept.append([object()] * 50)\n")
    (package / "test_store.py").write_text(
        "import unittest\n\nimport installedpkg\n\n\n"
        "class T(unittest.TestCase):\n    def test_store(self):\n        installedpkg.store()\n"
    )
    monkeypatch.setattr(frames, "_LIBRARIES", (str(libs.resolve()) + "/",))
    monkeypatch.setattr(frames, "_project_roots", ())
    monkeypatch.syspath_prepend(str(libs))
    frames.origin.cache_clear()
    try:
        assert frames.origin(str(package / "__init__.py")) is frames.Origin.LIBRARY
        report = hunt(load_tests(["installedpkg.test_store"]), Settings(max_cycles=60))
        assert frames.origin(str(package / "__init__.py")) is frames.Origin.PROJECT
    finally:
        for name in ("installedpkg", "installedpkg.test_store"):
            sys.modules.pop(name, None)
        monkeypatch.undo()
        frames.origin.cache_clear()
    top = report.tests[0].lines[0]
    assert report.tests[0].verdict is Verdict.LEAK
    assert (Path(top.file).name, top.line, top.in_user_code) == ("__init__.py", 5, True)


def test_a_missing_third_party_module_says_which_python_looked(tmp_path: Path) -> None:
    # A pre-commit hook's own environment lacks the packages the tests import.
    target = tmp_path / "test_frames.py"
    target.write_text("import leakharness_no_such_package\n")
    with pytest.raises(LeakHarnessError) as raised:
        load_tests([str(target)])
    assert str(raised.value).endswith(
        "ModuleNotFoundError: No module named 'leakharness_no_such_package'"
        f" (not installed for {sys.executable}: under pre-commit, see docs/ci.md)"
    )

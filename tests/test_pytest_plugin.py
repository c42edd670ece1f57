"""The pytest plugin end to end: pytester runs in a subprocess (so this run's
own tracing state stays out of it) with ``--leaks``, the marker, the fixture,
``--leaks-json`` and pytest-xdist."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from leakharness.config import Settings
from tests.helpers import CASES, ROOT, marked_lines

pytest_plugins = ["pytester"]

CASE_FILE = CASES / "pytest_cases.py"
# A registered entry point loads the plugin already; naming it again would register it twice.
REGISTERED = any(ep.name == "leakharness" for ep in entry_points(group="pytest11"))
PLUGIN = () if REGISTERED else ("-p", "leakharness.integrations.pytest_plugin")
FAST = ("--leaks-cycles", "60")  # leaks here settle within 60 cycles; clean tests stop at 15 anyway
LEAKING = {
    "test_cases.py::test_leaking_function",
    "test_cases.py::test_leaking_fixture",
    "test_cases.py::test_parametrized_leak[512]",
    "test_cases.py::TestGrouped::test_leaking_method",
    "test_cases.py::PlainCase::test_leaking_unittest",
}


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*PLUGIN, "-p", "no:cacheprovider", *args, timeout=240)


def verdicts(document: dict[str, Any]) -> dict[str, str]:
    return {test["id"]: test["verdict"] for test in document["tests"]}


def failed_ids(result: pytest.RunResult) -> set[str]:
    return {line.split()[1] for line in result.outlines if line.startswith("FAILED ")}


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("suite")
    (folder / "test_cases.py").write_text(CASE_FILE.read_text())
    return folder


@pytest.fixture(scope="module")
def serial(suite: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    return _hunt(suite, "serial.json")


@pytest.fixture(scope="module")
def spread(suite: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    return _hunt(suite, "spread.json", "-n", "2", "--junitxml", str(suite / "spread.xml"))


def _hunt(suite: Path, name: str, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """The case suite under --leaks (module-scoped: pytester is function-scoped)."""
    out = suite / name
    command = [sys.executable, "-m", "pytest", *PLUGIN, "-p", "no:cacheprovider", "--leaks", *FAST]
    command += ["--leaks-json", str(out), "-rfE", *args, "test_cases.py"]
    env = {"PYTHONPATH": str(ROOT), "COLUMNS": "120", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(command, cwd=suite, capture_output=True, text=True, timeout=240, env=env)
    assert out.exists(), proc.stdout + proc.stderr
    return proc, json.loads(out.read_text())


def test_leaks_fail_the_test_with_the_leak_error_text(serial: Any) -> None:
    proc, document = serial
    assert proc.returncode == 1
    assert {test for test, verdict in verdicts(document).items() if verdict == "leak"} == LEAKING
    failed = {line.split()[1] for line in proc.stdout.splitlines() if line.startswith("FAILED ")}
    assert failed == {
        *LEAKING,
        "test_cases.py::test_fails_on_its_own",
        "test_cases.py::test_passes_only_once",
    }
    assert "leaks Python heap" in proc.stdout
    assert "allocated at (innermost first):" in proc.stdout


def test_the_leaking_line_is_named(serial: Any) -> None:
    _, document = serial
    marks = marked_lines(CASE_FILE)
    for test in document["tests"]:
        if test["verdict"] == "leak":
            top = test["lines"][0]
            assert (Path(top["file"]).name, top["line"] in marks) == ("test_cases.py", True), test["id"]


def test_clean_tests_read_clean_with_pytests_own_fixtures(serial: Any) -> None:
    """capsys, tmp_path, caplog, printing and record_property grow pytest's
    bookkeeping on every run of the protocol: it is cut back between cycles."""
    _, document = serial
    clean = {test for test, verdict in verdicts(document).items() if verdict == "clean"}
    assert clean == {
        f"test_cases.py::{name}"
        for name in (
            "test_clean_function",
            "test_tidy_fixture",
            "test_module_fixture_kept",
            "test_capsys",
            "test_prints",
            "test_tmp_path",
            "test_monkeypatch",
            "test_caplog",
            "test_record_property",
            "test_parametrized[16]",
            "test_parametrized[256]",
            "TestGrouped::test_clean_method",
            "PlainCase::test_clean_unittest",
        )
    }
    least = document["settings"]["min_cycles"]
    assert all(t["cycles"] >= least for t in document["tests"] if t["verdict"] in ("clean", "leak"))


def test_a_test_that_fails_on_its_own_is_that_failure_not_repeated(serial: Any) -> None:
    proc, document = serial
    test = next(t for t in document["tests"] if t["id"].endswith("test_fails_on_its_own"))
    assert (test["verdict"], test["cycles"]) == ("error", 0)
    assert "ValueError: broken on its own" in test["error"]
    assert "FAILED test_cases.py::test_fails_on_its_own - ValueError: broken on its own" in proc.stdout
    once = next(t for t in document["tests"] if t["id"].endswith("test_passes_only_once"))
    assert once["verdict"] == "error"
    assert once["reason"].startswith("passed once, then failed when repeated")
    assert "assert not True" in once["error"]
    skipped = next(t for t in document["tests"] if t["id"].endswith("test_skipped"))
    assert (skipped["verdict"], skipped["reason"]) == ("skipped", "Skipped: not today")


def test_the_json_report_has_the_clis_schema_with_node_ids(serial: Any) -> None:
    _, document = serial
    assert document["schema"] == 1
    assert document["settings"]["max_cycles"] == 60
    assert document["summary"] == {"leak": 5, "clean": 13, "inconclusive": 0, "error": 2, "skipped": 1}
    ids = [test["id"] for test in document["tests"]]
    assert ids[:2] == ["test_cases.py::test_clean_function", "test_cases.py::test_leaking_function"]
    assert len(ids) == 21  # every collected test, in collection order


def test_the_terminal_summary_shows_the_leaks_after_pytests_own(serial: Any) -> None:
    proc, _ = serial
    out = proc.stdout
    section = out.index("= leakharness =")
    assert out.index("= FAILURES =") < section < out.index("short test summary info")
    assert "21 tests examined: 5 leak, 13 clean, 2 error, 1 skipped" in out[section:]
    assert "LEAK  test_cases.py::test_leaking_fixture" in out[section:]


def test_xdist_workers_give_the_serial_verdicts_and_json(serial: Any, spread: Any) -> None:
    (serial_proc, serial_doc), (spread_proc, spread_doc) = serial, spread
    assert "2 workers" in spread_proc.stdout
    assert verdicts(spread_doc) == verdicts(serial_doc)
    assert [t["id"] for t in spread_doc["tests"]] == [t["id"] for t in serial_doc["tests"]]
    assert spread_doc["summary"] == serial_doc["summary"]

    def failed(out: str) -> set[str]:
        return {line.split()[1] for line in out.splitlines() if line.startswith("FAILED ")}

    assert failed(spread_proc.stdout) == failed(serial_proc.stdout)


def test_junitxml_under_xdist_has_every_test_and_no_findings_entry(suite: Path, spread: Any) -> None:
    xml = (suite / "spread.xml").read_text()
    assert xml.count("<testcase ") == 21
    assert 'name="leakharness"' not in xml
    assert "leaks Python heap" in xml  # a leak's failure message, as pytest reports it


def test_function_fixtures_are_made_each_cycle_wider_ones_once(pytester: pytest.Pytester) -> None:
    log = pytester.path / "setups.txt"
    pytester.makepyfile(
        f"""
        import pytest

        def note(what):
            with open({str(log)!r}, "a") as handle:
                handle.write(what + "\\n")

        @pytest.fixture(scope="module")
        def wide():
            note("module")

        @pytest.fixture
        def narrow():
            note("function")
            yield
            note("teardown")

        def test_uses_both(wide, narrow):
            pass
        """
    )
    result = run(pytester, "--leaks", *FAST)
    result.assert_outcomes(passed=1)
    lines = log.read_text().split()
    assert lines.count("module") == 1
    # The first run (the first of the warm-up runs), the other warm-up runs, at least min_cycles.
    assert lines.count("function") == lines.count("teardown") >= Settings().warmup + Settings().min_cycles


def test_the_marker_examines_a_test_without_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        KEPT = []

        @pytest.mark.no_leaks(max_cycles=60)
        def test_marked_leak():
            KEPT.append(bytearray(2048))

        @pytest.mark.no_leaks(max_cycles=60, min_cycles=30)
        def test_marked_clean():
            bytearray(2048)

        def test_unmarked_leak():
            KEPT.append(bytearray(2048))
        """
    )
    result = run(pytester, "--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning")
    result.assert_outcomes(passed=2, failed=1)
    assert failed_ids(result) == {"test_the_marker_examines_a_test_without_the_option.py::test_marked_leak"}
    result.stdout.fnmatch_lines(["*2 tests examined: 1 leak, 1 clean*"])


def test_a_bad_marker_keyword_fails_that_test_in_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.no_leaks(max_cylces=10)
        def test_typo():
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no_leaks: unknown setting 'max_cylces' (known: *"])


def test_the_fixture_examines_a_cycle_and_returns_its_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        KEPT = []

        def test_fixture_clean(leak_check):
            report = leak_check(bytearray, 512, max_cycles=60)
            assert report.verdict.value == "clean"
            assert report.id.endswith("::test_fixture_clean")

        def test_fixture_leak(leak_check):
            leak_check(lambda: KEPT.append(bytearray(1024)), max_cycles=60)
        """
    )
    out = pytester.path / "report.json"
    result = run(pytester, "--leaks", "--leaks-json", str(out))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*LeakError: leaks Python heap*"])
    document = json.loads(out.read_text())
    module = "test_the_fixture_examines_a_cycle_and_returns_its_report.py"
    assert verdicts(document) == {
        f"{module}::test_fixture_clean": "clean",
        f"{module}::test_fixture_leak": "leak",
    }


def test_quiet_keeps_one_line_per_leak_with_its_site(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        KEPT = []

        def test_hoards():
            KEPT.append(bytearray(4096))

        def test_clean():
            pass
        """
    )
    result = run(pytester, "--leaks", *FAST, "-q")
    start = result.outlines.index(next(o for o in result.outlines if "= leakharness =" in o)) + 1
    # up to pytest's next section: its short summary prints whole messages when CI is set
    end = next((i for i in range(start, len(result.outlines)) if result.outlines[i].startswith("=")), None)
    lines = [line for line in result.outlines[start:end] if line.startswith("LEAK")]
    assert len(lines) == 1
    module = "test_quiet_keeps_one_line_per_leak_with_its_site.py"
    assert lines[0].startswith(f"LEAK {module}::test_hoards: leaks Python heap")
    assert lines[0].endswith(f"({module}:4  KEPT.append(bytearray(4096)))")


def test_unclosed_objects_count_and_other_warnings_show_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import warnings

        PATH = __file__

        def test_unclosed_file():
            handle = open(PATH)
            handle.read()

        def test_closed_file():
            with open(PATH) as handle:
                handle.read()

        def test_warns_every_run():
            warnings.warn("old api", DeprecationWarning)
        """
    )
    result = run(pytester, "--leaks", *FAST, "-q")
    result.assert_outcomes(passed=2, failed=1, warnings=1)
    module = "test_unclosed_objects_count_and_other_warnings_show_once.py"
    assert failed_ids(result) == {f"{module}::test_unclosed_file"}
    quiet = [line for line in result.outlines if line.startswith(f"LEAK {module}")]
    assert quiet == [
        f"LEAK {module}::test_unclosed_file: leaks unclosed (ResourceWarning) +1 objects/cycle"
        f"  ({module}:6  handle = open(PATH))"
    ]


def test_leak_test_case_classes_run_as_written(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import unittest

        from leakharness import LeakTestCase, no_leaks

        KEPT = []

        class Cases(LeakTestCase):
            def test_asserts_clean(self):
                self.assertNoLeaks(bytearray, 256)

            def test_asserts_leak(self):
                self.assertNoLeaks(lambda: KEPT.append(bytearray(1024)))

        class Decorated(unittest.TestCase):
            @no_leaks(max_cycles=60)
            def test_decorated_leak(self):
                KEPT.append(bytearray(1024))
        """
    )
    out = pytester.path / "report.json"
    result = run(pytester, "--leaks", "--leaks-cycles", "50", "--leaks-json", str(out))
    result.assert_outcomes(passed=1, failed=2)
    document = json.loads(out.read_text())
    module = "test_leak_test_case_classes_run_as_written.py"
    assert verdicts(document) == {
        f"{module}::Cases::test_asserts_clean": "clean",
        f"{module}::Cases::test_asserts_leak": "leak",
        f"{module}::Decorated::test_decorated_leak": "leak",
    }
    leak = document["tests"][1]  # a memory leak runs to max_cycles here: --leaks-cycles reached it
    assert (leak["verdict"], leak["cycles"]) == ("leak", 50)


def test_pyproject_settings_apply_and_options_override_them(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.leakharness]\nmax_cycles = 70\nwarmup = 2\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    out = pytester.path / "report.json"
    run(pytester, "--leaks", "--leaks-time-budget", "5", "--leaks-json", str(out))
    settings = json.loads(out.read_text())["settings"]
    assert (settings["max_cycles"], settings["warmup"], settings["time_budget"]) == (70, 2, 5)


def test_bad_pyproject_settings_matter_only_when_examining(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.leakharness]\nmax_cycles = 0\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    run(pytester).assert_outcomes(passed=1)
    result = run(pytester, "--leaks")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*leakharness: *pyproject.toml*max_cycles must be >= *"])


def test_a_bad_json_path_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--leaks", "--leaks-json", str(pytester.path / "missing" / "r.json"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*leakharness: --leaks-json *: folder * does not exist*"])


def test_zero_cycles_is_a_usage_error_naming_the_option(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--leaks", "--leaks-cycles", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*leakharness: --leaks-cycles must be >= 1 (got 0)*"])


def test_without_the_option_nothing_is_examined(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("KEPT = []\n\ndef test_hoards():\n    KEPT.append(bytearray(4096))\n")
    result = run(pytester)
    result.assert_outcomes(passed=1)
    output = result.stdout.str()
    # The header lists the installed plugin ("plugins: ..., leakharness-0.1.0"); no report follows.
    assert "= leakharness =" not in output and "LEAK" not in output and "cycles" not in output


def test_async_tests_are_examined_like_sync_ones(pytester: pytest.Pytester) -> None:
    """pytest-asyncio and anyio's plugin each run a cycle's coroutine in their
    event loop; the loop made for each cycle is not a leak."""
    pytest.importorskip("pytest_asyncio")
    pytest.importorskip("anyio")
    pytester.makepyfile(
        """
        import asyncio
        import pytest

        KEPT = []

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.asyncio
        async def test_asyncio_clean():
            await asyncio.sleep(0)

        @pytest.mark.asyncio
        async def test_asyncio_leak():
            await asyncio.sleep(0)
            KEPT.append(bytearray(4096))

        @pytest.mark.anyio
        async def test_anyio_clean():
            await asyncio.sleep(0)

        @pytest.mark.anyio
        async def test_anyio_leak():
            await asyncio.sleep(0)
            KEPT.append(bytearray(4096))
        """
    )
    result = run(pytester, "--leaks", *FAST, "-o", "asyncio_default_fixture_loop_scope=function")
    result.assert_outcomes(passed=2, failed=2)
    module = "test_async_tests_are_examined_like_sync_ones.py"
    assert failed_ids(result) == {f"{module}::test_asyncio_leak", f"{module}::test_anyio_leak"}


def test_doctests_are_repeated_with_their_globals(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        '''
        KEPT = []

        def clean():
            """
            >>> clean()
            3
            """
            return 3

        def hoard():
            """
            >>> hoard()
            """
            KEPT.append(bytearray(4096))
        '''
    )
    result = run(pytester, "--leaks", *FAST, "--doctest-modules")
    result.assert_outcomes(passed=1, failed=1)
    module = "test_doctests_are_repeated_with_their_globals"
    assert failed_ids(result) == {f"{module}.py::{module}.hoard"}


def test_a_failure_of_the_harness_fails_that_test_not_the_session(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import leakharness.examine

        def broken(*args, **kwargs):
            raise RuntimeError("broken harness")

        leakharness.examine.examine = broken
        """
    )
    pytester.makepyfile("def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    result = run(pytester, "--leaks")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["*leakharness could not examine this test:*", "*RuntimeError: broken harness*"]
    )


def test_importing_leakharness_does_not_import_pytest() -> None:
    code = "import sys, leakharness; print('pytest' in sys.modules, '_pytest' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_the_entry_point_is_declared() -> None:
    import configparser

    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    declared = parser["options.entry_points"]["pytest11"].split("=")
    assert [part.strip() for part in declared] == ["leakharness", "leakharness.integrations.pytest_plugin"]


def test_a_leak_report_fits_a_narrow_terminal_with_no_trailing_spaces(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "72")
    pytester.makepyfile(
        """
        KEPT = []

        def test_hoards():
            KEPT.append(bytearray(4096))
        """
    )
    out = run(pytester, "--leaks", *FAST).outlines
    failure = out[out.index(next(o for o in out if "= FAILURES =" in o)) :]
    report = failure[failure.index(next(o for o in failure if o.startswith("LEAK"))) :]
    report = report[: report.index(next(o for o in report if "short test summary info" in o))]
    assert "= leakharness =" in "\n".join(report)  # the failure, then the summary section
    assert [line for line in report if len(line) > 72] == []
    assert [line for line in report if line != line.rstrip()] == []

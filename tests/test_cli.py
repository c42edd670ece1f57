"""The command line, end to end in a subprocess: verdicts, exit status, JSON, errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CASES, ROOT, Run, marked_lines, run_cli


@pytest.fixture(scope="module")
def kinds(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("kinds") / "report.json"
    return run_cli(str(CASES / "cases_kinds.py"), json_path=out)


@pytest.mark.parametrize(
    ("name", "resource"),
    [
        ("test_leak_heap", "heap"),
        ("test_leak_file", "fds"),
        ("test_leak_socket", "fds"),
        ("test_leak_thread", "threads"),
    ],
)
def test_each_kind_of_leak_is_found_and_located(kinds: Run, name: str, resource: str) -> None:
    test = kinds.test(name)
    assert test["verdict"] == "leak", test["reason"]
    leaked = {r["resource"] for r in test["resources"] if r["verdict"] == "leak"}
    assert resource in leaked
    top = [(Path(line["file"]).name, line["line"]) for line in test["lines"][:3]]
    marks = marked_lines(CASES / "cases_kinds.py")
    assert any(file == "cases_kinds.py" and line in marks for file, line in top), top


def test_a_native_leak_is_found_through_process_memory(kinds: Run) -> None:
    test = kinds.test("test_leak_native")
    assert test["verdict"] == "leak", test["reason"]
    rss = next(r for r in test["resources"] if r["resource"] == "rss")
    assert rss["verdict"] == "leak"
    assert rss["growth_per_cycle"] >= 200 * 1024
    assert "native allocation, not visible to tracemalloc" in test["reason"]


@pytest.mark.parametrize(
    "name", ["test_clean_heap", "test_clean_file", "test_clean_thread", "test_clean_native"]
)
def test_clean_twins_are_clean(kinds: Run, name: str) -> None:
    test = kinds.test(name)
    assert test["verdict"] == "clean", test["resources"]
    assert test["lines"] == []


def test_leaks_exit_1_and_print_the_culprit(kinds: Run) -> None:
    assert kinds.code == 1
    assert "LEAK" in kinds.stdout
    assert "_KEPT.append(bytearray(512))" in kinds.stdout


def test_json_report_has_the_documented_fields(kinds: Run) -> None:
    assert kinds.report is not None
    assert kinds.report["schema"] == 1
    assert kinds.report["settings"]["max_cycles"] >= kinds.report["settings"]["min_cycles"]
    test = kinds.test("test_leak_heap")
    assert test["id"] == "cases.cases_kinds.Kinds.test_leak_heap"
    line = test["lines"][0]
    assert {"file", "line", "size_per_cycle", "count_per_cycle", "source", "traceback"} <= set(line)
    assert line["size_per_cycle"] > 500


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("outcomes") / "report.json"
    return run_cli(str(CASES / "cases_outcomes.py"), json_path=out)


@pytest.mark.parametrize(
    ("name", "verdict", "text"),
    [
        ("test_fails_on_its_own", "error", "AssertionError: 1 != 2"),
        ("test_errors_on_its_own", "error", "RuntimeError: broken on purpose"),
        ("test_fails_on_a_later_cycle", "error", "AssertionError"),
        ("test_skipped", "skipped", "not on this machine"),
        ("test_passes", "clean", ""),
        ("test_sees_class_fixture", "clean", ""),
    ],
)
def test_failures_are_errors_not_leaks(outcomes: Run, name: str, verdict: str, text: str) -> None:
    test = outcomes.test(name)
    assert test["verdict"] == verdict
    assert text in (test["error"] or "") + test["reason"]


def test_an_error_makes_exit_1(outcomes: Run) -> None:
    assert outcomes.code == 1


def test_leak_test_cases_run_as_written(tmp_path: Path) -> None:
    run = run_cli(str(CASES / "cases_leaktestcase.py"), json_path=tmp_path / "r.json")
    assert run.code == 1
    assert run.test("test_leaky_cycle")["verdict"] == "leak"
    assert run.test("test_leaky_cycle")["cycles"] <= 120
    assert run.test("test_clean_cycle")["verdict"] == "clean"
    assert run.test("test_decorated_clean")["verdict"] == "clean"


def test_clean_run_exits_0_and_targets_a_single_test(tmp_path: Path) -> None:
    run = run_cli("tests.cases.cases_kinds.Kinds.test_clean_heap", json_path=tmp_path / "r.json")
    assert run.code == 0, run.stdout + run.stderr
    assert [t["id"] for t in run.report["tests"]] == ["tests.cases.cases_kinds.Kinds.test_clean_heap"]


def test_a_folder_is_discovered(tmp_path: Path) -> None:
    (tmp_path / "test_small.py").write_text(
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        pass\n"
    )
    run = run_cli(str(tmp_path), json_path=tmp_path / "r.json")
    assert run.code == 0, run.stderr
    assert run.test("test_ok")["verdict"] == "clean"


def test_quiet_prints_one_line_per_test(tmp_path: Path) -> None:
    run = run_cli("-q", str(CASES / "cases_outcomes.py"))
    assert "Traceback" not in run.stdout
    assert run.stdout.count("ERROR") == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no_such_module_here"], "cannot import target 'no_such_module_here'"),
        (["missing/file.py"], "no such file"),
        (["tests.cases.cases_kinds.Kinds.test_nope"], "has no attribute 'test_nope'"),
        (["--cycles", "0", "tests/cases/cases_kinds.py"], "--cycles must be >= 1 (got 0)"),
        (["--warmup", "-1", "tests/cases/cases_kinds.py"], "warmup must be >= 0 (got -1)"),
        (["--tolerance", "rss", "tests/cases/cases_kinds.py"], "--tolerance must look like RES=NUMBER"),
        (["--resources", "disk", "tests/cases/cases_kinds.py"], "unknown resource 'disk'"),
        (["--json", "/no/such/folder/r.json", "tests/cases/cases_kinds.py"], "does not exist"),
        (["--html", "/no/such/folder/r.html", "tests/cases/cases_kinds.py"], "--html /no/such/folder/r.html"),
        (["--html", "tests", "tests/cases/cases_kinds.py"], "--html tests: is a folder, not a file"),
        (
            ["--graph", "README.md", "tests/cases/cases_kinds.py"],
            "--graph README.md: is a file, not a folder",
        ),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--cycles", "many"], "invalid int value: 'many'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    run = run_cli(*args)
    assert run.code == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_an_unimportable_file_is_a_usage_error(tmp_path: Path) -> None:
    broken = tmp_path / "test_broken.py"
    broken.write_text("import no_such_dependency_anywhere\n")
    run = run_cli(str(broken))
    assert run.code == 2
    assert "ModuleNotFoundError" in run.stderr
    assert "Traceback" not in run.stderr


def test_help_explains_targets_and_exit_status() -> None:
    run = run_cli("--help")
    assert run.code == 0
    for text in ("TARGET", "--json", "--cycles", "--warmup", "--lines", "--depth", "--quiet", "exit status"):
        assert text in run.stdout


def test_settings_come_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.leakharness]\nmax_cycles = 70\nmin_cycles = 70\n")
    (tmp_path / "test_one.py").write_text(
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        pass\n"
    )
    run = run_cli("test_one.py", json_path=tmp_path / "r.json", cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert run.report["settings"]["max_cycles"] == 70
    assert run.test("test_ok")["cycles"] == 70


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / ("leakharness.exe" if os.name == "nt" else "leakharness")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0
    assert proc.stdout.startswith("leakharness ")


def test_command_line_settings_reach_leak_test_cases(tmp_path: Path) -> None:
    run = run_cli("--min-cycles", "70", str(CASES / "cases_leaktestcase.py"), json_path=tmp_path / "r.json")
    assert run.test("test_clean_cycle")["cycles"] == 70


def test_pyproject_settings_reach_leak_test_cases_under_unittest(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.leakharness]\nmin_cycles = 75\nmax_cycles = 75\n")
    (tmp_path / "test_lt.py").write_text(
        "import leakharness\n\nclass T(leakharness.LeakTestCase):\n"
        "    def test_clean(self):\n"
        "        assert self.assertNoLeaks(lambda: bytes(10)).cycles == 75\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "unittest", "test_lt"], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr


def test_tolerance_and_warning_levels_from_the_command_line(tmp_path: Path) -> None:
    target = "tests.cases.cases_kinds.Kinds.test_leak_heap"
    tolerances = ["--tolerance", "heap=5", "--tolerance", "objects=1", "--tolerance", "native_heap=2048"]
    tolerances += ["--tolerance", "rss=100%", "--warn", "heap=1"]
    run = run_cli(target, *tolerances, json_path=tmp_path / "r.json")
    test = run.test("test_leak_heap")
    assert test["verdict"] == "clean", test["resources"]
    heap = next(r for r in test["resources"] if r["resource"] == "heap")
    assert heap["reason"].startswith("within tolerance")
    assert "above the warning level +1 blocks/cycle" in heap["warning"]
    assert "warning: Python heap" in run.stdout
    assert run.code == 0


def test_a_spent_run_budget_leaves_tests_inconclusive(tmp_path: Path) -> None:
    # A microsecond is spent before the first test starts, however fast the machine: with
    # 0.2 s, a faster harness finished every test in time and the test failed.
    run = run_cli("--run-budget", "1e-6", str(CASES / "cases_kinds.py"), json_path=tmp_path / "r.json")
    tests = run.report["tests"]
    assert tests and {t["verdict"] for t in tests} == {"inconclusive"}
    assert all(t["reason"] == "not run: the run budget (1e-06 s) was spent" for t in tests)


def test_ignored_files_are_not_shown(tmp_path: Path) -> None:
    target = "tests.cases.cases_kinds.Kinds.test_leak_heap"
    run = run_cli(target, "--ignore", "*cases_kinds.py", json_path=tmp_path / "r.json")
    assert all(not line["file"].endswith("cases_kinds.py") for line in run.test("test_leak_heap")["lines"])


def test_doctests_and_function_test_cases_are_hunted(tmp_path: Path) -> None:
    run = run_cli(str(CASES / "cases_doctest.py"), json_path=tmp_path / "r.json")
    assert run.code == 0, run.stdout + run.stderr
    verdicts = {t["id"].rsplit(".", 1)[-1]: t["verdict"] for t in run.report["tests"]}
    assert set(verdicts.values()) == {"clean"}, verdicts
    assert "double" in verdicts and len(verdicts) == 3


ON_A_TERMINAL = """\
import os
import threading
import time
import unittest

_kept = []


class OnATerminal(unittest.TestCase):
    def test_leaky_slow(self):
        time.sleep(0.003)  # time for a display thread to draw, were one running
        _kept.append([object() for _ in range(20)])  # leak

    def test_records_threads(self):
        with open(os.environ["THREADS_SEEN"], "a") as seen:
            seen.writelines(f"{type(t).__module__}\\n" for t in threading.enumerate())
"""


def _frames_of(test: dict[str, Any]) -> list[dict[str, Any]]:
    """Every frame a test's report names: lines, their tracebacks, and where
    threads were started and descriptors opened."""
    found: list[dict[str, Any]] = []
    for line in test["lines"]:
        found += [line, *line["traceback"], *([line["inside"]] if line["inside"] else [])]
    for group in (*test["diagnosis"]["threads"], *test["diagnosis"]["fds"]):
        example = group["example"]
        found += [*example.get("start_stack", []), *example.get("created", [])]
        found += [example["inside"]] if example["inside"] else []
    return found


@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")
def test_on_a_terminal_the_report_names_no_harness_frame(tmp_path: Path) -> None:
    """Under a pseudo-terminal the progress bar is on; nothing of the harness
    or of rich may be reported as a site."""
    import pty
    import select

    (tmp_path / "on_a_terminal.py").write_text(ON_A_TERMINAL)
    report = tmp_path / "r.json"
    leader, follower = pty.openpty()
    seen = tmp_path / "threads.txt"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TERM": "xterm",
        "COLUMNS": "100",
        "THREADS_SEEN": str(seen),
    }
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "leakharness", "on_a_terminal.py", "--json", str(report)]
    with subprocess.Popen(command, cwd=tmp_path, stdout=follower, stderr=follower, env=env) as proc:
        os.close(follower)
        shown = b""
        while True:  # read the terminal, or the child blocks on a full one
            ready, _, _ = select.select([leader], [], [], 1.0)
            try:
                chunk = os.read(leader, 65536) if ready else b""
            except OSError:  # the child closed its end
                break
            shown += chunk
            if not chunk and proc.poll() is not None:
                break
    os.close(leader)
    assert proc.returncode == 1, shown.decode(errors="replace")
    assert b"\x1b[" in shown  # it was drawn as on a terminal
    assert not [
        name for name in seen.read_text().split() if name.startswith("rich")
    ]  # no drawing while tests run
    tests = {t["id"].rsplit(".", 1)[-1]: t for t in json.loads(report.read_text())["tests"]}
    assert tests["test_leaky_slow"]["verdict"] == "leak"
    frames = [frame for test in tests.values() for frame in _frames_of(test)]
    assert frames, tests
    harness = str(ROOT / "leakharness")
    assert not [f for f in frames if f["file"].startswith(harness) or f"{os.sep}rich{os.sep}" in f["file"]]
    assert {f["origin"] for f in frames} <= {"project", "library", "stdlib"}


def test_html_page_and_holder_graphs(tmp_path: Path) -> None:
    (tmp_path / "test_kept.py").write_text(
        "import unittest\n\n_KEPT = []\n\nclass Kept:\n    pass\n\n"
        "class T(unittest.TestCase):\n"
        "    def test_leak(self):\n        _KEPT.append(Kept())\n"
        "    def test_clean(self):\n        Kept()\n"
    )
    page, graphs = tmp_path / "report.html", tmp_path / "graphs"
    run = run_cli(
        "test_kept.py",
        "--html",
        str(page),
        "--graph",
        str(graphs),
        json_path=tmp_path / "r.json",
        cwd=tmp_path,
    )
    assert run.code == 1, run.stderr
    assert run.report is not None and run.report["settings"]["holder_graph"] is True
    html = page.read_text(encoding="utf-8")
    assert html.count('<article class="test leak"') == 1 and html.count('<article class="test clean"') == 1
    if shutil.which("dot") is None:
        assert "graphviz's dot is not installed" in run.stderr
        assert not graphs.exists()
    else:
        (drawn,) = graphs.iterdir()
        assert drawn.name == "test_kept.T.test_leak.png"
        assert drawn.read_bytes().startswith(b"\x89PNG")
        assert f"wrote 1 holder graph to {graphs}" in run.stderr
        assert "data:image/png;base64," in html

"""``leakharness watch`` end to end: the Flask example served on 127.0.0.1 in a real process."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leakharness import Resource
from leakharness.errors import LeakHarnessError
from leakharness.integrations.watch import build_parser, settings_from
from leakharness.integrations.watch_process import WATCHED
from leakharness.judge.tolerance import Tolerance
from tests.helpers import ROOT, free_port, run_cli

EXAMPLE = ROOT / "examples" / "flask_app.py"
ROUNDS = ["--requests", "10", "--warmup", "1", "--min-rounds", "6", "--rounds", "12", "--time-budget", "60"]


def serve(twin: str, port: int) -> str:
    pytest.importorskip("flask")
    return shlex.join([sys.executable, str(EXAMPLE), "serve", twin, str(port)])


def watch(*args: str, tmp_path: Path) -> tuple[int, str, str, dict[str, Any] | None]:
    report = tmp_path / "watch.json"
    options = list(args)
    at = options.index("--") if "--" in options else len(options)
    options[at:at] = ["--json", str(report)]  # before the load command, if any
    run = run_cli("watch", *options, timeout=120)
    data = json.loads(report.read_text()) if report.exists() else None
    return run.code, run.stdout, run.stderr, data


def test_the_leaky_twin_leaks_descriptors_and_says_where_lines_are_found(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/events/person"
    page = tmp_path / "watch.html"
    args = ("--start", serve("leaky", port), "--url", url, "--html", str(page), *ROUNDS)
    code, out, err, report = watch(*args, tmp_path=tmp_path)
    assert code == 1, out + err
    assert "file descriptors" in page.read_text(encoding="utf-8")
    assert report is not None
    (test,) = report["tests"]
    fds = next(r for r in test["resources"] if r["resource"] == "fds")
    assert (test["verdict"], fds["verdict"], fds["growth_per_cycle"]) == ("leak", "leak", 10.0)
    assert test["lines"] == []
    assert "no lines to locate in another process" in test["reason"]
    assert "wsgi_cycle" in out and "file descriptors" in out
    assert f"a cycle is a round: 10 GET requests to {url}, 1 at a time" in test["notes"]


def test_the_fixed_twin_is_clean_at_concurrency_4(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/report/motion"
    # A fresh server's memory fills for a while (+6.5 KiB a round of ten requests once, over 12
    # rounds): a tolerance of 16 KiB a round accepts that, while the leaky twin keeps 2 MiB a round.
    tolerate = ("--tolerance", "rss=16384", "--tolerance", "uss=16384")
    args = ("--start", serve("fixed", port), "--url", url, "--concurrency", "4", *ROUNDS, *tolerate)
    code, out, err, report = watch(*args, tmp_path=tmp_path)
    assert code == 0, out + err
    assert report is not None
    results = report["tests"][0]["resources"]
    verdicts = {r["resource"]: r["verdict"] for r in results}
    counts = ("fds", "native_threads", "connections", "children")
    assert {verdicts[name] for name in counts} == {"clean"}, results
    assert verdicts["rss"] in ("clean", "inconclusive"), results


@pytest.fixture
def leaky_server() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    pytest.importorskip("flask")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "serve", "leaky", str(port)], stdout=subprocess.PIPE
    )
    assert server.stdout is not None and b"serving" in server.stdout.readline()
    yield server, port
    server.terminate()
    server.wait(30)
    server.stdout.close()


def test_a_running_server_watched_by_pid_with_a_load_command(
    leaky_server: tuple[subprocess.Popen[bytes], int], tmp_path: Path
) -> None:
    server, port = leaky_server
    load = (
        "import urllib.request\n"
        "for _ in range(5):\n"
        f"    urllib.request.urlopen('http://127.0.0.1:{port}/report/motion').read()\n"
    )
    args = ("--pid", str(server.pid), *ROUNDS, "--", sys.executable, "-c", load)
    code, out, err, report = watch(*args, tmp_path=tmp_path)
    assert code == 1, out + err
    assert report is not None
    fds = next(r for r in report["tests"][0]["resources"] if r["resource"] == "fds")
    assert fds["growth_per_cycle"] == 5.0
    assert server.poll() is None  # a server the watch did not start is left running


def test_a_failing_load_is_an_error_not_a_verdict(
    leaky_server: tuple[subprocess.Popen[bytes], int], tmp_path: Path
) -> None:
    server, _ = leaky_server
    args = ("--pid", str(server.pid), *ROUNDS, "--", sys.executable, "-c", "raise SystemExit(4)")
    code, out, err, report = watch(*args, tmp_path=tmp_path)
    assert code == 1, out + err
    assert report is not None
    assert report["tests"][0]["verdict"] == "error"
    assert report["tests"][0]["error"] == "the load command exited with status 4"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "http://127.0.0.1:9/"], "give the server: --pid PID or --start CMD"),
        (["--pid", "1", "--start", "x", "--url", "http://127.0.0.1:9/"], "give the server"),
        (["--pid", "1"], "give a load: --url URL, or -- CMD"),
        (["--pid", "1", "--url", "http://127.0.0.1:9/", "--", "true"], "give one load"),
        (["--pid", "1", "--url", "127.0.0.1:9"], "--url must look like http://HOST:PORT/PATH"),
        (["--start", "srv", "--", "true"], "--start with a load command needs --port PORT"),
        (["--pid", "1", "--url", "http://127.0.0.1:9/", "--rounds", "0"], "--rounds must be >= 1"),
        (["--pid", "1", "--url", "http://127.0.0.1:9/", "--tolerance", "fds"], "--tolerance must look like"),
        (["--pid", "1", "--url", "http://127.0.0.1:9/", "--resources", "disk"], "unknown resource 'disk'"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    run = run_cli("watch", *args)
    assert run.code == 2, run.stdout + run.stderr
    assert message in run.stderr


def test_no_such_pid_exits_2() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run = run_cli("watch", "--pid", str(gone.pid), "--url", "http://127.0.0.1:9/")
    assert (run.code, run.stderr.strip()) == (
        2,
        f"leakharness watch: error: --pid {gone.pid}: no such process",
    )


def test_help_names_the_subcommand() -> None:
    run = run_cli("watch", "--help")
    assert run.code == 0 and "--pid PID" in run.stdout and "wsgi_cycle" in run.stdout


PYPROJECT = """\
[tool.leakharness]
resources = ["fds", "rss", "heap"]
tolerances = { rss = "5%", fds = 2 }
warn_tolerances = { rss = "1%" }
max_cycles = 300      # sized for in-process cycles: not a watch's rounds
time_budget = 5
"""


def watch_settings(folder: Path, monkeypatch: pytest.MonkeyPatch, *options: str) -> Any:
    monkeypatch.chdir(folder)
    return settings_from(build_parser().parse_args(["--pid", "1", "--url", "http://127.0.0.1:9/", *options]))


def test_resources_and_tolerances_come_from_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    inner = tmp_path / "service"
    inner.mkdir()
    settings = watch_settings(inner, monkeypatch)  # the nearest file at or above
    assert settings.resources == (Resource.FDS, Resource.RSS, Resource.HEAP)
    assert settings.tolerances == {
        Resource.RSS: Tolerance(percent=5.0),
        Resource.FDS: Tolerance(per_cycle=2.0),
    }
    assert settings.warn_tolerances == {Resource.RSS: Tolerance(percent=1.0)}
    assert (settings.max_cycles, settings.time_budget) == (20, 300.0)  # the watch's own defaults


def test_flags_win_over_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    settings = watch_settings(tmp_path, monkeypatch, "--resources", "uss,fds", "--tolerance", "rss=4096")
    assert settings.resources == (Resource.USS, Resource.FDS)
    assert settings.tolerances == {
        Resource.RSS: Tolerance(per_cycle=4096.0),
        Resource.FDS: Tolerance(per_cycle=2.0),
    }


def test_without_resources_in_the_file_a_watch_samples_all_it_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.leakharness]\ntolerances = { fds = 1 }\n")
    settings = watch_settings(tmp_path, monkeypatch)
    assert settings.resources == WATCHED and settings.tolerances == {Resource.FDS: Tolerance(per_cycle=1.0)}


def test_config_names_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    other = tmp_path / "watch.toml"
    other.write_text('[tool.leakharness]\nresources = ["connections"]\n')
    assert watch_settings(tmp_path, monkeypatch, "--config", str(other)).resources == (Resource.CONNECTIONS,)
    with pytest.raises(LeakHarnessError, match="no such file"):
        watch_settings(tmp_path, monkeypatch, "--config", str(tmp_path / "missing.toml"))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('tolerances = { rss = "lots" }', "pyproject.toml [tool.leakharness]: tolerances for rss:"),
        ('resources = ["disk"]', "pyproject.toml [tool.leakharness]: unknown resource 'disk'"),
        (
            'resources = ["heap", "tasks"]',
            "pyproject.toml [tool.leakharness]: resources names none that a watch samples",
        ),
        ("min_cycles = 0", "pyproject.toml [tool.leakharness]: min_cycles must be >= 1 (got 0)"),
    ],
)
def test_bad_values_in_pyproject_exit_2_with_one_line(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.leakharness]\n{table}\n")
    run = run_cli("watch", "--pid", "1", "--url", "http://127.0.0.1:9/", cwd=tmp_path)
    assert run.code == 2, run.stdout + run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith("leakharness watch: error: ") and message in line, line


def test_a_watch_run_keeps_to_the_files_resources_and_tolerances(
    leaky_server: tuple[subprocess.Popen[bytes], int], tmp_path: Path
) -> None:
    server, port = leaky_server
    # Five requests a round leak five descriptors: the file's tolerance of ten a round accepts them.
    (tmp_path / "pyproject.toml").write_text(
        '[tool.leakharness]\nresources = ["fds"]\ntolerances = { fds = 10 }\n'
    )
    load = f"import urllib.request\nfor _ in range(5): urllib.request.urlopen('http://127.0.0.1:{port}/report/motion').read()\n"
    report = tmp_path / "watch.json"
    args = ("--pid", str(server.pid), *ROUNDS, "--json", str(report), "--", sys.executable, "-c", load)
    run = run_cli("watch", *args, cwd=tmp_path, timeout=120)
    assert run.code == 0, run.stdout + run.stderr
    (test,) = json.loads(report.read_text())["tests"]
    ((result),) = test["resources"]
    assert (result["resource"], result["verdict"]) == ("fds", "clean")
    assert "within tolerance (+5 fds/cycle" in result["reason"], result

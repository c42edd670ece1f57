"""The command line's console: width in CI logs, no trailing spaces, progress within a test."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.progress import Progress, TaskID

from leakharness.config import Settings
from leakharness.integrations.targets import load_tests
from leakharness.integrations.terminal import LOG_WIDTH, log_width, print_all, run, run_console
from leakharness.judge.verdict import Verdict
from leakharness.report.console import Detail, render_report, strip_trailing
from leakharness.report.model import Report, TestReport
from tests.helpers import run_cli


@pytest.mark.parametrize(
    ("environ", "width"),
    [({}, LOG_WIDTH), ({"COLUMNS": "80"}, 80), ({"COLUMNS": "250"}, 250), ({"COLUMNS": "wide"}, LOG_WIDTH)],
)
def test_a_log_is_100_columns_unless_columns_says(environ: dict[str, str], width: int) -> None:
    assert log_width(environ) == width
    assert run_console(environ, io.StringIO()).width == width


def test_trailing_spaces_go_and_style_codes_stay() -> None:
    assert strip_trailing("a  \n b\t\n\x1b[1mc   \x1b[0m\n") == "a\n b\n\x1b[1mc\x1b[0m\n"


LEAKY = """\
import unittest

KEPT = []


class T(unittest.TestCase):
    def test_keeps(self):
        KEPT.append(bytearray(256))  # a reason, lines and a traceback to lay out
"""


def test_a_whole_report_at_80_columns_has_no_trailing_space(tmp_path: Path) -> None:
    (tmp_path / "test_keeps.py").write_text(LEAKY)
    done = run_cli("test_keeps.py", "--cycles", "200", cwd=tmp_path, env={"COLUMNS": "80"})
    assert done.code == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) > 10
    assert [line for line in lines if line != line.rstrip()] == []
    assert max(len(line) for line in lines) <= 80
    assert "allocated at (innermost first):" in done.stdout


def test_print_all_strips_what_rich_pads() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, no_color=True)
    report = Report((TestReport("t.T.test_x", Verdict.ERROR, reason="the test failed", error="boom\n"),))
    print_all(console, render_report(report, Detail.NORMAL))
    assert buffer.getvalue().startswith("ERROR  t.T.test_x\n  the test failed\n  boom\n")
    assert all(line == line.rstrip() for line in buffer.getvalue().splitlines())


SLOW = """\
import time
import unittest


class T(unittest.TestCase):
    def test_slow(self):
        time.sleep(0.01)
"""


def test_progress_advances_within_a_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "test_slow.py").write_text(SLOW)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    tests = load_tests(["test_slow.py"], pattern="test*.py")
    seen: list[str] = []
    console = Console(file=io.StringIO(), width=100, force_terminal=True)
    update = Progress.update

    def spy(self: Progress, task: TaskID, **fields: Any) -> None:
        if "description" in fields:
            seen.append(str(fields["description"]))
        update(self, task, **fields)

    monkeypatch.setattr(Progress, "update", spy)
    report = run(tests, Settings(max_cycles=60, min_cycles=60, warmup=1), console, quiet=False, buffer=False)
    assert report.tests[0].cycles == 60
    ticks = [text for text in seen if "cycles," in text]
    assert ticks and all(text.startswith("test_slow: ") and text.endswith(" s left") for text in ticks), seen
    counts = [int(text.split(": ")[1].split()[0]) for text in ticks]
    assert counts == sorted(counts) and counts[-1] > counts[0], counts


TICKING_EMPTY_TEST = """
import os, sys, unittest
from itertools import pairwise
from rich.console import Console
import leakharness.measure.detect as detect
from leakharness.config import Settings
from leakharness.integrations.terminal import run

detect.TICK_EVERY = 0.0  # the progress bar is updated between every two cycles


class Empty(unittest.TestCase):
    def test_nothing(self):
        pass


# Drawn to a terminal that keeps nothing (a StringIO would keep every frame).
console = Console(file=open(os.devnull, "w"), width=100, force_terminal=True)
report = run([Empty("test_nothing")], Settings(max_cycles=300, min_cycles=300), console,
             quiet=False, buffer=sys.argv[1] == "buffer")
test = report.tests[0]
assert test.cycles == 300, test
for result in test.resources:
    if result.resource.value in ("rss", "native_heap"):
        continue  # the progress bar's refresh thread draws into C buffers
    deltas = {b - a for a, b in pairwise(result.series)}
    assert deltas == {0}, (result.resource, result.series[:20])
print("exactly zero")
"""


@pytest.mark.parametrize("buffer", ["buffer", "no-buffer"])
def test_progress_and_buffer_add_nothing_to_an_empty_test(buffer: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", TICKING_EMPTY_TEST, buffer], capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.strip() == "exactly zero", proc.stderr

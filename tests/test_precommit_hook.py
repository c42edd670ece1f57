"""The pre-commit hook, installed and run for real with ``pre-commit try-repo``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

LEAKY = """\
import unittest

KEPT = []


class T(unittest.TestCase):
    def test_keeps(self):
        KEPT.append(bytearray(256))
"""

CLEAN = """\
import unittest


class T(unittest.TestCase):
    def test_scratch(self):
        bytearray(256)
"""


def _pre_commit() -> list[str]:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    if found is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    return [found]


def _try_repo(project: Path, home: Path, hook: str = "leakharness") -> subprocess.CompletedProcess[str]:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    # The system hook runs the leakharness beside this interpreter, as a project's venv would.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "PATH": path}
    return subprocess.run(
        [*_pre_commit(), "try-repo", str(ROOT), hook, "--all-files", "--verbose"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def hook_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def test_the_hook_fails_a_commit_that_leaks(tmp_path: Path, hook_home: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(LEAKY)
    proc = _try_repo(tmp_path, hook_home)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "KEPT.append(bytearray(256))" in proc.stdout
    assert "Failed" in proc.stdout


def test_the_hook_passes_a_clean_commit(tmp_path: Path, hook_home: Path) -> None:
    (tmp_path / "test_clean.py").write_text(CLEAN)
    proc = _try_repo(tmp_path, hook_home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout


THIRD_PARTY = """\
import unittest

import numpy

KEPT = []


class T(unittest.TestCase):
    def test_keeps_frames(self):
        KEPT.append(numpy.zeros(64))

    def test_scratch_frame(self):
        numpy.zeros(64).sum()
"""


def test_the_system_hook_runs_tests_that_import_third_party_packages(tmp_path: Path, hook_home: Path) -> None:
    # The python hook's own environment has leakharness and its dependencies
    # only: there, `import numpy` fails. The system hook runs in the project's.
    pytest.importorskip("numpy")
    (tmp_path / "test_frames.py").write_text(THIRD_PARTY)
    proc = _try_repo(tmp_path, hook_home, "leakharness-system")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "ModuleNotFoundError" not in proc.stdout
    assert "KEPT.append(numpy.zeros(64))" in proc.stdout
    assert "CLEAN  test_frames.T.test_scratch_frame" in proc.stdout

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


def _try_repo(project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run(
        [*_pre_commit(), "try-repo", str(ROOT), "leakharness", "--all-files", "--verbose"],
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

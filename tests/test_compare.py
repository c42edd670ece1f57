"""``leakharness compare``: reports of a leaky and a fixed twin, before and after."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakharness.integrations.cli import main
from tests.helpers import run_cli

LEAKY = """\
import os
import unittest

KEPT = []


class Files(unittest.TestCase):
    def test_open(self):
        KEPT.append(open(os.devnull))

    def test_scratch(self):
        bytearray(256)
"""
FIXED = LEAKY.replace("KEPT.append(open(os.devnull))", "open(os.devnull).close()")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """leaky.json and fixed.json: the same tests, run before and after the fix."""
    folder = tmp_path_factory.mktemp("compare")
    for name, text in (("leaky", LEAKY), ("fixed", FIXED)):
        run_dir = folder / name
        run_dir.mkdir()
        (run_dir / "test_files.py").write_text(text)
        run = run_cli("test_files.py", json_path=folder / f"{name}.json", cwd=run_dir)
        assert run.code == (1 if name == "leaky" else 0), run.stdout + run.stderr
    return folder


def compare(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["compare", *args])
    return code, capsys.readouterr().out.splitlines()


def test_a_fix_is_reported_fixed_and_passes(reports: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = compare(capsys, str(reports / "leaky.json"), str(reports / "fixed.json"))
    assert code == 0
    fixed = [line for line in lines if line.startswith("fixed")]
    assert fixed and all("test_files.Files.test_open" in line for line in fixed)
    assert any("file descriptors" in line and line.endswith("→ 0 fds/cycle") for line in fixed), lines
    assert lines[-1].startswith("compared: fixed")
    assert lines[-1].endswith("unchanged (tests clean in both) 1")


def test_a_new_leak_fails(reports: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "comparison.json"
    code, lines = compare(
        capsys, str(reports / "fixed.json"), str(reports / "leaky.json"), "--json", str(out)
    )
    assert code == 1
    assert any(line.startswith("new leak") and "file descriptors" in line for line in lines)
    data = json.loads(out.read_text())
    assert data["summary"]["new leak"] >= 1 and data["summary"]["fixed"] == 0
    assert {"test", "resource", "change", "before", "after", "unit"} == set(data["differences"][0])


def test_the_same_run_twice_is_still_leaking_and_passes(
    reports: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = compare(capsys, str(reports / "leaky.json"), str(reports / "leaky.json"))
    assert code == 0
    assert any(line.startswith("still leaking") for line in lines)


def test_a_missing_report_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "nope.json", "nope.json"]) == 2
    assert capsys.readouterr().err.startswith("leakharness compare: error: cannot read nope.json")


def test_a_missing_argument_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["compare", "only-one.json"])
    assert exited.value.code == 2
    assert "the following arguments are required: AFTER.json" in capsys.readouterr().err


def test_a_report_that_is_not_one_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"not": "a report"}')
    assert main(["compare", str(other), str(other)]) == 2
    assert "not a leakharness JSON report" in capsys.readouterr().err


def test_a_target_named_compare_is_reached_as_dot_slash(tmp_path: Path) -> None:
    folder = tmp_path / "compare"
    folder.mkdir()
    (folder / "test_files.py").write_text(FIXED)
    run = run_cli("./compare", cwd=tmp_path)
    assert run.code == 0, run.stdout + run.stderr
    assert "2 tests: 2 clean" in run.stdout

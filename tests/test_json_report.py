from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import leakharness
from leakharness.config import Settings
from leakharness.diagnose.locate import Line, TypeGrowth
from leakharness.errors import LeakHarnessError
from leakharness.frames import Frame
from leakharness.judge.verdict import Verdict
from leakharness.report import json_report
from leakharness.report.json_report import check_writable, write_json
from leakharness.report.model import SCHEMA_VERSION, Report, ResourceResult, TestReport
from leakharness.resources import Resource


def make_report(source: Path) -> Report:
    source.write_text("cache = []\ncache.append(bytes(64))\n", encoding="utf-8")
    line = Line(str(source), 2, 96.5, 1.0, traceback=(Frame(str(source), 2),))
    heap = ResourceResult(Resource.HEAP, Verdict.LEAK, 1.0, 60.0, "grew in all 6 windows", (0, 1, 2))
    fds = ResourceResult(Resource.FDS, Verdict.CLEAN, 0.0, 0.0, "no growth over 60 cycles", (3, 3, 3))
    leak = TestReport(
        "tests/test_x.py::test_leak",
        Verdict.LEAK,
        cycles=60,
        seconds=1.23456,
        resources=(heap, fds),
        lines=(line,),
        types=(TypeGrowth("bytes", 1.0),),
        located_cycles=20,
        warmup_cycles=5,
        reason="leaks Python heap",
    )
    clean = TestReport("tests/test_x.py::test_ok", Verdict.CLEAN, cycles=60, resources=(fds,))
    return Report((leak, clean), settings=Settings(resources=["heap", "fds"]).to_dict(), seconds=3.0)


@pytest.fixture
def report(tmp_path: Path) -> Report:
    (tmp_path / "src").mkdir()
    return make_report(tmp_path / "src" / "mod.py")


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_to_dict_top_level(report: Report) -> None:
    data = report.to_dict()
    assert data["schema"] == SCHEMA_VERSION
    assert data["leakharness"] == leakharness.__version__
    assert data["settings"]["resources"] == ["heap", "fds"]
    assert data["summary"]["leak"] == 1
    assert data["summary"]["clean"] == 1
    assert set(data["summary"]) == {v.value for v in Verdict}
    assert data["seconds"] == 3.0


def test_to_dict_tests(report: Report) -> None:
    tests: list[dict[str, Any]] = report.to_dict()["tests"]
    assert [t["id"] for t in tests] == ["tests/test_x.py::test_leak", "tests/test_x.py::test_ok"]
    assert [t["verdict"] for t in tests] == ["leak", "clean"]
    assert tests[0]["seconds"] == 1.2346
    assert [t["warmup_cycles"] for t in tests] == [5, 0]
    assert tests[0]["types"] == [{"type": "bytes", "per_cycle": 1.0}]
    assert tests[1]["lines"] == []


def test_to_dict_lines(report: Report) -> None:
    (line,) = report.to_dict()["tests"][0]["lines"]
    assert line["file"] == report.tests[0].lines[0].file
    assert line["line"] == 2
    assert line["size_per_cycle"] == 96.5
    assert line["count_per_cycle"] == 1.0
    assert line["source"] == "cache.append(bytes(64))"
    assert line["traceback"][0]["line"] == 2


def test_to_dict_resources(report: Report) -> None:
    heap, fds = report.to_dict()["tests"][0]["resources"]
    assert heap["resource"] == "heap"
    assert heap["label"] == Resource.HEAP.label
    assert heap["unit"] == "blocks"
    assert heap["verdict"] == "leak"
    assert heap["growth_per_cycle"] == 1.0
    assert heap["series"] == [0, 1, 2]
    assert fds["verdict"] == "clean"


def test_write_json_round_trips(report: Report, tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.json"
    target.parent.mkdir()
    write_json(report, target)
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(json.dumps(report.to_dict()))
    assert names(target.parent) == ["report.json"]


def test_write_json_replaces_existing_file(report: Report, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old", encoding="utf-8")
    write_json(report, target)
    assert json.loads(target.read_text(encoding="utf-8"))["schema"] == SCHEMA_VERSION


def test_write_json_leaves_nothing_when_dumps_fails(
    report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "report.json"
    target.write_text("previous", encoding="utf-8")

    def broken(*args: object, **kwargs: object) -> str:
        raise TypeError("not serializable")

    monkeypatch.setattr(json_report.json, "dumps", broken)
    with pytest.raises(TypeError, match="not serializable"):
        write_json(report, target)
    assert names(folder) == ["report.json"]
    assert target.read_text(encoding="utf-8") == "previous"


def test_write_json_removes_temp_file_when_rename_fails(
    report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()

    def broken(src: object, dst: object) -> None:
        raise OSError("rename failed")

    monkeypatch.setattr(json_report.os, "replace", broken)
    with pytest.raises(OSError, match="rename failed"):
        write_json(report, folder / "report.json")
    assert names(folder) == []


def test_check_writable_accepts_new_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    check_writable(target)
    assert not target.exists()


def test_check_writable_rejects_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "report.json"
    with pytest.raises(LeakHarnessError, match="does not exist") as caught:
        check_writable(target)
    assert str(target) in str(caught.value)


def test_check_writable_rejects_a_folder(tmp_path: Path) -> None:
    with pytest.raises(LeakHarnessError, match="is a folder"):
        check_writable(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write to any folder")
def test_check_writable_rejects_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(LeakHarnessError, match="not writable"):
            check_writable(folder / "report.json")
    finally:
        folder.chmod(0o700)


def test_check_writable_reports_denied_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_report.os, "access", lambda path, mode: False)
    with pytest.raises(LeakHarnessError, match=r"folder .* is not writable"):
        check_writable(tmp_path / "report.json")


def test_write_json_to_a_pipe_writes_directly(report: Report) -> None:
    read_end, write_end = os.pipe()
    try:
        with open(read_end, "rb", closefd=False) as reader:
            write_json(report, Path(f"/dev/fd/{write_end}"))
            os.close(write_end)
            write_end = -1
            assert json.loads(reader.read())["schema"] == SCHEMA_VERSION
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def test_write_json_through_a_symlink_replaces_the_real_file(report: Report, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere" / "report.json"
    real.parent.mkdir()
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    check_writable(link)
    write_json(report, link)
    assert link.is_symlink()
    assert json.loads(real.read_text(encoding="utf-8"))["schema"] == SCHEMA_VERSION
    assert names(real.parent) == ["report.json"]


def test_a_new_report_follows_the_umask(report: Report, tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_json(report, tmp_path / "report.json")
    finally:
        os.umask(old)
    assert (tmp_path / "report.json").stat().st_mode & 0o777 == 0o600


def test_an_existing_report_keeps_its_mode(report: Report, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    write_json(report, target)
    assert target.stat().st_mode & 0o777 == 0o640


def test_check_writable_rejects_a_name_too_long(tmp_path: Path) -> None:
    with pytest.raises(LeakHarnessError, match="too long"):
        check_writable(tmp_path / ("r" * 300 + ".json"))

"""``--graph DIR``: one PNG per leaking test with a holder picture, and the checks before a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakharness.diagnose.diagnosis import Diagnosis
from leakharness.errors import LeakHarnessError
from leakharness.judge.verdict import Verdict
from leakharness.report import graphs
from leakharness.report.graphs import check_folder, file_name, write_graphs
from leakharness.report.model import Report, TestReport

PNG = b"\x89PNG\r\n\x1a\n..."


def drawn(test_id: str, verdict: Verdict = Verdict.LEAK, picture: bytes | None = PNG) -> TestReport:
    return TestReport(test_id, verdict, diagnosis=Diagnosis(holder_graph=picture))


@pytest.mark.parametrize(
    ("test_id", "name"),
    [
        ("tests.test_x.Case.test_y", "tests.test_x.Case.test_y"),
        ("tests/test_x.py::test_y[a b]", "tests_test_x.py_test_y_a_b"),
        ("tests.test_x.Case.test_y#2", "tests.test_x.Case.test_y_2"),
        ("../../etc/passwd", "etc_passwd"),
        ("///", "test"),
    ],
)
def test_file_names_are_safe(test_id: str, name: str) -> None:
    assert file_name(test_id) == name


def test_each_leak_with_a_picture_gets_a_file(tmp_path: Path) -> None:
    report = Report(
        (
            drawn("t.A.test_leak"),
            drawn("t.A.test_clean", Verdict.CLEAN),
            drawn("t.A.test_undrawn", picture=None),
            drawn("t/A:test_leak"),  # the same file name as the first
        )
    )
    written, notes = write_graphs(report, tmp_path / "graphs")
    assert [p.name for p in written] == ["t.A.test_leak.png", "t_A_test_leak.png"]
    assert all(p.read_bytes() == PNG for p in written)
    assert notes == ["t.A.test_undrawn: no holder chain to draw"]


def test_a_clashing_name_gets_a_number(tmp_path: Path) -> None:
    written, _ = write_graphs(Report((drawn("t.x"), drawn("t:x"), drawn("t x"))), tmp_path)
    assert [p.name for p in written] == ["t.x.png", "t_x.png", "t_x-2.png"]


def test_no_folder_is_made_for_nothing(tmp_path: Path) -> None:
    assert write_graphs(Report((drawn("t.ok", Verdict.CLEAN),)), tmp_path / "graphs") == ([], [])
    assert not (tmp_path / "graphs").exists()


def test_check_folder(tmp_path: Path) -> None:
    check_folder(tmp_path)
    check_folder(tmp_path / "new")
    (tmp_path / "file").write_text("")
    with pytest.raises(LeakHarnessError, match="is a file, not a folder"):
        check_folder(tmp_path / "file")
    with pytest.raises(LeakHarnessError, match="does not exist"):
        check_folder(tmp_path / "missing" / "new")


def test_check_folder_rejects_a_folder_it_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graphs.os, "access", lambda path, mode: False)
    with pytest.raises(LeakHarnessError, match=r"--graph .*new: folder .* is not writable"):
        check_folder(tmp_path / "new")

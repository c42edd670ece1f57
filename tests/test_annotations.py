"""GitHub workflow commands: one per leak, at the first project line, escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakharness.diagnose.diagnosis import Diagnosis
from leakharness.diagnose.locate import Line
from leakharness.frames import Frame
from leakharness.judge.verdict import Verdict
from leakharness.report.annotations import escape_data, escape_property, github_annotations, wanted
from leakharness.report.model import Report, TestReport


def test_data_escapes_percent_and_line_breaks() -> None:
    assert escape_data("50% of\r\nit") == "50%25 of%0D%0Ait"


def test_properties_also_escape_colon_and_comma() -> None:
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


@pytest.mark.parametrize(
    ("choice", "environ", "expected"),
    [
        (None, {"GITHUB_ACTIONS": "true"}, True),
        (None, {}, False),
        (None, {"GITHUB_ACTIONS": "false"}, False),
        ("none", {"GITHUB_ACTIONS": "true"}, False),
        ("github", {}, True),
    ],
)
def test_wanted_in_github_actions_or_when_asked(
    choice: str | None, environ: dict[str, str], expected: bool
) -> None:
    assert wanted(choice, environ) is expected


def leak(tmp_path: Path, test_id: str = "pkg.T.test_leak") -> TestReport:
    library = tmp_path / "venv" / "lib" / "site-packages" / "lib.py"
    own = tmp_path / "src" / "app.py"
    return TestReport(
        test_id,
        Verdict.LEAK,
        reason="leaks Python heap +13 blocks/cycle\n100% sure",
        # The top line is in an installed library; the project's caller is the site.
        lines=(Line(str(library), 7, 500.0, 1.0, traceback=(Frame(str(library), 7), Frame(str(own), 12))),),
        diagnosis=Diagnosis(),
    )


def test_one_error_per_leak_at_the_first_project_line(tmp_path: Path) -> None:
    report = Report((leak(tmp_path), TestReport("pkg.T.test_ok", Verdict.CLEAN)))
    (command,) = github_annotations(report, environ={"GITHUB_WORKSPACE": str(tmp_path)})
    assert command == (
        "::error file=src/app.py,line=12,title=leak in pkg.T.test_leak::"
        "leaks Python heap +13 blocks/cycle%0A100%25 sure at src/app.py:12"
    )


def test_a_known_leak_is_a_warning_and_a_siteless_one_has_no_file(tmp_path: Path) -> None:
    siteless = TestReport("t.T.test_native", Verdict.LEAK, reason="leaks native heap (malloc) +2.0 MiB/cycle")
    report = Report((leak(tmp_path), siteless))
    warning, error = github_annotations(
        report, known={"pkg.T.test_leak"}, environ={"GITHUB_WORKSPACE": str(tmp_path)}
    )
    assert warning.startswith("::warning file=src/app.py,line=12,title=known leak in pkg.T.test_leak::")
    assert error == "::error title=leak in t.T.test_native::leaks native heap (malloc) +2.0 MiB/cycle"


def test_outside_the_workspace_nothing_is_a_project_line(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (command,) = github_annotations(Report((leak(tmp_path),)), environ={"GITHUB_WORKSPACE": str(elsewhere)})
    assert command.startswith("::error title=")

from __future__ import annotations

import pytest

from leakharness.integrations.usage import EXIT_USAGE, Parser


def test_a_usage_error_is_one_line_naming_the_command_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    parser = Parser(prog="leakharness watch")
    parser.add_argument("--pid", type=int)
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--pid", "x"])
    assert exited.value.code == EXIT_USAGE == 2
    assert capsys.readouterr().err == (
        "leakharness watch: error: argument --pid: invalid int value: 'x'\n(see leakharness watch --help)\n"
    )

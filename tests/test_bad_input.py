"""Bad input everywhere: every CLI option, config key and API argument with
wrong types, empty, negative, huge and non-finite values gets a one-line error
(exit 2 on the command line), or the documented behaviour."""

from __future__ import annotations

import math
import unittest
from pathlib import Path
from typing import Any

import pytest

import leakharness
from leakharness import LeakHarnessError, Settings
from leakharness.integrations import cli

CASE = str(Path(__file__).resolve().parent / "cases" / "cases_outcomes.py")

INT_OPTIONS = ["--cycles", "--min-cycles", "--warmup", "--locate-cycles", "--lines", "--depth"]
FLOAT_OPTIONS = ["--time-budget", "--run-budget"]
BAD_INTS = ["many", "", "1.5", "nan", "inf", "0x10"]
BAD_FLOATS = ["soon", "", "0", "-1", "nan", "inf", "-inf"]
TOO_LOW = {"--cycles": "0", "--min-cycles": "0", "--warmup": "-1", "--locate-cycles": "1"}
TOO_LOW |= {"--lines": "-1", "--depth": "0"}


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the CLI in-process; assert exit 2 and a short error; return it."""
    try:
        code = cli.main(list(argv))
    except SystemExit as stop:  # argparse's own errors
        code = stop.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert lines and lines[0].startswith("leakharness: error: "), err
    assert len(lines) <= 2 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("option", INT_OPTIONS)
@pytest.mark.parametrize("value", BAD_INTS)
def test_int_options_reject_what_is_not_an_int(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    assert "invalid int value" in usage_error(capsys, f"{option}={value}", CASE)


@pytest.mark.parametrize(("option", "value"), sorted(TOO_LOW.items()))
def test_int_options_reject_values_below_their_floor(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    assert f"(got {value})" in usage_error(capsys, f"{option}={value}", CASE)


@pytest.mark.parametrize("option", FLOAT_OPTIONS)
@pytest.mark.parametrize("value", BAD_FLOATS)
def test_second_options_reject_what_is_not_a_positive_finite_number(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    message = usage_error(capsys, f"{option}={value}", CASE)
    assert "invalid float value" in message or "must be > 0 seconds" in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--resources", ""], "--resources needs at least one resource name"),
        (["--resources", " , "], "--resources needs at least one resource name"),
        (["--resources", "heap,disk"], "unknown resource 'disk'"),
        (["--tolerance", ""], "--tolerance must look like RES=NUMBER"),
        (["--tolerance", "rss="], "--tolerance must look like RES=NUMBER"),
        (["--tolerance", "=5"], "--tolerance must look like RES=NUMBER"),
        (["--tolerance", "disk=5"], "unknown resource 'disk'"),
        (["--tolerance", "rss=-1"], "must be a number >= 0"),
        (["--tolerance", "rss=nan"], "tolerances for rss: tolerance per_cycle must be a number >= 0"),
        (["--tolerance", "rss=inf"], "tolerances for rss: tolerance per_cycle must be a number >= 0"),
        (["--tolerance", "rss=x%"], "tolerance must be a number or 'N%' (got 'x%')"),
        (["--warn", "rss=5"], "a warning level for rss needs a tolerance"),
        (["--pattern", ""], "--pattern must not be empty"),
        (["--config", "/no/such/pyproject.toml"], "no such file"),
        (["--json", ""], "is a folder"),
        (["--json", "/no/such/folder/r.json"], "does not exist"),
        (["--json", "r" * 300 + ".json"], "too long"),
        (["--min-cycles", "500", "--cycles", "400"], "max_cycles must be >= min_cycles"),
    ],
)
def test_other_options_reject_bad_values(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert expected in usage_error(capsys, *args, CASE)


@pytest.mark.parametrize(
    ("target", "expected"),
    [("", "must not be empty"), ("   ", "must not be empty"), ("no/such/file.py", "no such file")],
)
def test_bad_targets(capsys: pytest.CaptureFixture[str], target: str, expected: str) -> None:
    assert expected in usage_error(capsys, target)


def test_a_config_file_without_the_table_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('[project]\nname = "x"\n')
    assert "no [tool.leakharness] table" in usage_error(capsys, "--config", str(config), CASE)


def test_a_config_file_that_is_not_utf8_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_bytes(b"[tool.leakharness]\nwarmup = 3 # \xff\n")
    assert "not UTF-8" in usage_error(capsys, "--config", str(config), CASE)


# Every config key, as TOML would hand it over, with values it must refuse.
BAD_SETTINGS: list[tuple[str, Any]] = [
    *[(name, value) for name in ("warmup", "top_lines") for value in ("5", -1, 1.5, True, None, math.nan)],
    *[
        (name, value)
        for name in ("min_cycles", "max_cycles", "traceback_depth")
        for value in ("5", 0, -1, 2.5, True, None, math.inf)
    ],
    *[("locate_cycles", value) for value in (1, "12", math.nan)],
    *[
        (name, value)
        for name in ("time_budget", "run_budget")
        for value in ("20", 0, -1, math.nan, math.inf, -math.inf, True, [])
    ],
    *[("resources", value) for value in ("", [], ["disk"], 5, [5], [""])],
    *[
        ("tolerances", value)
        for value in (5, "rss", {"disk": 1}, {"rss": -1}, {"rss": "x%"}, {"rss": math.nan}, {"rss": True})
    ],
    ("tolerances", {"rss": math.inf}),
    ("warn_tolerances", {"rss": 1}),
    *[("ignore", value) for value in (5, [5], None)],
    *[("memory_profile", value) for value in ("yes", 1, None)],
]


@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS)
def test_settings_refuse_bad_values(name: str, value: Any) -> None:
    with pytest.raises(LeakHarnessError) as caught:
        Settings().replace(**{name: value})
    assert "\n" not in str(caught.value)


def test_a_huge_max_cycles_is_bounded_by_the_time_budget() -> None:
    report = leakharness.check(lambda: None, max_cycles=10**11, min_cycles=10**10, time_budget=0.5)
    (test,) = report.tests
    assert test.cycles < 10**10
    assert "time budget" in " ".join(test.notes)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: leakharness.check(lambda: None, settings=5), "settings must be a leakharness.Settings"),
        (lambda: leakharness.check(lambda: None, settings={"max_cycles": 60}), "must be a leakharness"),
        (lambda: leakharness.check(5), "cycle must be callable"),
        (lambda: leakharness.check(lambda: None, max_cycles="many"), "max_cycles must be an integer"),
        (lambda: leakharness.no_leaks(max_cycle=60), "unknown setting 'max_cycle'"),
        (lambda: leakharness.register_cache(5), "register_cache needs a callable (got 5)"),
    ],
)
def test_api_arguments_refuse_bad_values(call: Any, expected: str) -> None:
    with pytest.raises((LeakHarnessError, TypeError)) as caught:
        call()
    assert expected in str(caught.value)


def test_leak_settings_that_are_not_settings_are_an_error() -> None:
    class Case(leakharness.LeakTestCase):
        leak_settings = 5  # type: ignore[assignment]

        def test_x(self) -> None:
            self.assertNoLeaks(lambda: None)

    result = unittest.TestResult()
    Case("test_x").run(result)
    (error,) = result.errors
    assert "Case.leak_settings must be a leakharness.Settings" in error[1]

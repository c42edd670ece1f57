from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from leakharness.config import FIELD_NAMES, Settings, command_line_settings, find_pyproject, read_pyproject
from leakharness.errors import LeakHarnessError
from leakharness.judge.tolerance import Tolerance
from leakharness.resources import Resource


def write_pyproject(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pyproject.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_defaults_are_valid() -> None:
    settings = Settings()
    assert settings.min_cycles <= settings.max_cycles
    assert settings.resources == tuple(r for r in Resource if r not in (Resource.USS, Resource.CONNECTIONS))
    assert dict(settings.tolerances) == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_cycles": 0}, "min_cycles must be >= 1 (got 0)"),
        ({"warmup": -1}, "warmup must be >= 0 (got -1)"),
        ({"locate_cycles": 1}, "locate_cycles must be >= 2 (got 1)"),
        ({"top_lines": -2}, "top_lines must be >= 0 (got -2)"),
        ({"traceback_depth": 0}, "traceback_depth must be >= 1 (got 0)"),
        ({"min_cycles": 80, "max_cycles": 70}, "max_cycles must be >= min_cycles (80) (got 70)"),
        ({"holder_graph": "yes"}, "holder_graph must be true or false (got 'yes')"),
    ],
)
def test_out_of_range_values_are_rejected(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(LeakHarnessError) as caught:
        Settings(**changes)
    assert str(caught.value) == message


def test_max_cycles_equal_to_min_cycles_is_accepted() -> None:
    assert Settings(min_cycles=10, max_cycles=10).max_cycles == 10


@pytest.mark.parametrize("value", [1.5, "3", None, 2.0])
@pytest.mark.parametrize("name", ["warmup", "min_cycles", "max_cycles", "locate_cycles", "top_lines"])
def test_non_integers_are_rejected(name: str, value: object) -> None:
    with pytest.raises(LeakHarnessError, match=rf"{name} must be an integer \(got {value!r}\)"):
        Settings(**{name: value})


@pytest.mark.parametrize(
    "name", ["warmup", "min_cycles", "max_cycles", "locate_cycles", "top_lines", "traceback_depth"]
)
def test_bools_are_rejected_for_integers(name: str) -> None:
    with pytest.raises(LeakHarnessError, match=r"must be an integer \(got True\)"):
        Settings(**{name: True})


def test_bool_time_budget_is_rejected() -> None:
    with pytest.raises(LeakHarnessError, match="time_budget"):
        Settings(time_budget=True)


@pytest.mark.parametrize("budget", [0, 0.0, -1, -0.5, "10", None])
def test_time_budget_must_be_positive_number(budget: object) -> None:
    with pytest.raises(LeakHarnessError) as caught:
        Settings(time_budget=budget)  # type: ignore[arg-type]
    assert f"time_budget must be > 0 seconds (got {budget!r})" == str(caught.value)


@pytest.mark.parametrize("budget", [0.25, 3, 600.0])
def test_positive_time_budget_is_kept(budget: float) -> None:
    assert Settings(time_budget=budget).time_budget == budget


def test_nan_time_budget_is_rejected() -> None:
    with pytest.raises(LeakHarnessError, match="time_budget"):
        Settings(time_budget=math.nan)


@pytest.mark.parametrize("resources", [["disk"], ["heap", "gpu"], "memory"])
def test_unknown_resources_are_rejected(resources: Any) -> None:
    with pytest.raises(LeakHarnessError) as caught:
        Settings(resources=resources)
    message = str(caught.value)
    assert "unknown resource" in message
    assert "heap" in message and "native_threads" in message


def test_empty_resources_are_rejected() -> None:
    with pytest.raises(LeakHarnessError, match="at least one resource"):
        Settings(resources=())


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        ("fds", (Resource.FDS,)),
        (Resource.RSS, (Resource.RSS,)),
        (["heap", "Native-Threads"], (Resource.HEAP, Resource.NATIVE_THREADS)),
        (["fds", Resource.FDS, "FDS", "heap", "fds"], (Resource.FDS, Resource.HEAP)),
    ],
)
def test_resources_are_parsed_and_deduplicated(given: Any, parsed: tuple[Resource, ...]) -> None:
    assert Settings(resources=given).resources == parsed


@pytest.mark.parametrize("amount", [-1, -0.001])
def test_negative_tolerance_is_rejected(amount: float) -> None:
    with pytest.raises(LeakHarnessError) as caught:
        Settings(tolerances={"rss": amount})
    assert str(caught.value) == (
        f"tolerances for rss: tolerance per_cycle must be a number >= 0 (got {float(amount)!r})"
    )


@pytest.mark.parametrize("amount", [True, "ten", None, "%"])
def test_non_numeric_tolerance_is_rejected(amount: object) -> None:
    with pytest.raises(LeakHarnessError, match=r"tolerances for heap: tolerance must be a number or 'N%'"):
        Settings(tolerances={"heap": amount})  # type: ignore[dict-item]


def test_nan_tolerance_is_rejected() -> None:
    with pytest.raises(LeakHarnessError, match="tolerance"):
        Settings(tolerances={"heap": math.nan})


def test_unknown_tolerance_resource_is_rejected() -> None:
    with pytest.raises(LeakHarnessError, match=r"tolerances: unknown resource 'disk'"):
        Settings(tolerances={"disk": 1})


def test_tolerances_are_parsed() -> None:
    settings = Settings(tolerances={"RSS": 8192, Resource.FDS: "1", "heap": "2.5%"})
    assert dict(settings.tolerances) == {
        Resource.RSS: Tolerance(per_cycle=8192.0),
        Resource.FDS: Tolerance(per_cycle=1.0),
        Resource.HEAP: Tolerance(percent=2.5),
    }
    assert settings.tolerance(Resource.OBJECTS) is None


def test_tolerances_are_read_only() -> None:
    settings = Settings(tolerances={"rss": 1})
    with pytest.raises(TypeError):
        settings.tolerances[Resource.HEAP] = Tolerance(per_cycle=5.0)  # type: ignore[index]


def test_replace_applies_and_validates() -> None:
    settings = Settings().replace(min_cycles=10, max_cycles=20)
    assert (settings.min_cycles, settings.max_cycles) == (10, 20)
    with pytest.raises(LeakHarnessError, match=r"got 0"):
        settings.replace(min_cycles=0)


def test_replace_with_unknown_name_raises() -> None:
    with pytest.raises(LeakHarnessError) as caught:
        Settings().replace(cycles=10)
    message = str(caught.value)
    assert "unknown setting 'cycles'" in message
    assert all(name in message for name in FIELD_NAMES)


def test_to_dict_uses_resource_names() -> None:
    data = Settings(resources=["fds", "heap"], tolerances={"fds": 2}).to_dict()
    assert data["resources"] == ["fds", "heap"]
    assert data["tolerances"] == {"fds": {"per_cycle": 2.0, "percent": None}}
    assert set(data) == FIELD_NAMES


def test_from_pyproject_reads_the_table(tmp_path: Path) -> None:
    path = write_pyproject(
        tmp_path,
        '[project]\nname = "x"\n\n[tool.leakharness]\nmin-cycles = 12\nmax_cycles = 30\n'
        'time-budget = 2.5\nresources = ["fds", "native-threads"]\ntolerances = { rss = 8192 }\n',
    )
    settings = Settings.from_pyproject(path)
    assert (settings.min_cycles, settings.max_cycles, settings.time_budget) == (12, 30, 2.5)
    assert settings.resources == (Resource.FDS, Resource.NATIVE_THREADS)
    assert settings.tolerance(Resource.RSS) == Tolerance(per_cycle=8192.0)
    assert settings.warmup == Settings().warmup


def test_from_pyproject_without_table_gives_defaults(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[project]\nname = "x"\n')
    assert Settings.from_pyproject(path) == Settings()


def test_from_pyproject_reports_bad_toml(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, "[tool.leakharness\nmin-cycles = \n")
    with pytest.raises(LeakHarnessError) as caught:
        Settings.from_pyproject(path)
    assert f"cannot read settings from {path}" in str(caught.value)


def test_from_pyproject_reports_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "pyproject.toml"
    with pytest.raises(LeakHarnessError, match="cannot read settings"):
        Settings.from_pyproject(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("min-cycles = 0", "min_cycles must be >= 1 (got 0)"),
        ("bogus = 1", "unknown setting 'bogus'"),
        ('resources = ["disk"]', "unknown resource 'disk'"),
        ('time-budget = "soon"', "time_budget must be > 0 seconds (got 'soon')"),
        (
            "tolerances = { heap = -1 }",
            "tolerances for heap: tolerance per_cycle must be a number >= 0 (got -1.0)",
        ),
    ],
)
def test_from_pyproject_reports_bad_values_with_path(tmp_path: Path, body: str, message: str) -> None:
    path = write_pyproject(tmp_path, f"[tool.leakharness]\n{body}\n")
    with pytest.raises(LeakHarnessError) as caught:
        Settings.from_pyproject(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_from_pyproject_rejects_a_non_table(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, "[tool]\nleakharness = 3\n")
    with pytest.raises(LeakHarnessError, match="must be a table"):
        Settings.from_pyproject(path)


@pytest.mark.parametrize(
    "body", ["resources = 5", "resources = [1]", "tolerances = 5", 'tolerances = ["rss"]']
)
def test_from_pyproject_reports_wrong_types_with_path(tmp_path: Path, body: str) -> None:
    path = write_pyproject(tmp_path, f"[tool.leakharness]\n{body}\n")
    with pytest.raises(LeakHarnessError, match=r"pyproject\.toml"):
        Settings.from_pyproject(path)


def test_from_pyproject_with_non_table_tool_key(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, "tool = 1\n")
    with pytest.raises(LeakHarnessError, match=r"pyproject\.toml"):
        Settings.from_pyproject(path)


def test_read_pyproject_names_the_fields_the_table_set(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, "[tool.leakharness]\nmin-cycles = 12\ntolerances = { rss = 8192 }\n")
    found = read_pyproject(path)
    assert (found.path, found.named) == (path, frozenset({"min_cycles", "tolerances"}))
    assert found.settings == Settings.from_pyproject(path)
    assert read_pyproject(write_pyproject(tmp_path / "bare", "[tool.ruff]\n")).named == frozenset()


def test_command_line_settings_from_config_else_the_nearest_else_defaults(tmp_path: Path) -> None:
    nearest = write_pyproject(tmp_path, "[tool.leakharness]\nwarmup = 1\n")
    other = write_pyproject(tmp_path / "other", "[tool.leakharness]\nwarmup = 3\n")
    start = tmp_path / "src"
    start.mkdir()
    assert command_line_settings(None, start).path == nearest
    assert command_line_settings(other, start).settings.warmup == 3
    with pytest.raises(LeakHarnessError, match=r"^--config .*missing\.toml: no such file$"):
        command_line_settings(tmp_path / "missing.toml", start)
    bare = write_pyproject(tmp_path / "bare", "[tool.ruff]\n")
    with pytest.raises(LeakHarnessError, match=r"no \[tool.leakharness\] table"):
        command_line_settings(bare, start)


def test_find_pyproject_finds_nearest_with_table(tmp_path: Path) -> None:
    outer = write_pyproject(tmp_path, "[tool.leakharness]\nwarmup = 1\n")
    inner = write_pyproject(tmp_path / "pkg", "[tool.leakharness]\nwarmup = 2\n")
    start = tmp_path / "pkg" / "src" / "mod"
    start.mkdir(parents=True)
    assert find_pyproject(start) == inner
    assert find_pyproject(tmp_path) == outer


def test_find_pyproject_skips_files_without_table(tmp_path: Path) -> None:
    outer = write_pyproject(tmp_path, "[tool.leakharness]\nwarmup = 1\n")
    write_pyproject(tmp_path / "pkg", '[project]\nname = "pkg"\n\n[tool.ruff]\nline-length = 99\n')
    assert find_pyproject(tmp_path / "pkg") == outer


def test_find_pyproject_ignores_folders_named_like_the_file(tmp_path: Path) -> None:
    outer = write_pyproject(tmp_path, "[tool.leakharness]\n")
    (tmp_path / "pkg" / "pyproject.toml").mkdir(parents=True)
    assert find_pyproject(tmp_path / "pkg") == outer


@pytest.mark.parametrize(
    "body",
    [
        "[tool]\nleakharness.max_cycles = 70\n",
        "[ tool.leakharness ]\nmax_cycles = 70\n",
        '[tool."leakharness"]\nmax_cycles = 70\n',
        "[tool.leakharness]\n# a comment\nmax-cycles = 70\n",
    ],
)
def test_every_toml_spelling_of_the_table_is_read(tmp_path: Path, body: str) -> None:
    path = write_pyproject(tmp_path, body)
    assert find_pyproject(tmp_path) == path
    assert Settings.from_pyproject(path).max_cycles == 70


def test_an_invalid_pyproject_naming_leakharness_is_an_error_with_its_line(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[project]\nname = 'x'\n[tool.leakharness\nmax_cycles = 70\n")
    with pytest.raises(LeakHarnessError, match=r"pyproject\.toml: invalid TOML: .*line 3"):
        find_pyproject(tmp_path)


def test_an_invalid_pyproject_of_someone_else_is_skipped(tmp_path: Path) -> None:
    outer = write_pyproject(tmp_path, "[tool.leakharness]\nmax_cycles = 70\n")
    inner = tmp_path / "sub"
    inner.mkdir()
    write_pyproject(inner, "[tool.other\n")
    assert find_pyproject(inner) == outer


def test_a_pyproject_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b"[tool.leakharness]\nignore = ['\xff\xfe']\n")
    with pytest.raises(LeakHarnessError, match="not UTF-8"):
        Settings.from_pyproject(path)
    with pytest.raises(LeakHarnessError, match="not UTF-8"):
        find_pyproject(tmp_path)


def test_a_required_table_that_is_missing_is_an_error(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[project]\nname = "x"\n')
    with pytest.raises(LeakHarnessError, match=r"no \[tool\.leakharness\] table"):
        Settings.from_pyproject(path, required=True)


def test_two_spellings_of_one_key_are_an_error(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, "[tool.leakharness]\nmax_cycles = 70\nmax-cycles = 8\n")
    with pytest.raises(LeakHarnessError, match="'max_cycles' and 'max-cycles' name one setting"):
        Settings.from_pyproject(path)


def test_settings_survive_pickling_and_their_json_form() -> None:
    import pickle

    settings = Settings(
        tolerances={"rss": "2%", "fds": 1},
        warn_tolerances={"rss": "1%"},
        resources=["rss", "fds"],
        ignore=["x*"],
    )
    assert pickle.loads(pickle.dumps(settings)) == settings
    assert Settings().replace(**settings.to_dict()) == settings

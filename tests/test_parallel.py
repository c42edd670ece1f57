"""Workers (--jobs) and shards (--shard): whole modules dealt out, same verdicts."""

from __future__ import annotations

import textwrap
import unittest
from pathlib import Path

import pytest

from leakharness import LeakHarnessError, Settings, Verdict
from leakharness.integrations.hunt import hunt
from leakharness.integrations.parallel import deal, hunt_in_workers, parse_shard, shard
from leakharness.integrations.targets import load_tests
from tests.helpers import run_cli


def fake_tests(sizes: dict[str, int]) -> list[unittest.TestCase]:
    """``sizes[module]`` tests of a class living in ``module``, modules in order."""
    tests: list[unittest.TestCase] = []
    for module, size in sizes.items():
        methods = {f"test_{i}": lambda self: None for i in range(size)}
        case = type("Case", (unittest.TestCase,), {"__module__": module, **methods})
        tests += [case(f"test_{i}") for i in range(size)]
    return tests


def test_deal_keeps_modules_whole_and_balances_them() -> None:
    tests = fake_tests({"a": 5, "b": 2, "c": 2, "d": 1})
    assert deal(tests, 2) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]  # a | b c d
    assert deal(tests, 3) == [[0, 1, 2, 3, 4], [5, 6, 9], [7, 8]]  # a | b d | c


def test_deal_is_deterministic_and_covers_every_test_once() -> None:
    tests = fake_tests({"m1": 3, "m2": 7, "m3": 1, "m4": 4, "m5": 4})
    parts = deal(tests, 3)
    assert parts == deal(tests, 3)
    assert sorted(i for part in parts for i in part) == list(range(len(tests)))
    modules_per_part = [{type(tests[i]).__module__ for i in part} for part in parts]
    assert sum(len(m) for m in modules_per_part) == 5  # no module split across parts


def test_shards_split_the_suite_without_overlap() -> None:
    tests = fake_tests({"m1": 3, "m2": 2, "m3": 2})
    shards = [shard(tests, k, 3) for k in range(3)]
    assert sorted(t.id() for s in shards for t in s) == sorted(t.id() for t in tests)


@pytest.mark.parametrize(("text", "parsed"), [("1/1", (0, 1)), ("2/4", (1, 4)), ("4/4", (3, 4))])
def test_parse_shard(text: str, parsed: tuple[int, int]) -> None:
    assert parse_shard(text) == parsed


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "", "1/0", "-1/2", "1/2/3"])
def test_parse_shard_refuses_bad_shards(text: str) -> None:
    with pytest.raises(LeakHarnessError, match="--shard must be K/N"):
        parse_shard(text)


LEAKY = """
    import unittest

    KEPT = []

    class Leaky(unittest.TestCase):
        def test_keeps(self):
            KEPT.append(bytearray(64))  # LEAK

        def test_drops(self):
            bytearray(64)
"""
CLEAN = """
    import unittest

    class Clean(unittest.TestCase):
        def test_one(self):
            sum(range(100))

        def test_two(self):
            [str(i) for i in range(20)]
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent(LEAKY))
    (tmp_path / "test_clean.py").write_text(textwrap.dedent(CLEAN))
    return tmp_path


def verdicts(report: dict[str, object]) -> dict[str, str]:
    return {t["id"]: t["verdict"] for t in report["tests"]}  # type: ignore[attr-defined, index]


def test_workers_give_the_serial_verdicts_in_the_serial_order(
    suite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(suite)
    settings = Settings(max_cycles=200)
    tests = load_tests([str(suite)])
    serial = hunt(tests, settings)
    parallel = hunt_in_workers(tests, settings, jobs=2, reload=([str(suite)], "test*.py"))
    assert [t.id for t in parallel.tests] == [t.id for t in serial.tests]
    assert [t.verdict for t in parallel.tests] == [t.verdict for t in serial.tests]
    assert {t.id.rsplit(".", 1)[-1]: t.verdict for t in parallel.tests}["test_keeps"] is Verdict.LEAK


def test_the_command_line_with_jobs_and_shards(suite: Path) -> None:
    serial = run_cli(str(suite), "-q", json_path=suite / "serial.json", cwd=suite)
    jobs = run_cli(str(suite), "-q", "--jobs", "2", json_path=suite / "jobs.json", cwd=suite)
    assert serial.report is not None and jobs.report is not None
    assert (
        (jobs.code, verdicts(jobs.report))
        == (serial.code, verdicts(serial.report))
        == (1, verdicts(serial.report))
    )
    shards = [
        run_cli(str(suite), "-q", "--shard", f"{k}/2", json_path=suite / f"{k}.json", cwd=suite)
        for k in (1, 2)
    ]
    merged = {**verdicts(shards[0].report or {}), **verdicts(shards[1].report or {})}
    assert merged == verdicts(serial.report)
    assert all(s.report and len(s.report["tests"]) == 2 for s in shards)


# The first module waits (at most a minute) for a file that the last module writes.
# Dealt out ahead of time, both modules would go to the first worker and the wait
# would time out; taken as workers come free, the second worker writes the file.
WAITS = """
    import os, time, unittest

    class Waits(unittest.TestCase):
        def test_waits_for_the_last_module(self):
            give_up = time.monotonic() + 60
            while not os.path.exists({flag!r}):
                self.assertLess(time.monotonic(), give_up, "the last module never ran")
                time.sleep(0.01)

        def test_other(self):
            pass
"""
WRITES = """
    import unittest

    class Writes(unittest.TestCase):
        def test_writes(self):
            open({flag!r}, "w").close()
"""


def test_a_free_worker_takes_the_next_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flag = str(tmp_path / "flag")
    (tmp_path / "test_a_waits.py").write_text(textwrap.dedent(WAITS.format(flag=flag)))
    (tmp_path / "test_b_clean.py").write_text(textwrap.dedent(CLEAN))
    (tmp_path / "test_c_writes.py").write_text(textwrap.dedent(WRITES.format(flag=flag)))
    monkeypatch.chdir(tmp_path)
    tests = load_tests([str(tmp_path)])
    assert [len(part) for part in deal(tests, 2)] == [3, 2]  # the waiting and the writing module together
    report = hunt_in_workers(tests, Settings(max_cycles=40), jobs=2, reload=([str(tmp_path)], "test*.py"))
    assert {t.id.rsplit(".", 1)[-1]: t.verdict for t in report.tests} == {
        "test_waits_for_the_last_module": Verdict.CLEAN,
        "test_other": Verdict.CLEAN,
        "test_one": Verdict.CLEAN,
        "test_two": Verdict.CLEAN,
        "test_writes": Verdict.CLEAN,
    }


SLOW_START = """
    import time, unittest

    SLEPT = []

    class SlowStart(unittest.TestCase):
        def test_sleeps_once(self):
            if not SLEPT:
                SLEPT.append(time.sleep(1))

        def test_after(self):
            pass
"""


def test_workers_share_one_run_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Both workers spend a second on their first module; the last module then
    # finds the run's half second spent, though no worker spent it on that module.
    for name in ("test_budget_a.py", "test_budget_b.py"):
        (tmp_path / name).write_text(textwrap.dedent(SLOW_START))
    (tmp_path / "test_budget_c.py").write_text(textwrap.dedent(WRITES.format(flag=str(tmp_path / "flag"))))
    monkeypatch.chdir(tmp_path)
    tests = load_tests([str(tmp_path)])
    report = hunt_in_workers(tests, Settings(run_budget=0.5), jobs=2, reload=([str(tmp_path)], "test*.py"))
    last = report.tests[-1]
    assert (last.id.rsplit(".", 1)[-1], last.reason) == (
        "test_writes",
        "not run: the run budget (0.5 s) was spent",
    )

"""LeakTestCase and no_leaks under unittest and pytest."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import unittest
from pathlib import Path
from typing import ClassVar

import pytest

import leakharness
from leakharness import LeakError, LeakHarnessError, LeakTestCase, Settings, no_leaks

_HOARD: list[bytes] = []


def hoard(size: int = 300) -> None:
    _HOARD.append(bytes(size))


def scratch(size: int = 300) -> None:
    bytes(size)


def run_case(case: type[unittest.TestCase], name: str) -> unittest.TestResult:
    result = unittest.TestResult()
    case(name).run(result)
    return result


class Cases(LeakTestCase):
    leak_max_cycles = 90
    leak_min_cycles = 70
    reports: ClassVar[list[leakharness.TestReport]] = []

    def test_leaky(self) -> None:
        self.assertNoLeaks(hoard)

    def test_clean(self) -> None:
        self.reports.append(self.assertNoLeaks(scratch))

    def test_per_call_options_and_cycle_arguments(self) -> None:
        seen: list[tuple[int, str]] = []

        def cycle(number: int, label: str = "") -> None:
            if len(seen) < 3:
                seen.append((number, label))

        report = self.assertNoLeaks(cycle, 7, label="x", max_cycles=80, min_cycles=80)
        self.reports.append(report)
        self.assertEqual(seen[0], (7, "x"))


Cases.__test__ = False  # type: ignore[attr-defined]  # run only through run_case


def test_a_leak_fails_the_test_with_a_message_naming_the_line() -> None:
    result = run_case(Cases, "test_leaky")
    assert len(result.failures) == 1 and not result.errors
    message = result.failures[0][1]
    assert "LeakError" in message
    assert "Python heap" in message and "/cycle" in message
    assert "test_testcase.py:" in message
    assert "_HOARD.append(bytes(size))" in message


def test_a_clean_cycle_passes_and_class_defaults_apply() -> None:
    Cases.reports.clear()
    result = run_case(Cases, "test_clean")
    assert result.wasSuccessful(), result.failures
    assert Cases.reports[0].verdict is leakharness.Verdict.CLEAN
    assert 70 <= Cases.reports[0].cycles <= 90


def test_keywords_override_per_call_and_reach_the_cycle() -> None:
    Cases.reports.clear()
    result = run_case(Cases, "test_per_call_options_and_cycle_arguments")
    assert result.wasSuccessful(), result.failures
    assert Cases.reports[0].cycles == 80


def test_leak_error_is_an_assertion_error_carrying_the_report() -> None:
    class Local(LeakTestCase):
        leak_max_cycles = 60

    with pytest.raises(LeakError) as caught:
        Local().assertNoLeaks(hoard)
    assert isinstance(caught.value, AssertionError)
    assert caught.value.report.leaked


def test_bad_cycle_and_bad_settings_are_clear_errors() -> None:
    with pytest.raises(LeakHarnessError, match="cycle must be callable"):
        LeakTestCase().assertNoLeaks(42)  # type: ignore[arg-type]

    class Bad(LeakTestCase):
        leak_min_cycles = 0

    with pytest.raises(LeakHarnessError, match=r"Bad: min_cycles must be >= 1 \(got 0\)"):
        Bad().assertNoLeaks(scratch)


def test_a_raising_cycle_propagates_its_own_exception() -> None:
    def broken() -> None:
        raise ValueError("cycle broke")

    with pytest.raises(ValueError, match="cycle broke"):
        LeakTestCase().assertNoLeaks(broken)


class Decorated(unittest.TestCase):
    @no_leaks(max_cycles=70, min_cycles=70)
    def test_clean(self) -> None:
        scratch()

    @no_leaks
    def test_leaky(self) -> None:
        hoard()


Decorated.__test__ = False  # type: ignore[attr-defined]


def test_no_leaks_makes_the_method_the_cycle() -> None:
    assert run_case(Decorated, "test_clean").wasSuccessful()
    failures = run_case(Decorated, "test_leaky").failures
    assert failures and "LeakError" in failures[0][1]


def test_no_leaks_rejects_unknown_settings() -> None:
    with pytest.raises(LeakHarnessError, match="unknown setting 'cycles'"):
        no_leaks(cycles=3)


def test_leak_settings_attribute_is_the_class_default() -> None:
    class WithSettings(LeakTestCase):
        leak_settings = Settings(max_cycles=65, min_cycles=65)

    report = WithSettings().assertNoLeaks(scratch)
    assert report.cycles == 65


def test_runs_under_pytest(tmp_path: Path) -> None:
    module = tmp_path / "test_under_pytest.py"
    module.write_text(
        textwrap.dedent(
            """
            import leakharness

            KEPT = []

            class T(leakharness.LeakTestCase):
                leak_max_cycles = 80

                def test_leaky(self):
                    self.assertNoLeaks(lambda: KEPT.append(bytes(200)))

                def test_clean(self):
                    self.assertNoLeaks(lambda: bytes(200))
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout[-2000:]
    assert "LeakError" in proc.stdout


def test_runs_under_plain_unittest(tmp_path: Path) -> None:
    module = tmp_path / "test_plain.py"
    module.write_text(
        "import leakharness\n\nclass T(leakharness.LeakTestCase):\n"
        "    def test_clean(self):\n        self.assertNoLeaks(lambda: bytes(10))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", "test_plain"], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stderr


class AsyncDecorated(unittest.TestCase):
    """A plain TestCase: no_leaks runs an async method on the harness's loop."""

    @no_leaks(max_cycles=40, min_cycles=30)
    async def test_clean(self) -> None:
        await asyncio.sleep(0)
        scratch()

    @no_leaks(max_cycles=40, min_cycles=30)
    async def test_leaky(self) -> None:
        await asyncio.sleep(0)
        hoard()


AsyncDecorated.__test__ = False  # type: ignore[attr-defined]


class OnTheTestsLoop(unittest.IsolatedAsyncioTestCase):
    seen: ClassVar[list[object]] = []

    async def asyncSetUp(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.factory, self.debug = self.loop.get_task_factory(), self.loop.get_debug()

    @no_leaks(max_cycles=40, min_cycles=30)
    async def test_leaky_task(self) -> None:
        self.seen.append(asyncio.get_running_loop())
        self.loop.create_task(asyncio.sleep(3600))

    async def asyncTearDown(self) -> None:
        self.seen.append((self.loop.get_task_factory() is self.factory, self.loop.get_debug() == self.debug))


OnTheTestsLoop.__test__ = False  # type: ignore[attr-defined]


def test_no_leaks_runs_async_methods_of_a_plain_test_case() -> None:
    assert run_case(AsyncDecorated, "test_clean").wasSuccessful()
    failures = run_case(AsyncDecorated, "test_leaky").failures
    assert failures and "Python heap" in failures[0][1]


def test_no_leaks_on_an_async_test_uses_its_loop_and_restores_it() -> None:
    OnTheTestsLoop.seen.clear()
    failures = run_case(OnTheTestsLoop, "test_leaky_task").failures
    assert failures and "asyncio tasks" in failures[0][1] and "asyncio.sleep(3600)" in failures[0][1]
    loops = {id(item) for item in OnTheTestsLoop.seen[:-1]}
    assert len(loops) == 1  # every cycle ran on the test's own loop
    assert OnTheTestsLoop.seen[-1] == (True, True)  # its task factory and debug mode are back

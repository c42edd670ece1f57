"""Tests that fail, error, skip or pass only once: never reported as leaks."""

from __future__ import annotations

import unittest
from typing import ClassVar

_RUNS = [0]


class Outcomes(unittest.TestCase):
    def test_fails_on_its_own(self) -> None:
        self.assertEqual(1, 2)

    def test_errors_on_its_own(self) -> None:
        raise RuntimeError("broken on purpose")

    @unittest.skip("not on this machine")
    def test_skipped(self) -> None:
        raise AssertionError("never runs")

    def test_fails_on_a_later_cycle(self) -> None:
        _RUNS[0] += 1
        self.assertLess(_RUNS[0], 4)

    def test_passes(self) -> None:
        self.assertTrue(True)


class Fixtures(unittest.TestCase):
    calls: ClassVar[list[str]] = []

    @classmethod
    def setUpClass(cls) -> None:
        cls.calls.append("setUpClass")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.calls.append("tearDownClass")

    def test_sees_class_fixture(self) -> None:
        self.assertEqual(self.calls.count("setUpClass"), 1)

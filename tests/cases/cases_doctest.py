"""A module whose tests include doctests, added by load_tests."""

from __future__ import annotations

import doctest
import unittest


def double(value: int) -> int:
    """
    >>> double(21)
    42
    """
    return value * 2


class Plain(unittest.TestCase):
    def test_double(self) -> None:
        self.assertEqual(double(2), 4)


def load_tests(
    loader: unittest.TestLoader, tests: unittest.TestSuite, pattern: str | None
) -> unittest.TestSuite:
    tests.addTests(doctest.DocTestSuite(__name__))
    tests.addTest(unittest.FunctionTestCase(lambda: double(1)))
    return tests

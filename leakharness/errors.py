"""Exceptions raised by leakharness."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leakharness.report.model import TestReport


class LeakHarnessError(Exception):
    """Bad input or a run that could not be carried out (not a leak)."""


class LeakError(AssertionError):
    """A leak was found. Subclasses AssertionError so unittest counts a failure."""

    def __init__(self, message: str, report: TestReport) -> None:
        super().__init__(message)
        self.report = report


class LeakWarning(UserWarning):
    """Growth a tolerance accepts but that is above its warning level."""

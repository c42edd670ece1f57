"""leakharness: find memory and resource leaks from inside a test suite."""

from __future__ import annotations

from leakharness.caches import register_cache, unregister_cache
from leakharness.check import check
from leakharness.config import Settings
from leakharness.errors import LeakError, LeakHarnessError, LeakWarning
from leakharness.report.model import Report, ResourceResult, TestReport
from leakharness.resources import Resource
from leakharness.testcase import LeakTestCase, no_leaks
from leakharness.tolerance import Tolerance
from leakharness.verdict import Verdict

__version__ = "0.1.0"

__all__ = [
    "LeakError",
    "LeakHarnessError",
    "LeakTestCase",
    "LeakWarning",
    "Report",
    "Resource",
    "ResourceResult",
    "Settings",
    "TestReport",
    "Tolerance",
    "Verdict",
    "__version__",
    "check",
    "no_leaks",
    "register_cache",
    "unregister_cache",
]

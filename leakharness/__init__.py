"""leakharness: find memory and resource leaks from inside a test suite."""

from __future__ import annotations

from leakharness._version import __version__
from leakharness.config import Settings
from leakharness.errors import LeakError, LeakHarnessError, LeakWarning
from leakharness.integrations.check import check
from leakharness.integrations.testcase import LeakTestCase, no_leaks
from leakharness.integrations.web import wsgi_cycle
from leakharness.integrations.web_asgi import asgi_cycle
from leakharness.integrations.web_requests import Request, ResponseError
from leakharness.judge.tolerance import Tolerance
from leakharness.judge.verdict import Verdict
from leakharness.measure.caches import register_cache, unregister_cache
from leakharness.report.model import Report, ResourceResult, TestReport
from leakharness.resources import Resource

__all__ = [
    "LeakError",
    "LeakHarnessError",
    "LeakTestCase",
    "LeakWarning",
    "Report",
    "Request",
    "Resource",
    "ResourceResult",
    "ResponseError",
    "Settings",
    "TestReport",
    "Tolerance",
    "Verdict",
    "__version__",
    "asgi_cycle",
    "check",
    "no_leaks",
    "register_cache",
    "unregister_cache",
    "wsgi_cycle",
]

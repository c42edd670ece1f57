"""leakharness: find memory and resource leaks from inside a test suite.

The public names load on first use, so ``import leakharness`` costs almost
nothing: the measuring, diagnosing and reporting modules (rich, psutil,
objgraph) are imported when a run needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from leakharness._version import __version__
from leakharness.errors import LeakError, LeakHarnessError, LeakWarning

if TYPE_CHECKING:
    from leakharness.config import Settings
    from leakharness.integrations.check import check, check_async
    from leakharness.integrations.testcase import LeakTestCase, no_leaks
    from leakharness.integrations.web import wsgi_cycle
    from leakharness.integrations.web_asgi import asgi_cycle
    from leakharness.integrations.web_requests import Request, ResponseError
    from leakharness.judge.tolerance import Tolerance
    from leakharness.judge.verdict import Verdict
    from leakharness.measure.caches import register_cache, unregister_cache
    from leakharness.report.model import Report, ResourceResult, TestReport
    from leakharness.resources import Resource

_LAZY = {
    "LeakTestCase": "leakharness.integrations.testcase",
    "Report": "leakharness.report.model",
    "Request": "leakharness.integrations.web_requests",
    "Resource": "leakharness.resources",
    "ResourceResult": "leakharness.report.model",
    "ResponseError": "leakharness.integrations.web_requests",
    "Settings": "leakharness.config",
    "TestReport": "leakharness.report.model",
    "Tolerance": "leakharness.judge.tolerance",
    "Verdict": "leakharness.judge.verdict",
    "asgi_cycle": "leakharness.integrations.web_asgi",
    "check": "leakharness.integrations.check",
    "check_async": "leakharness.integrations.check",
    "no_leaks": "leakharness.integrations.testcase",
    "register_cache": "leakharness.measure.caches",
    "unregister_cache": "leakharness.measure.caches",
    "wsgi_cycle": "leakharness.integrations.web",
}

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
    "check_async",
    "no_leaks",
    "register_cache",
    "unregister_cache",
    "wsgi_cycle",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'leakharness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

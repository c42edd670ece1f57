"""unittest integration: ``LeakTestCase.assertNoLeaks`` and the ``no_leaks`` decorator."""

from __future__ import annotations

import functools
import unittest
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from leakharness.config import FIELD_NAMES, Settings, find_pyproject, require_settings
from leakharness.errors import LeakError, LeakHarnessError, LeakWarning
from leakharness.examine import examine
from leakharness.integrations.awaited import examine_awaited
from leakharness.judge.verdict import Verdict
from leakharness.measure.async_cycle import as_cycle, is_async
from leakharness.report.console import to_text
from leakharness.report.model import TestReport

if TYPE_CHECKING:
    import asyncio

F = TypeVar("F", bound=Callable[..., Any])
_CONTEXT = "_leakharness_context"


@dataclass(frozen=True)
class RunContext:
    """What a run hands the tests it runs as written: its settings (the
    defaults under class attributes) and where their reports go."""

    settings: Settings
    collect: Callable[[TestReport], None]

    def attach(self, test: unittest.TestCase) -> None:
        setattr(test, _CONTEXT, self)


def _context(test: unittest.TestCase) -> RunContext | None:
    return getattr(test, _CONTEXT, None)


def _default_settings(context: RunContext | None) -> Settings:
    if context is not None:
        return context.settings
    found = find_pyproject(Path.cwd())
    return Settings.from_pyproject(found) if found else Settings()


def class_settings(cls: type, context: RunContext | None = None) -> Settings:
    """Settings from ``leak_settings`` and ``leak_<field>`` class attributes, over
    the run's defaults (the CLI's options, else ``[tool.leakharness]``)."""
    declared = getattr(cls, "leak_settings", None)
    if declared is not None:
        require_settings(declared, f"{cls.__qualname__}.leak_settings")
    base = declared or _default_settings(context)
    overrides = {
        name: getattr(cls, f"leak_{name}")
        for name in FIELD_NAMES
        if getattr(cls, f"leak_{name}", None) is not None
    }
    try:
        return base.replace(**overrides) if overrides else base
    except LeakHarnessError as err:
        raise LeakHarnessError(f"{cls.__qualname__}: {err}") from err


def assert_no_leaks(
    cycle: Callable[[], object], settings: Settings, test_id: str, context: RunContext | None = None
) -> TestReport:
    """Examine ``cycle``; raise LeakError if it leaks; return the report otherwise."""
    return _verdict(examine(cycle, settings, test_id=test_id), context)


def _verdict(report: TestReport, context: RunContext | None) -> TestReport:
    if context is not None:
        context.collect(report)
    for warning in report.warnings:
        warnings.warn(LeakWarning(f"{report.id}: {warning}"), stacklevel=4)
    if report.verdict is Verdict.LEAK:
        raise LeakError(f"{report.reason}\n\n{to_text(report)}", report)
    return report


class LeakTestCase(unittest.TestCase):
    """A TestCase with ``assertNoLeaks``.

    Class attributes set defaults for every call in the class: either
    ``leak_settings = Settings(...)`` or single fields such as
    ``leak_max_cycles = 100``, ``leak_warmup = 10``.
    """

    leak_settings: Settings | None = None

    def assertNoLeaks(self, cycle: Callable[..., object], /, *args: Any, **kwargs: Any) -> TestReport:  # noqa: N802
        """Repeat ``cycle(*args, **kwargs)``; fail with LeakError if it leaks.

        Keywords named like a Settings field configure this call (for
        example ``max_cycles=50``); the others are passed to the cycle.
        """
        settings, bound = self._leak_call(cycle, args, kwargs)
        return assert_no_leaks(bound, settings, self.id(), _context(self))

    async def assertNoLeaksAsync(  # noqa: N802
        self, cycle: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> TestReport:
        """``assertNoLeaks`` from an ``async def`` test: the cycles run on the
        test's running event loop (``await self.assertNoLeaksAsync(cycle)``)."""
        settings, bound = self._leak_call(cycle, args, kwargs)
        return _verdict(await examine_awaited(bound, settings, self.id()), _context(self))

    def _leak_call(
        self, cycle: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Settings, Callable[[], object]]:
        settings, rest = class_settings(type(self), _context(self)).split(kwargs)
        return settings, functools.partial(cycle, *args, **rest) if args or rest else cycle


def no_leaks(method: F | None = None, /, **options: Any) -> Any:
    """Make a test method itself the cycle: ``@no_leaks`` or ``@no_leaks(max_cycles=50)``.

    Works on any ``unittest.TestCase``; a ``LeakTestCase``'s class defaults apply.
    """
    unknown = sorted(set(options) - FIELD_NAMES)
    if unknown:
        raise LeakHarnessError(f"no_leaks: unknown setting {unknown[0]!r}")

    def decorate(test_method: F) -> F:
        @functools.wraps(test_method)
        def test(self: unittest.TestCase) -> None:
            context = _context(self)
            settings = class_settings(type(self), context).replace(**options)
            cycle = as_cycle(functools.partial(test_method, self), _test_loop(self, test_method))
            assert_no_leaks(cycle, settings, self.id(), context)

        test.__leakharness__ = True  # type: ignore[attr-defined]
        return test  # type: ignore[return-value]

    return decorate(method) if method is not None else decorate


def _test_loop(test: unittest.TestCase, method: Callable[..., object]) -> asyncio.AbstractEventLoop | None:
    """An ``IsolatedAsyncioTestCase``'s own loop for an async test method (it
    is set as the current loop, and idle while a synchronous method runs), so
    that the cycles share the loop of ``asyncSetUp``'s fixtures; else None."""
    if not (is_async(method) and isinstance(test, unittest.IsolatedAsyncioTestCase)):
        return None
    import asyncio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return asyncio.get_event_loop()

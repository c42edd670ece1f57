"""``check(fn)``: examine a cycle from a REPL, pdb or notebook; ``check_async`` inside a running loop."""

from __future__ import annotations

import functools
from typing import Any

from leakharness.config import Settings, require_settings
from leakharness.examine import examine
from leakharness.integrations.awaited import examine_awaited
from leakharness.report.model import Report


def check(cycle: Any, /, *args: Any, settings: Settings | None = None, **kwargs: Any) -> Report:
    """Repeat ``cycle(*args, **kwargs)`` and return the Report of that one cycle.

    Keywords named like a ``Settings`` field (``max_cycles``, ``warmup``, ...)
    configure the harness; the others are passed to the cycle. The report
    prints itself as rich tables; ``report.to_dict()`` is its JSON form.
    """
    settings, bound = _bound(cycle, args, kwargs, settings)
    test = examine(bound, settings, test_id=_name(cycle))
    return Report(tests=(test,), settings=settings.to_dict(), seconds=test.seconds)


async def check_async(cycle: Any, /, *args: Any, settings: Settings | None = None, **kwargs: Any) -> Report:
    """``check`` from inside a running event loop (a notebook cell, an async
    test): ``await check_async(fn)`` runs every cycle on that loop."""
    settings, bound = _bound(cycle, args, kwargs, settings)
    test = await examine_awaited(bound, settings, test_id=_name(cycle))
    return Report(tests=(test,), settings=settings.to_dict(), seconds=test.seconds)


def _bound(
    cycle: Any, args: tuple[Any, ...], kwargs: dict[str, Any], settings: Settings | None
) -> tuple[Settings, Any]:
    base = Settings() if settings is None else require_settings(settings)
    settings, kwargs = base.split(kwargs)
    return settings, functools.partial(cycle, *args, **kwargs) if args or kwargs else cycle


def _name(cycle: Any) -> str:
    module = getattr(cycle, "__module__", None) or ""
    name = getattr(cycle, "__qualname__", None) or repr(cycle)
    return f"{module}.{name}" if module and module != "__main__" else name

"""``check(fn)``: examine a cycle from a REPL, pdb or notebook."""

from __future__ import annotations

import functools
from typing import Any

from leakharness.config import Settings, require_settings
from leakharness.examine import examine
from leakharness.report.model import Report


def check(cycle: Any, /, *args: Any, settings: Settings | None = None, **kwargs: Any) -> Report:
    """Repeat ``cycle(*args, **kwargs)`` and return the Report of that one cycle.

    Keywords named like a ``Settings`` field (``max_cycles``, ``warmup``, ...)
    configure the harness; the others are passed to the cycle. The report
    prints itself as rich tables; ``report.to_dict()`` is its JSON form.
    """
    base = Settings() if settings is None else require_settings(settings)
    settings, kwargs = base.split(kwargs)
    bound = functools.partial(cycle, *args, **kwargs) if args or kwargs else cycle
    test = examine(bound, settings, test_id=_name(cycle))
    return Report(tests=(test,), settings=settings.to_dict(), seconds=test.seconds)


def _name(cycle: Any) -> str:
    module = getattr(cycle, "__module__", None) or ""
    name = getattr(cycle, "__qualname__", None) or repr(cycle)
    return f"{module}.{name}" if module and module != "__main__" else name

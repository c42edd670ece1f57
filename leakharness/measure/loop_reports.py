"""Objects left unclosed that an event loop is told of.

Some libraries report an object left unclosed twice: with a ResourceWarning,
and through its loop's exception handler (aiohttp's sessions, connectors and
responses: ``loop.call_exception_handler({"message": "Unclosed client
session", "client_session": session})``), whose default logs it to stderr
with the object's creation stack. examples/http_client.py printed 53 lines
a cycle that way, 2,291 lines in one run.

While active, ``LoopReports`` wraps ``call_exception_handler`` of asyncio's
``BaseEventLoop``, the base of every loop asyncio makes (uvloop's is not
one). No loop's own handler is touched, so a test's or a framework's stays
set. A report whose message begins with "unclosed" and that carries no
exception goes to ``seen`` instead of the loop's handler; every other one
(an exception never retrieved, a task destroyed while pending) reaches that
handler as before. The class's method is put back on close.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

Context = Mapping[str, Any]
# Keys of a report that describe it rather than name the object reported.
_ABOUT = frozenset({"message", "exception", "source_traceback", "handle_traceback"})


def is_unclosed(context: Context) -> bool:
    """A report of an object left unclosed, not of an error."""
    message = context.get("message")
    return isinstance(message, str) and message.lower().startswith("unclosed") and "exception" not in context


def reported_objects(context: Context) -> list[object]:
    """The objects a report names, in its order: the first is the one left unclosed."""
    return [value for key, value in context.items() if key not in _ABOUT]


class LoopReports:
    """While installed, hand each report of an unclosed object to ``seen``."""

    def __init__(self, seen: Callable[[Context], None]) -> None:
        self._seen = seen
        self._base: Any = None
        self._original: Any = None
        self._wrapper: Callable[[Any, Context], None] | None = None

    def install(self) -> None:
        """Start catching, once asyncio is imported (before that, no loop can
        report anything, and importing it here would cost 20 to 90 ms)."""
        if self._base is not None or "asyncio" not in sys.modules:
            return
        from asyncio import base_events

        base: Any = base_events.BaseEventLoop
        original = base.__dict__["call_exception_handler"]

        def call_exception_handler(loop: Any, context: Context) -> None:
            if self._base is not None and is_unclosed(context):
                self._seen(context)
            else:
                original(loop, context)

        base.call_exception_handler = call_exception_handler
        self._base, self._original, self._wrapper = base, original, call_exception_handler

    def close(self) -> None:
        """Put the method back; replaced since by someone else, ours stays
        beneath theirs and passes every report on."""
        base, self._base = self._base, None
        if base is not None and base.__dict__.get("call_exception_handler") is self._wrapper:
            base.call_exception_handler = self._original
        self._original = self._wrapper = None

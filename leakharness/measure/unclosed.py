"""ResourceWarnings: objects that were never closed and that only the garbage
collector closed (an event loop, a transport, a socket, a file, an HTTP
client session).

Such an object leaks nothing once collected: the harness collects after
every cycle, so descriptor and memory counts stay flat. Its warning is the
only sign, and in a process that collects less often the descriptors pile
up. So while an examination runs, every ResourceWarning is counted (the
filter is "always": by default they are ignored, or shown once per line),
and none is printed; other warnings go where they went before. While
``recording``, each is also described, with where its object was allocated
when tracemalloc traces (the locate phase).

The hook is the one ``warnings.catch_warnings(record=True)`` installs, so it
sees each warning's ``source`` object; everything is put back on close.

What event loops are told of unclosed objects (``loop_reports``) is caught
too, and not printed. A report that repeats the warning just seen, about
the same object (aiohttp warns, then reports), is not counted twice; one
without a warning counts as one.
"""

from __future__ import annotations

import re
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from leakharness.frames import Frame, Site, traceback_site, walk
from leakharness.measure.loop_reports import Context, LoopReports, reported_objects
from leakharness.resources import Resource

MAX_RECORDED = 64  # described warnings kept while recording: a few per traced cycle
STACK_DEPTH = 8
_ADDRESS = re.compile(r" (object )?at 0x[0-9a-fA-F]+")


@dataclass(frozen=True)
class Unclosed:
    """One ResourceWarning: what was left unclosed, and where it was made."""

    kind: str  # the type of the object, module-qualified
    message: str  # the warning's text, without memory addresses
    created: tuple[Frame, ...] = ()  # where the object was allocated, innermost project frame first
    inside: Frame | None = None  # the library or stdlib frame beneath that line

    def __repr__(self) -> str:
        where = f" created at {self.created[0].place}" if self.created else ""
        return f"<Unclosed {self.kind}{where}: {self.message!r}>"

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "message": self.message,
            "created": [frame.to_dict() for frame in self.created],
            "inside": self.inside.to_dict() if self.inside else None,
        }


class UnclosedWarnings:
    """A probe: ResourceWarnings seen since the examination began."""

    resource = Resource.UNCLOSED

    def __init__(self) -> None:
        self.count = 0
        self.recorded: list[Unclosed] | None = None
        # The last warning's object, as its type and id: enough to know its report
        # again while it is being finalized, without keeping it alive.
        self._warned: tuple[type, int] | None = None
        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        self._forward = _forwarder()
        warnings.simplefilter("always", ResourceWarning)
        if hasattr(warnings, "_showwarnmsg_impl"):
            warnings._showwarnmsg_impl = self._seen
            warnings.showwarning = getattr(warnings, "_showwarning_orig", warnings.showwarning)
        else:  # pragma: no cover - an interpreter without the hook: counts, without sources
            warnings.showwarning = self._seen_plain
        self._loop_reports = LoopReports(self._reported)
        self._loop_reports.install()

    def sample(self) -> int:
        self._loop_reports.install()  # a cycle may have imported asyncio since
        return self.count

    def close(self) -> None:
        self._loop_reports.close()
        self._catcher.__exit__(None, None, None)

    @contextmanager
    def recording(self) -> Iterator[list[Unclosed]]:
        """Describe each warning until exit, into the list yielded."""
        found: list[Unclosed] = []
        self.recorded = found
        try:
            yield found
        finally:
            self.recorded = None

    def _seen(self, message: Any) -> None:
        if not issubclass(message.category, ResourceWarning):
            self._forward(message)
            return
        source = getattr(message, "source", None)
        self._warned = (type(source), id(source)) if source is not None else None
        self._count(lambda: _describe(message))

    def _reported(self, context: Context) -> None:
        objects = reported_objects(context)
        if self._warned is not None and self._warned in {(type(o), id(o)) for o in objects}:
            self._warned = None  # counted with its warning
            return
        self._count(lambda: _describe_report(context, objects))

    def _count(self, describe: Callable[[], Unclosed]) -> None:
        self.count += 1
        if self.recorded is not None and len(self.recorded) < MAX_RECORDED:
            self.recorded.append(describe())

    def _seen_plain(self, message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, ResourceWarning):
            self.count += 1


def _site(source: object, stack: object = None) -> Site | None:
    """Where ``source`` was allocated, from tracemalloc; else from the creation
    stack asyncio-style objects keep in debug mode (``_source_traceback``: on
    Python 3.11, tracemalloc finds no traceback for an instance of a class
    with a managed ``__dict__``), or else ``stack``, the one a report gave."""
    traceback = tracemalloc.get_object_traceback(source) if source is not None else None
    if traceback is not None:
        return traceback_site(traceback)
    stack = getattr(source, "_source_traceback", stack)
    if isinstance(stack, list) and all(hasattr(entry, "lineno") for entry in stack):
        return walk((entry.filename, entry.lineno) for entry in reversed(stack))
    return None


def _forwarder() -> Callable[[Any], None]:
    """Shows a warning the way it would have been shown before."""
    shown = warnings.showwarning
    original = getattr(warnings, "_showwarning_orig", None)
    impl = getattr(warnings, "_showwarnmsg_impl", None)

    def forward(msg: Any) -> None:
        if shown is not original or impl is None:  # replaced (logging.captureWarnings does)
            shown(msg.message, msg.category, msg.filename, msg.lineno, msg.file, msg.line)
        else:
            impl(msg)

    return forward


def _describe(message: Any) -> Unclosed:
    return _unclosed(getattr(message, "source", None), str(message.message), message.category.__name__)


def _describe_report(context: Context, objects: list[object]) -> Unclosed:
    source = objects[0] if objects else None
    return _unclosed(source, str(context["message"]), "event loop report", context.get("source_traceback"))


def _unclosed(source: object, text: str, anonymous: str, stack: object = None) -> Unclosed:
    """``source`` left unclosed (``anonymous`` names its kind when it is None)."""
    site = _site(source, stack)
    kind = type(source) if source is not None else None
    return Unclosed(
        kind=f"{kind.__module__}.{kind.__qualname__}" if kind else anonymous,
        message=_ADDRESS.sub("", text),
        created=site.stack(STACK_DEPTH) if site else (),
        inside=site.inside() if site else None,
    )

"""``Findings``: what a scan found, and notes on what this platform could not tell."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import psutil

from leakharness.frames import Frame

STACK_DEPTH = 8
PSUTIL_ERRORS = (psutil.Error, NotImplementedError, AttributeError, OSError)


class Reportable(Protocol):
    """Anything a report can hold: it has a JSON form."""

    def to_dict(self) -> dict[str, object]: ...


T = TypeVar("T", bound=Reportable)


@dataclass(frozen=True)
class Findings(Generic[T]):
    """What a scan found, and notes on what it could not look at."""

    items: tuple[T, ...] = ()
    notes: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]

    def __repr__(self) -> str:
        notes = f" notes={list(self.notes)}" if self.notes else ""
        return f"<Findings {list(self.items)}{notes}>"

    def to_dict(self) -> dict[str, object]:
        return {"items": [item.to_dict() for item in self.items], "notes": list(self.notes)}


def type_name(obj: object) -> str:
    """``module.Name`` of ``obj``'s type, as objgraph's type statistics
    (``typestats(shortnames=False)``) spell it: growing types and holder
    chains name a type the same way."""
    kind = type(obj)
    module = getattr(kind, "__module__", None)
    return f"{module}.{kind.__name__}" if module else kind.__name__


def frames_to_dict(frames: tuple[Frame, ...]) -> list[dict[str, object]]:
    return [frame.to_dict() for frame in frames]

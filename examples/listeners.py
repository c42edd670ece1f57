"""An event bus that keeps its listeners alive: strong versus weak references.

Each cycle creates an ``Overlay`` that subscribes its ``on_detection`` method
to a process-wide event bus, draws one detection, and is then dropped by its
owner. The leaky ``EventBus`` stores the bound method itself, and a bound
method holds a strong reference to its object: the bus keeps every overlay
(and everything the overlay holds) alive forever, and keeps calling them.

The fixed ``WeakEventBus`` stores a ``weakref.WeakMethod`` instead. It does
not keep the overlay alive: once the owner drops the overlay, the weak
reference dies and its callback removes the dead entry from the bus, so the
listener list does not fill up with dead references either.
"""

from __future__ import annotations

import unittest
import weakref
from collections.abc import Callable
from typing import Any

Listener = Callable[[dict[str, Any]], None]


class EventBus:
    """Leaky: strong references to every subscribed bound method."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def publish(self, event: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(event)


class WeakEventBus:
    """Fixed: weak references that remove themselves when the listener dies."""

    def __init__(self) -> None:
        self._listeners: list[weakref.WeakMethod[Listener]] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(weakref.WeakMethod(listener, self._listeners.remove))

    def publish(self, event: dict[str, Any]) -> None:
        for reference in list(self._listeners):
            listener = reference()
            if listener is not None:
                listener(event)


class Overlay:
    """Draws the latest detection; lives as long as the view that owns it."""

    def __init__(self) -> None:
        self.box: tuple[int, int, int, int] | None = None
        self.canvas = bytearray(4096)  # the overlay's drawing surface

    def on_detection(self, event: dict[str, Any]) -> None:
        self.box = event["box"]


_bus = EventBus()
_weak_bus = WeakEventBus()


def show_overlay_leaky() -> Overlay:
    overlay = Overlay()
    _bus.subscribe(overlay.on_detection)  # leak: the bus keeps the bound method, which keeps the overlay
    return overlay


def show_overlay() -> Overlay:
    overlay = Overlay()
    _weak_bus.subscribe(overlay.on_detection)
    return overlay


class ListenersTest(unittest.TestCase):
    def test_leaky_strong_listener(self) -> None:
        overlay = show_overlay_leaky()
        _bus.publish({"box": (10, 20, 64, 48)})
        self.assertEqual(overlay.box, (10, 20, 64, 48))

    def test_fixed_weak_listener(self) -> None:
        overlay = show_overlay()
        _weak_bus.publish({"box": (10, 20, 64, 48)})
        self.assertEqual(overlay.box, (10, 20, 64, 48))


if __name__ == "__main__":
    unittest.main()

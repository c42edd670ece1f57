"""One examination's running parts: the cycle, the process state it may change,
the caches emptied between cycles, and the settings that bound it."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field

from leakharness.config import Settings
from leakharness.frames import calls_code_under_test
from leakharness.measure.caches import CacheClearer
from leakharness.measure.state import ProcessState

Cycle = Callable[[], object]
# Hears from within detection, between cycles: (cycles run, seconds of the time budget left).
Tick = Callable[[int, float], None]
TICK_EVERY = 0.2  # seconds between ticks


@dataclass
class Session:
    """Handed from detection to the locate phase, so that both repeat the
    cycle the same way and restore the same state."""

    cycle: Cycle
    settings: Settings
    state: ProcessState
    clear_caches: CacheClearer = field(default_factory=CacheClearer)
    tick: Tick | None = None
    ran_before: int = 0  # runs of the cycle before the examination (a test run as written): warm-up

    @calls_code_under_test
    def run_cycle(self) -> None:
        """One cycle, then empty known caches and collect garbage."""
        self.cycle()
        self.settle()

    def settle(self) -> None:
        """Empty known caches and collect garbage, as after every cycle."""
        self.clear_caches()
        gc.collect()

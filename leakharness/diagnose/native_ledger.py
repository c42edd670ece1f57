"""Charge a process memory counter's changes to the project line running meanwhile.

Native memory (malloc in a C extension, pages mapped by a library) is
invisible to tracemalloc, but a counter of it (glibc's ``mallinfo2`` bytes in
use, or the resident set size) can be read between two events of the
project's own code: each change belongs to the project line, and the
function it called, that ran in between. A line that allocates a temporary
and a later line (or the function's return) that frees it would both look
busy, so a cycle's decreases are matched against its increases: first an
increase of exactly the same size (a buffer freed whole), else the newest.
What is left at the end of a cycle is what the cycle kept.

A read of ``mallinfo2`` walks the allocator's free lists (2 ms with 100
leaked ``cv2.VideoWriter``s), so once a first cycle has shown which keys
change the counter, a switch between two keys that did not is not read:
of 123 switches in that cycle, 96 saw no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from leakharness.frames import Frame, Origin, live_places, origin, walk

Site = tuple[str, int]
Key = tuple[Site, str]  # a project line, and the short name of the callable it called ("" if none)
MAX_STACK = 8
MATCH_WINDOW = 64  # a decrease looks this far back for increases of its size
SLACK = 1024  # a decrease may return this much besides the increases it matches


def is_project(filename: str) -> bool:
    """The code whose lines are charged: not the harness, the stdlib or an
    installed library (the line that called into a library is charged)."""
    return origin(filename) is Origin.PROJECT


@dataclass
class _Kept:
    key: Key
    amount: int


class Ledger:
    """The increases a cycle kept, by project line and callee."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read
        self._key: Key | None = None
        self._frame: FrameType | None = None
        self._kept: list[_Kept] = []  # not freed yet in this cycle, oldest first
        self.stacks: dict[Key, tuple[Frame, ...]] = {}
        self.loud: set[Key | None] = {None}  # keys seen to change the counter (None: the harness's code)
        self.skip_quiet = False  # once a first cycle has shown which keys are loud
        self._last = read()

    def switch(self, key: Key | None, frame: FrameType | None) -> None:
        """Charge the change since the last switch to the running key, then
        run ``key`` (None: harness code, whose increases are not charged)."""
        previous, previous_frame = self._key, self._frame
        if self.skip_quiet and key not in self.loud and previous not in self.loud:
            self._key, self._frame = key, frame  # neither changed the counter before: skip a read
            return
        now = self._read()
        delta = now - self._last
        self._key, self._frame, self._last = key, frame, now
        if delta:  # a read can cost 50 µs to 2 ms on a fragmented heap: only read again when needed
            self.loud.add(previous)
            if delta > 0 and previous is not None:
                self._keep(previous, delta, previous_frame)
            elif delta < 0:
                self._free(-delta)
            self._last = self._read()  # the bookkeeping above is charged to nobody

    def end_cycle(self) -> dict[Key, int]:
        """What this cycle kept, by key; the next cycle starts afresh."""
        self.switch(None, None)
        kept: dict[Key, int] = {}
        for entry in self._kept:
            kept[entry.key] = kept.get(entry.key, 0) + entry.amount
        self._kept.clear()
        self._last = self._read()
        return kept

    def _keep(self, key: Key, amount: int, frame: FrameType | None) -> None:
        self._kept.append(_Kept(key, amount))  # one entry per increase: its size may come back whole
        if key not in self.stacks and frame is not None:
            site = walk([key[0], *live_places(frame.f_back)])
            self.stacks[key] = site.stack(MAX_STACK) if site else (Frame(*key[0]),)

    def _free(self, amount: int) -> None:
        """Undo the increases ``amount`` most likely returned: the newest of
        one size that fits it, once or several times, within ``SLACK`` (a list
        of equal buffers dropped at once, with its own small block), then
        the newest increases for what is left."""
        recent = range(len(self._kept) - 1, max(-1, len(self._kept) - 1 - MATCH_WINDOW), -1)
        for size in dict.fromkeys(self._kept[index].amount for index in recent):
            times = amount // size
            alike = [index for index in recent if self._kept[index].amount == size]
            if times and amount - times * size <= SLACK and len(alike) >= times:
                for index in alike[:times]:  # newest first: indices fall, so deleting is safe
                    del self._kept[index]
                amount -= times * size
                break
        while amount > 0 and self._kept:
            entry = self._kept[-1]
            taken = min(amount, entry.amount)
            entry.amount -= taken
            amount -= taken
            if not entry.amount:
                self._kept.pop()

"""The native ledger on counter sequences: what a cycle kept, by line."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from leakharness.diagnose.native_ledger import SLACK, Key, Ledger


def key(line: int, callee: str = "") -> Key:
    return (("app.py", line), callee)


class Counter:
    """A counter that the test moves between the ledger's readings."""

    def __init__(self) -> None:
        self.value = 0

    def __call__(self) -> int:
        return self.value


def run(steps: Sequence[tuple[int | None, int]]) -> dict[Key, int]:
    """Run project ``line`` (None: harness code) and move the counter by ``change`` meanwhile, in turn."""
    counter = Counter()
    ledger = Ledger(counter)
    for line, change in steps:
        ledger.switch(None if line is None else key(line), None)
        counter.value += change
    return ledger.end_cycle()


@pytest.mark.parametrize(
    ("name", "steps", "kept"),
    [
        ("a leak", [(1, 65552)], {key(1): 65552}),
        ("a temporary freed later", [(1, 4096), (2, 0), (3, -4096)], {}),
        ("a leak beside a temporary", [(1, 4096), (2, 65552), (3, -4096)], {key(2): 65552}),
        (
            "equal buffers dropped at once",
            [(1, 57616), (1, 57616), (1, 57616), (2, 70000), (3, -3 * 57616)],
            {key(2): 70000},
        ),
        ("a free with a small block besides", [(1, 57616), (2, 8000), (3, -57616 - 24)], {key(2): 8000 - 24}),
        (
            "a free just past the slack",
            [(1, 57616), (2, 8000), (3, -57616 - SLACK - 1)],
            {key(1): 8000 - SLACK - 1},
        ),
        (
            "an unmatched free undoes the newest",
            [(1, 1000), (2, 3000), (3, -2500)],
            {key(1): 1000, key(2): 500},
        ),
        ("the harness's increases are nobody's", [(None, 5000), (1, 100)], {key(1): 100}),
        ("the harness's collection frees a temporary", [(1, 2048), (2, 512), (None, -2048)], {key(2): 512}),
        ("frees beyond the cycle's increases", [(1, 100), (2, -5000)], {}),
    ],
)
def test_kept_memory_by_line(name: str, steps: list[tuple[int | None, int]], kept: dict[Key, int]) -> None:
    assert run(steps) == kept, name


def test_bookkeeping_between_two_readings_is_not_charged() -> None:
    # start; switch to line 1 (nothing changed: one reading); line 1 adds 100,
    # then the switch's own bookkeeping 50 more (read again); the end of the cycle
    readings = iter([0, 0, 100, 150, 150, 150])
    ledger = Ledger(lambda: next(readings))
    ledger.switch(key(1), None)
    ledger.switch(key(2), None)
    assert ledger.end_cycle() == {key(1): 100}


def test_each_cycle_starts_afresh() -> None:
    counter = Counter()
    ledger = Ledger(counter)
    ledger.switch(key(1), None)
    counter.value += 10
    assert ledger.end_cycle() == {key(1): 10}
    ledger.switch(key(2), None)
    counter.value -= 10  # freeing the last cycle's leak is not charged to anyone
    assert ledger.end_cycle() == {}


def test_switches_between_quiet_keys_are_not_read() -> None:
    counter = Counter()
    reads = [0]

    def read() -> int:
        reads[0] += 1
        return counter()

    ledger = Ledger(read)
    for line in (1, 2, 3):  # a first cycle: line 2 is the only loud one
        ledger.switch(key(line), None)
        counter.value += 10 if line == 2 else 0
    assert ledger.end_cycle() == {key(2): 10}
    ledger.skip_quiet = True
    before = reads[0]
    ledger.switch(key(1), None)  # from the harness (loud): read
    ledger.switch(key(3), None)  # quiet to quiet: not read
    ledger.switch(key(2), None)  # into a loud key: read
    counter.value += 10
    assert ledger.end_cycle() == {key(2): 10}
    # one read each into lines 1 and 2, none into 3; the end: the change, the
    # bookkeeping after it, the next cycle's start
    assert reads[0] - before == 5

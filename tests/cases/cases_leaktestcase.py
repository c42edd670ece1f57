"""LeakTestCase tests, run as written by the CLI."""

from __future__ import annotations

import leakharness

_HOARD: list[bytes] = []


def hoard() -> None:
    _HOARD.append(bytes(256))  # LEAK


def scratch() -> None:
    bytes(256)


class Written(leakharness.LeakTestCase):
    leak_max_cycles = 120

    def test_leaky_cycle(self) -> None:
        self.assertNoLeaks(hoard)

    def test_clean_cycle(self) -> None:
        self.assertNoLeaks(scratch)

    @leakharness.no_leaks
    def test_decorated_clean(self) -> None:
        scratch()

"""A memo cache keyed by request id: unbounded versus bounded.

A web handler renders a user's profile and caches the rendered page. The
leaky ``render_profile_leaky`` keys a plain dict by the request id, which is
new on every request: nothing is ever looked up twice and nothing is ever
evicted, so the dict keeps one page per request served.

``render_profile`` keeps the cache in an ``OrderedDict`` bounded to
``MAX_ENTRIES``: a hit moves the entry to the end, and an insert past the
bound evicts the least recently used entry from the front. Memory stops
growing once the cache is full. (``functools.lru_cache(maxsize=...)`` gives
the same bound for a pure function.)
"""

from __future__ import annotations

import itertools
import unittest
from collections import OrderedDict

MAX_ENTRIES = 64

_request_ids = itertools.count()
_pages: dict[tuple[int, str], str] = {}
_bounded_pages: OrderedDict[tuple[int, str], str] = OrderedDict()


def render(user: str) -> str:
    rows = "".join(f"<li>{user} item {n}</li>" for n in range(8))
    return f"<html><h1>{user}</h1><ul>{rows}</ul></html>"


def render_profile_leaky(request_id: int, user: str) -> str:
    key = (request_id, user)  # leak: request ids never repeat, and _pages never evicts
    if key not in _pages:
        _pages[key] = render(user)
    return _pages[key]


def render_profile(request_id: int, user: str) -> str:
    key = (request_id, user)
    if key in _bounded_pages:
        _bounded_pages.move_to_end(key)
        return _bounded_pages[key]
    page = _bounded_pages[key] = render(user)
    if len(_bounded_pages) > MAX_ENTRIES:
        _bounded_pages.popitem(last=False)  # evict the least recently used page
    return page


class CacheTest(unittest.TestCase):
    def test_leaky_unbounded_cache(self) -> None:
        page = render_profile_leaky(next(_request_ids), "ada")
        self.assertIn("<h1>ada</h1>", page)

    def test_fixed_bounded_cache(self) -> None:
        page = render_profile(next(_request_ids), "ada")
        self.assertIn("<h1>ada</h1>", page)
        self.assertLessEqual(len(_bounded_pages), MAX_ENTRIES)


if __name__ == "__main__":
    unittest.main()

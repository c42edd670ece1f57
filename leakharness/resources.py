"""The kinds of resource a leak can hold, with their units and noise floors."""

from __future__ import annotations

from enum import Enum


class Resource(Enum):
    """One watched resource. The value is its stable name in JSON and config."""

    HEAP = "heap"
    OBJECTS = "objects"
    RSS = "rss"
    NATIVE_HEAP = "native_heap"
    FDS = "fds"
    THREADS = "threads"
    NATIVE_THREADS = "native_threads"
    CHILDREN = "children"
    GARBAGE = "garbage"
    TASKS = "tasks"
    UNCLOSED = "unclosed"
    USS = "uss"
    CONNECTIONS = "connections"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def unit(self) -> str:
        return _UNITS[self]

    @property
    def floor(self) -> float:
        """Growth per cycle at or below which a series counts as flat."""
        return _FLOORS[self]

    @property
    def band(self) -> float:
        """Growth over any number of cycles that still counts as flat: the
        amplitude of the counter's own noise."""
        return _BANDS.get(self, 0.0)

    @property
    def leak_span(self) -> int:
        """Cycles of steady growth needed before a leak is settled early."""
        return _LEAK_SPANS.get(self, 0)

    @property
    def exact(self) -> bool:
        """A count of OS objects, free of allocator noise: a settled leak here
        decides the test without waiting for the memory probes."""
        return self in (
            Resource.FDS,
            Resource.THREADS,
            Resource.NATIVE_THREADS,
            Resource.CHILDREN,
            Resource.GARBAGE,
            Resource.TASKS,
            Resource.UNCLOSED,
            Resource.CONNECTIONS,
        )

    @property
    def in_process(self) -> bool:
        """Measured inside the test's own process. Unique memory and network
        connections are sampled only of a server watched from outside."""
        return self not in (Resource.USS, Resource.CONNECTIONS)

    @classmethod
    def parse(cls, name: str) -> Resource:
        try:
            return cls(name.strip().lower().replace("-", "_"))
        except ValueError:
            known = ", ".join(r.value for r in cls)
            raise ValueError(f"unknown resource {name!r} (known: {known})") from None


_LABELS = {
    Resource.HEAP: "Python heap",
    Resource.OBJECTS: "gc objects",
    Resource.RSS: "process memory (RSS)",
    Resource.NATIVE_HEAP: "native heap (malloc)",
    Resource.FDS: "file descriptors",
    Resource.THREADS: "Python threads",
    Resource.NATIVE_THREADS: "native threads",
    Resource.CHILDREN: "child processes",
    Resource.GARBAGE: "uncollectable garbage",
    Resource.TASKS: "asyncio tasks",
    Resource.UNCLOSED: "unclosed (ResourceWarning)",
    Resource.USS: "unique memory (USS)",
    Resource.CONNECTIONS: "network connections",
}

_UNITS = {
    Resource.HEAP: "blocks",
    Resource.OBJECTS: "objects",
    Resource.RSS: "bytes",
    Resource.NATIVE_HEAP: "bytes",
    Resource.FDS: "fds",
    Resource.THREADS: "threads",
    Resource.NATIVE_THREADS: "threads",
    Resource.CHILDREN: "processes",
    Resource.GARBAGE: "objects",
    Resource.TASKS: "tasks",
    Resource.UNCLOSED: "objects",
    Resource.USS: "bytes",
    Resource.CONNECTIONS: "connections",
}

# RSS moves in 4 KiB pages: a clean numpy frame cycle moves it by 0 to 3 pages
# at random, so growth within 3 pages is noise however few cycles it spans
# (the band), and slower creep than a quarter page per cycle is too (the
# floor). A page kept per cycle then shows as 10 pages per window of 10
# cycles, well clear of both; at a floor of one page it was judged clean.
# Python objects over 512 bytes come from malloc, so the native heap echoes
# container resizes: a hunted `with open` test grows it by 0 to 321 bytes per
# cycle for its first 160 cycles, then by 8.
_FLOORS = {
    Resource.HEAP: 0.0,
    Resource.OBJECTS: 0.0,
    Resource.RSS: 1024.0,
    Resource.NATIVE_HEAP: 128.0,
    Resource.FDS: 0.0,
    Resource.THREADS: 0.0,
    Resource.NATIVE_THREADS: 0.0,
    Resource.CHILDREN: 0.0,
    Resource.GARBAGE: 0.0,
    Resource.TASKS: 0.0,
    Resource.UNCLOSED: 0.0,
    Resource.USS: 1024.0,
    Resource.CONNECTIONS: 0.0,
}

_PAGE = 4096
_BANDS = {Resource.RSS: 3.0 * _PAGE, Resource.USS: 3.0 * _PAGE}  # USS moves in pages as RSS does

# Memory counters have bounded fills that outlast a short run (lru_cache's
# default maxsize is 128; an interpreter table filled by hash slot took 1,500
# cycles before the type cache was emptied between cycles). Steady growth
# settles a memory leak only after this many cycles.
_LEAK_SPANS = {
    Resource.HEAP: 200,
    Resource.OBJECTS: 200,
    Resource.RSS: 200,
    Resource.NATIVE_HEAP: 200,
    Resource.FDS: 60,
    Resource.THREADS: 60,
    Resource.NATIVE_THREADS: 60,
    Resource.CHILDREN: 60,
    Resource.GARBAGE: 60,
    Resource.CONNECTIONS: 60,
    Resource.USS: 200,
}

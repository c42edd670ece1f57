"""A server process and its children (pre-fork workers), sampled from outside with psutil.

Each sample sums every process of the tree: resident and unique memory,
descriptors, threads and inet connections, and counts the children. Unique
memory (USS) is what a pre-fork worker holds alone, pages shared with its
parent left out: a leak in a worker shows there while RSS also counts the
shared pages. It costs a read of the process's memory map (8 ms for a
Python process on Linux), once a round.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psutil

from leakharness.errors import LeakHarnessError
from leakharness.resources import Resource

Reading = Callable[[psutil.Process], int]

_READINGS: dict[Resource, Reading] = {
    Resource.RSS: lambda p: int(p.memory_info().rss),
    Resource.USS: lambda p: int(p.memory_full_info().uss),
    Resource.FDS: lambda p: int(p.num_fds()),
    Resource.NATIVE_THREADS: lambda p: int(p.num_threads()),
    Resource.CONNECTIONS: lambda p: len(p.net_connections(kind="inet")),
}
WATCHED = (*_READINGS, Resource.CHILDREN)
SETTLE_SECONDS = 0.5


class ProcessGone(LeakHarnessError):
    """The watched process ended."""


class ProcessTree:
    """The process ``pid`` and all its descendants, as they are at each sample."""

    def __init__(self, pid: int, resources: tuple[Resource, ...] = WATCHED) -> None:
        try:
            self.root = psutil.Process(pid)
            self.command = _shown(" ".join(self.root.cmdline()) or self.root.name())
        except psutil.NoSuchProcess:
            raise LeakHarnessError(f"--pid {pid}: no such process") from None
        except psutil.AccessDenied:
            raise LeakHarnessError(
                f"--pid {pid}: not allowed to read this process (another user's?)"
            ) from None
        self.notes: list[str] = []
        self.resources = tuple(r for r in resources if self._readable(r))
        self.latest: dict[Resource, int] = {}

    def _readable(self, resource: Resource) -> bool:
        if resource not in WATCHED:
            self.notes.append(f"{resource.label} not measured: it is not sampled of another process")
            return False
        if resource is Resource.CHILDREN:
            return True
        try:
            _READINGS[resource](self.root)
        except (psutil.AccessDenied, AttributeError, NotImplementedError) as err:
            self.notes.append(
                f"{resource.label} not measured: {type(err).__name__} reading pid {self.root.pid}"
            )
            return False
        except psutil.NoSuchProcess:
            raise ProcessGone(f"process {self.root.pid} ended") from None
        return True

    def processes(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            raise ProcessGone(f"process {self.root.pid} ({self.command}) ended") from None

    def settle(self) -> None:
        """Wait (at most ``SETTLE_SECONDS``) until the tree's descriptor count
        holds still: a server closes its side of a connection just after its
        client read the answer. Without this, a clean server's descriptors and
        connections read 1, 0, 1, 0 after rounds of 20 requests 4 at a time."""
        deadline = time.monotonic() + SETTLE_SECONDS
        last = self._descriptors()
        while time.monotonic() < deadline:
            time.sleep(0.01)
            now = self._descriptors()
            if now == last:
                return
            last = now

    def _descriptors(self) -> int:
        total = 0
        for process in self.processes():
            try:
                total += process.num_fds() if hasattr(process, "num_fds") else process.num_handles()  # type: ignore[attr-defined]
            except psutil.Error:
                continue
        return total

    def sample(self) -> dict[Resource, int]:
        """Totals over the tree now; a child that ends meanwhile is left out."""
        processes = self.processes()
        totals = dict.fromkeys(self.resources, 0)
        if Resource.CHILDREN in totals:
            totals[Resource.CHILDREN] = len(processes) - 1
        readings = [(r, _READINGS[r]) for r in self.resources if r in _READINGS]
        for process in processes:
            try:
                with process.oneshot():
                    for resource, read in readings:
                        totals[resource] += read(process)
            except psutil.NoSuchProcess:
                if process is self.root:
                    raise ProcessGone(f"process {self.root.pid} ({self.command}) ended") from None
            except psutil.AccessDenied:
                continue  # a child run as another user: its parent's totals still count
        self.latest = totals
        return totals


def _shown(command: str, limit: int = 100) -> str:
    """A command line on one line, cut to ``limit`` characters."""
    flat = " ".join(command.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class TreeProbe:
    """One resource of the tree's latest sample, as the verdict's samples read it."""

    def __init__(self, tree: ProcessTree, resource: Resource) -> None:
        self.tree = tree
        self.resource = resource

    def sample(self) -> int:
        return self.tree.latest[self.resource]

"""Diagnosis, only for what is suspicious: who holds leaked objects, where
leaked threads started, what leaked descriptors are, which children linger.

``Watch`` brackets the locate cycles: it notes the threads, descriptors and
children that exist before, records where threads are started and where
descriptors appear, and describes what is new while tracing is still on (so
the line that opened a descriptor is known). Holders are looked for
afterwards, once the heap is thawed: objects frozen by ``gc.freeze()`` are
invisible to ``gc.get_referrers``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Hashable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import TracebackType
from typing import Generic

from leakharness.diagnose.children import ChildInfo, child_pids, children
from leakharness.diagnose.fd_births import FdBirths
from leakharness.diagnose.fds import FdInfo, FdKind, describe_fds, fd_creation_sites, open_fds
from leakharness.diagnose.findings import Findings, T
from leakharness.diagnose.holder_steps import Holder
from leakharness.diagnose.holders import MAX_DEPTH, find_holder, holder_picture
from leakharness.diagnose.locate import TypeGrowth
from leakharness.diagnose.native import LineUsage, line_memory_profile
from leakharness.diagnose.tasks import TaskInfo, TaskOrigins
from leakharness.diagnose.threads import ThreadInfo, ThreadOrigins, leaked_threads, thread_idents
from leakharness.frames import Frame, Site
from leakharness.measure.async_cycle import LoopCycle
from leakharness.measure.unclosed import Unclosed, UnclosedWarnings
from leakharness.resources import Resource

CANDIDATE_TYPES = 3  # holders are looked for for this many growing types; the shortest chain is kept


@dataclass(frozen=True)
class Group(Generic[T]):
    """Leaked things that look alike (same target and stack, same file and
    opening line, same command), counted, with one example."""

    count: int
    example: T

    def to_dict(self) -> dict[str, object]:
        return {"count": self.count, "example": self.example.to_dict()}


def group(
    items: Iterable[T], key: Callable[[T], Hashable], richer: Callable[[T], int] = lambda item: 0
) -> tuple[Group[T], ...]:
    """Groups of alike ``items``, largest first; each group's example is its
    ``richer`` member (a descriptor opened while tracing knows its line)."""
    members: dict[Hashable, list[T]] = {}
    for item in items:
        members.setdefault(key(item), []).append(item)
    groups = [Group(len(alike), max(alike, key=richer)) for alike in members.values()]
    return tuple(sorted(groups, key=lambda g: -g.count))


@dataclass(frozen=True)
class Diagnosis:
    """What the report says about the cause, beyond the growing lines.
    ``holder_graph`` is a PNG of the first holder chain, drawn only when asked
    (it is left out of ``to_dict``)."""

    holders: tuple[Holder, ...] = ()
    threads: tuple[Group[ThreadInfo], ...] = ()
    fds: tuple[Group[FdInfo], ...] = ()
    children: tuple[Group[ChildInfo], ...] = ()
    tasks: tuple[Group[TaskInfo], ...] = ()
    unclosed: tuple[Group[Unclosed], ...] = ()
    memory_lines: tuple[LineUsage, ...] = ()
    notes: tuple[str, ...] = field(default=())
    holder_graph: bytes | None = field(default=None, repr=False)

    @property
    def sockets(self) -> bool:
        return any(g.example.kind is FdKind.SOCKET for g in self.fds)

    def to_dict(self) -> dict[str, object]:
        return {
            "holders": [h.to_dict() for h in self.holders],
            "threads": [g.to_dict() for g in self.threads],
            "fds": [g.to_dict() for g in self.fds],
            "children": [g.to_dict() for g in self.children],
            "tasks": [g.to_dict() for g in self.tasks],
            "unclosed": [g.to_dict() for g in self.unclosed],
            "memory_lines": [m.to_dict() for m in self.memory_lines],
            "notes": list(self.notes),
        }


def _start_line(frames: tuple[Frame, ...]) -> tuple[str, int] | None:
    """The line that started a thread, for grouping alike ones."""
    return (frames[0].file, frames[0].line) if frames else None


class Watch:
    """Watches threads, descriptors, children, the asyncio tasks of
    ``cycle``'s loop and the objects left unclosed around the locate cycles."""

    def __init__(
        self, resources: Iterable[Resource], cycle: LoopCycle | None = None, probes: Iterable[object] = ()
    ) -> None:
        wanted = set(resources)
        loop = cycle.loop if cycle is not None and wanted & {Resource.TASKS, Resource.UNCLOSED} else None
        self._tasks = (
            TaskOrigins(loop, debug=Resource.UNCLOSED in wanted)
            if loop is not None and not loop.is_closed()
            else None
        )
        warned = [p for p in probes if isinstance(p, UnclosedWarnings)] if Resource.UNCLOSED in wanted else []
        self._unclosed = warned[0].recording() if warned else None
        self.unclosed: list[Unclosed] = []
        self._threads = bool(wanted & {Resource.THREADS, Resource.NATIVE_THREADS})
        self._fds = Resource.FDS in wanted
        self._children = Resource.CHILDREN in wanted
        self._origins = ThreadOrigins()
        self._births = FdBirths()
        self._fd_sites: dict[int, Site] | None = None
        self._before: tuple[set[int], set[int], set[int]] = (set(), set(), set())
        self._started = ExitStack()
        self.threads: Findings[ThreadInfo] = Findings()
        self.fds: Findings[FdInfo] = Findings()
        self.children: Findings[ChildInfo] = Findings()
        self.tasks: Findings[TaskInfo] = Findings()

    def __enter__(self) -> Watch:
        self._before = (
            thread_idents() if self._threads else set(),
            open_fds() if self._fds else set(),
            child_pids() if self._children else set(),
        )
        with ExitStack() as stack:  # a watcher that fails to start undoes the ones started
            if self._threads:
                stack.enter_context(self._origins)
            if self._tasks is not None:
                stack.enter_context(self._tasks)
            if self._unclosed is not None:
                self.unclosed = stack.enter_context(self._unclosed)
            if self._fds:
                stack.enter_context(self._births)
            self._started = stack.pop_all()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._started.__exit__(kind, error, traceback)
        if error is not None:
            return
        if self._tasks is not None:
            self.tasks = self._tasks.leaked_tasks()
        threads, fds, pids = self._before
        if self._threads:
            self.threads = leaked_threads(threads, self._origins)
        if self._fds:  # where each new one was made needs tracing; describing them, not
            self._fd_sites = {**self._births.sites, **fd_creation_sites(open_fds() - fds)}
        if self._children:
            self.children = children(pids)

    def describe(self) -> None:
        """Describe the new descriptors, once tracing has stopped: a leaked
        socket pair's took 6.8 ms under tracing, 0.6 ms after (psutil's reads
        of the process's files and sockets, measured)."""
        if self._fds and self._fd_sites is not None:
            found = describe_fds(self._before[1], self._fd_sites)
            births = (self._births.note,) if self._births.note else ()
            self.fds = Findings(found.items, found.notes + births)
            self._fd_sites = None


def diagnose(
    watch: Watch | None,
    types: tuple[TypeGrowth, ...],
    samples: dict[str, list[object]],
    profile: Callable[[], object] | None = None,
    graph: bool = False,
) -> Diagnosis:
    """Put together what ``watch`` saw, what holds the leaked ``samples`` of
    the growing ``types`` (with ``graph``, drawn while they are alive), and,
    when asked, a line-by-line memory profile of ``profile``."""
    notes: list[str] = []
    holders, held = _holder(types, samples)
    notes += holders.notes
    picture = holder_picture(held) if graph and held is not None else None
    if graph and held is not None and picture is None:
        notes.append("graphviz's dot is not installed or failed: no picture of the holder chain")
    memory: Findings[LineUsage] = line_memory_profile(profile) if profile else Findings()
    notes += memory.notes
    if watch is None:
        return Diagnosis(tuple(holders), memory_lines=tuple(memory), notes=tuple(notes), holder_graph=picture)
    notes += [*watch.threads.notes, *watch.fds.notes, *watch.children.notes, *watch.tasks.notes]
    return Diagnosis(
        holder_graph=picture,
        holders=tuple(holders),
        threads=group(watch.threads, lambda t: (t.target, _start_line(t.start_stack))),
        fds=group(watch.fds, lambda f: (f.kind, f.description), lambda f: len(f.created)),
        children=group(watch.children, lambda c: (c.status, c.cmdline)),
        unclosed=group(watch.unclosed, lambda u: (u.kind, _start_line(u.created))),
        tasks=group(watch.tasks, lambda t: (t.coroutine, _start_line(t.created)), lambda t: len(t.created)),
        memory_lines=tuple(memory),
        notes=tuple(notes),
    )


def _holder(
    types: tuple[TypeGrowth, ...], samples: dict[str, list[object]]
) -> tuple[Findings[Holder], object | None]:
    """The best holder chain among the top growing types (``Holder.rank``):
    rooted in the project, through the fewest library objects, then the
    shortest, since the outermost leaked object sits nearest its root (a
    leaked sqlite3 Connection is one step closer to the module list that keeps
    it than the statement cache inside it). Each search starts from an
    instance made during the census cycles and still alive, so certainly a
    leaked one; it is returned too."""
    candidates = _candidate_types(types)
    if not candidates:  # nothing to search from: a thread or descriptor leak alone
        return Findings(), None
    best: Holder | None = None
    held: object | None = None
    gc.collect()  # garbage refers to live objects too, and leads nowhere
    for name in candidates:
        depth = MAX_DEPTH
        if best is not None and best.rank[:2] == (False, 0):  # only a shorter chain can win
            depth = len(best.steps) - 2
        if depth < 2:  # root → holder → object: nothing but a global is shorter
            break
        sample = samples.get(name, [])[-1:]
        holder = find_holder(sample, max_depth=depth, besides=[samples, *samples.values()])
        if holder is not None and (best is None or holder.rank < best.rank):
            best, held = holder, sample[0]
    if best is None:
        return Findings(notes=(f"no holder of the growing types found within {MAX_DEPTH} references",)), None
    return Findings((best,)), held


def _candidate_types(types: tuple[TypeGrowth, ...]) -> list[str]:
    """Growing types worth a holder search, most telling first: weak references
    never keep anything alive, and the newest instance of a builtin type (a
    dict, a method, a cell) is as often the interpreter's as the leak's, so
    builtins come only when nothing else grows."""
    telling = [t.name for t in types if not t.name.startswith(("builtins.", "weakref."))]
    return telling[:CANDIDATE_TYPES] if telling else [t.name for t in types[:1]]

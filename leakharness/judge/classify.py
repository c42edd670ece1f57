"""What kind of leak a test has, and how severe it is, from its resources' verdicts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from leakharness.resources import Resource


class Kind(Enum):
    """The kind of a leak, named after what runs out."""

    MEMORY = "memory"
    NATIVE_MEMORY = "native memory"
    FILE_DESCRIPTOR = "file descriptor"
    SOCKET = "socket/connection"
    THREAD = "thread"
    PROCESS = "process"
    TASK = "asyncio task"
    UNCLOSED = "unclosed resource"


class Severity(Enum):
    """How soon a leak hurts a long-running process."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


# Operating-system handles run out at a hard limit (1,024 descriptors is a
# common default), so one or more per cycle is critical; memory is graded by
# bytes per cycle: a 64 KiB leak at 100 cycles a second is 22 GiB an hour.
HIGH_BYTES_PER_CYCLE = 64 * 1024
MEDIUM_BYTES_PER_CYCLE = 1024
OS_HANDLES = {
    Resource.FDS,
    Resource.THREADS,
    Resource.NATIVE_THREADS,
    Resource.CHILDREN,
    Resource.CONNECTIONS,
}
HANDLE_KINDS = {
    Resource.FDS: Kind.FILE_DESCRIPTOR,
    Resource.CONNECTIONS: Kind.SOCKET,
    Resource.THREADS: Kind.THREAD,
    Resource.NATIVE_THREADS: Kind.THREAD,
    Resource.CHILDREN: Kind.PROCESS,
}
# A pending task keeps its coroutine's frames and whatever they hold, and runs
# again on every wake-up; an object only the collector closes holds its
# descriptors until a collection that may come late.
COUNTED = {Resource.TASKS: (Kind.TASK, Severity.HIGH), Resource.UNCLOSED: (Kind.UNCLOSED, Severity.MEDIUM)}


class Leaked(Protocol):
    """One leaking resource, as classification needs it (a ResourceResult)."""

    @property
    def resource(self) -> Resource: ...

    @property
    def growth_per_cycle(self) -> float: ...


@dataclass(frozen=True)
class Classification:
    """The kinds of a test's leaks and the worst severity among them."""

    kinds: tuple[Kind, ...] = ()
    severity: Severity | None = None

    def describe(self) -> str:
        if not self.kinds or self.severity is None:
            return ""
        return f"{', '.join(k.value for k in self.kinds)} leak, {self.severity.name.lower()}"

    def to_dict(self) -> dict[str, object]:
        return {
            "kinds": [k.value for k in self.kinds],
            "severity": self.severity.name.lower() if self.severity else None,
        }


def classify(
    leaks: Iterable[Leaked], *, native: bool = False, sockets: bool = False, traced_bytes: float = 0.0
) -> Classification:
    """Kinds and severity of a test's leaks.

    ``native``: process memory grows far beyond what tracemalloc traced;
    ``sockets``: the leaked descriptors include sockets; ``traced_bytes``:
    traced Python memory kept per cycle.
    """
    leaks = list(leaks)
    kinds: list[Kind] = []
    severity: Severity | None = None
    for leak in leaks:
        if leak.resource in OS_HANDLES:
            kind = HANDLE_KINDS[leak.resource]
            kinds.append(Kind.SOCKET if kind is Kind.FILE_DESCRIPTOR and sockets else kind)
            severity = _worst(severity, Severity.CRITICAL if leak.growth_per_cycle >= 1 else Severity.HIGH)
        if leak.resource in COUNTED:
            kind, grade = COUNTED[leak.resource]
            kinds.append(kind)
            severity = _worst(severity, grade)
    memory = [
        leak
        for leak in leaks
        if leak.resource not in OS_HANDLES
        and leak.resource not in COUNTED
        and leak.resource is not Resource.GARBAGE
    ]
    if memory:
        kinds.append(Kind.NATIVE_MEMORY if native else Kind.MEMORY)
        severity = _worst(severity, _memory_severity(memory, traced_bytes))
    if any(leak.resource is Resource.GARBAGE for leak in leaks):
        kinds.append(Kind.MEMORY)
        severity = _worst(severity, Severity.MEDIUM)
    return Classification(tuple(dict.fromkeys(kinds)), severity)


def _memory_severity(memory: list[Leaked], traced_bytes: float) -> Severity:
    byte_rates = [leak.growth_per_cycle for leak in memory if leak.resource.unit == "bytes"]
    rate = max([traced_bytes, *byte_rates])
    if rate >= HIGH_BYTES_PER_CYCLE:
        return Severity.HIGH
    if rate >= MEDIUM_BYTES_PER_CYCLE:
        return Severity.MEDIUM
    return Severity.LOW


def _worst(current: Severity | None, new: Severity) -> Severity:
    return new if current is None or new.value > current.value else current

"""Leaked child processes and zombies, with their command lines."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import psutil

from leakharness.diagnose.findings import PSUTIL_ERRORS, Findings


class ChildStatus(Enum):
    ALIVE = "alive"
    ZOMBIE = "zombie"


@dataclass(frozen=True)
class ChildInfo:
    """A child process (at any depth) that was not there before."""

    pid: int
    status: ChildStatus
    cmdline: tuple[str, ...]

    @property
    def command(self) -> str:
        return " ".join(self.cmdline)

    def __repr__(self) -> str:
        return f"<ChildInfo {self.pid} {self.status.value} {self.command!r}>"

    def to_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "status": self.status.value, "cmdline": list(self.cmdline)}


def child_pids() -> set[int]:
    """Pids of this process's children at any depth; empty where unknown."""
    try:
        return {child.pid for child in psutil.Process().children(recursive=True)}
    except PSUTIL_ERRORS:
        return set()


def children(before: set[int]) -> Findings[ChildInfo]:
    """Children alive or unreaped (zombie) now whose pid is not in ``before``."""
    try:
        found = psutil.Process().children(recursive=True)
    except PSUTIL_ERRORS as err:
        return Findings(notes=(f"child processes not available here ({err.__class__.__name__})",))
    infos = (_child(process) for process in found if process.pid not in before)
    return Findings(tuple(info for info in infos if info is not None))


def _child(process: psutil.Process) -> ChildInfo | None:
    try:
        status: str = process.status()
    except psutil.NoSuchProcess:
        return None  # exited and reaped since it was listed
    except PSUTIL_ERRORS:
        status = ""
    try:
        cmdline = tuple(process.cmdline())
    except psutil.ZombieProcess:
        cmdline = ()
    except psutil.NoSuchProcess:
        return None
    except PSUTIL_ERRORS:
        cmdline = ()
    zombie = status == psutil.STATUS_ZOMBIE
    return ChildInfo(process.pid, ChildStatus.ZOMBIE if zombie else ChildStatus.ALIVE, cmdline)

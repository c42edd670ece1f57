"""Where leaked threads, file descriptors and child processes come from.

Each scan takes what existed before (thread idents, fd numbers, child pids),
lists what is new now, and returns ``Findings``: the items, and a note for
whatever this platform could not tell. Scans never raise for lack of data.
Identifiers are compared by number, so an old one reused by a new thread, fd
or process is not listed.
"""

from __future__ import annotations

import functools
import gc
import io
import os
import socket
import stat
import sys
import threading
import tracemalloc
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from types import FrameType, MethodType, TracebackType
from typing import Any, Generic, Protocol, TypeVar

import psutil

from leakharness.frames import Origin, origin
from leakharness.locate import Frame

STACK_DEPTH = 8
_PSUTIL_ERRORS = (psutil.Error, NotImplementedError, AttributeError, OSError)


class _Reportable(Protocol):
    def to_dict(self) -> dict[str, object]: ...


T = TypeVar("T", bound=_Reportable)


@dataclass(frozen=True)
class Findings(Generic[T]):
    """What a scan found, and notes on what it could not look at."""

    items: tuple[T, ...] = ()
    notes: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]

    def __repr__(self) -> str:
        notes = f" notes={list(self.notes)}" if self.notes else ""
        return f"<Findings {list(self.items)}{notes}>"

    def to_dict(self) -> dict[str, object]:
        return {"items": [item.to_dict() for item in self.items], "notes": list(self.notes)}


def _frames_to_dict(frames: tuple[Frame, ...]) -> list[dict[str, object]]:
    return [frame.to_dict() for frame in frames]


# Threads ------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadInfo:
    """A thread alive now that was not before."""

    name: str
    ident: int
    daemon: bool
    target: str | None
    start_stack: tuple[Frame, ...] = ()

    def __repr__(self) -> str:
        where = (
            f" started at {self.start_stack[0].file}:{self.start_stack[0].line}" if self.start_stack else ""
        )
        daemon = " daemon" if self.daemon else ""
        return f"<ThreadInfo {self.name!r}{daemon} target={self.target}{where}>"

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ident": self.ident,
            "daemon": self.daemon,
            "target": self.target,
            "start_stack": _frames_to_dict(self.start_stack),
        }


class ThreadOrigins:
    """While active, remember the stack of every ``threading.Thread.start()``.

    The method is patched on the class, so subclasses and ``super().start()``
    are caught too; the original is put back on exit. Activations must nest.
    """

    def __init__(self, depth: int = STACK_DEPTH) -> None:
        self.depth = depth
        self._stacks: weakref.WeakKeyDictionary[threading.Thread, tuple[Frame, ...]] = (
            weakref.WeakKeyDictionary()
        )
        self._original: Callable[[threading.Thread], None] | None = None

    def __enter__(self) -> ThreadOrigins:
        original = threading.Thread.start
        stacks, depth = self._stacks, self.depth

        @functools.wraps(original)
        def start(thread: threading.Thread) -> None:
            stack = _caller_stack(sys._getframe(1), depth)
            original(thread)
            stacks[thread] = stack

        self._original = original
        threading.Thread.start = start  # type: ignore[method-assign, assignment]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._original is not None:
            threading.Thread.start = self._original  # type: ignore[method-assign, assignment]
            self._original = None

    def stack(self, thread: threading.Thread) -> tuple[Frame, ...]:
        """Where ``thread`` was started, innermost first; () if not seen."""
        return self._stacks.get(thread, ())

    def leaked_threads(self, before: set[int]) -> Findings[ThreadInfo]:
        return leaked_threads(before, self)


def thread_idents() -> set[int]:
    """Idents of the threads alive now."""
    return {thread.ident for thread in threading.enumerate() if thread.ident is not None}


def leaked_threads(before: set[int], origins: ThreadOrigins | None = None) -> Findings[ThreadInfo]:
    """Threads alive now whose ident is not in ``before``. Only threads that
    Python knows: a thread a C library starts and never enters Python is missed."""
    found = []
    for thread in threading.enumerate():
        if thread.ident is None or thread.ident in before:
            continue
        found.append(
            ThreadInfo(
                name=thread.name,
                ident=thread.ident,
                daemon=thread.daemon,
                target=_target_name(thread),
                start_stack=origins.stack(thread) if origins else (),
            )
        )
    return Findings(tuple(found))


def _caller_stack(frame: FrameType | None, depth: int) -> tuple[Frame, ...]:
    frames: list[Frame] = []
    while frame is not None and len(frames) < depth:
        file = frame.f_code.co_filename
        if file != threading.__file__ and origin(file) is not Origin.HARNESS:
            frames.append(Frame(file, frame.f_lineno))
        frame = frame.f_back
    return tuple(frames)


def _target_name(thread: threading.Thread) -> str | None:
    """The callable the thread runs: ``Thread._target`` (removed once run()
    returns), or an overridden ``run``."""
    target = getattr(thread, "_target", None)
    if target is not None:
        return qualified_name(target)
    run = type(thread).run
    return qualified_name(run) if run is not threading.Thread.run else None


def qualified_name(func: object) -> str:
    """``module.qualname`` of a callable, through partials and bound methods."""
    while isinstance(func, (functools.partial, MethodType)):
        func = func.func if isinstance(func, functools.partial) else func.__func__
    qualname = getattr(func, "__qualname__", None)
    if not isinstance(qualname, str):
        qualname = f"{type(func).__qualname__} instance"
        func = type(func)
    module = getattr(func, "__module__", None)
    return f"{module}.{qualname}" if module else qualname


# File descriptors ---------------------------------------------------------


class FdKind(Enum):
    FILE = "file"
    SOCKET = "socket"
    PIPE = "pipe"
    OTHER = "other"


@dataclass(frozen=True)
class FdInfo:
    """A file descriptor open now that was not before."""

    fd: int
    kind: FdKind
    description: str
    created: tuple[Frame, ...] = ()

    def __repr__(self) -> str:
        where = f" created at {self.created[0].file}:{self.created[0].line}" if self.created else ""
        return f"<FdInfo {self.fd} {self.kind.value} {self.description!r}{where}>"

    def to_dict(self) -> dict[str, object]:
        return {
            "fd": self.fd,
            "kind": self.kind.value,
            "description": self.description,
            "created": _frames_to_dict(self.created),
        }


_FD_DIRS = ("/proc/self/fd", "/dev/fd")


def open_fds() -> set[int]:
    """The fd numbers open now; empty where they cannot be listed."""
    return _list_fds()[0]


def _list_fds() -> tuple[set[int], str | None]:
    for directory in _FD_DIRS:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        # listdir's own fd is listed and already closed: fstat drops it.
        return {int(name) for name in names if name.isdigit() and _is_open(int(name))}, None
    return set(), "open file descriptors cannot be listed on this platform"


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def describe_fds(before: set[int]) -> Findings[FdInfo]:
    """The fds open now and not in ``before``, with what each one is and, when
    tracemalloc is tracing, where its file or socket object was created."""
    fds, note = _list_fds()
    new = sorted(fds - before)
    notes = [note] if note else []
    process = _Process()
    sites = fd_creation_sites(set(new))
    infos = [_describe(fd, process, sites.get(fd, ())) for fd in new]
    notes.extend(process.notes)
    return Findings(tuple(info for info in infos if info is not None), tuple(notes))


class _Process:
    """psutil's view of this process's files and sockets, read once if needed."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self._files: dict[int, str] | None = None
        self._sockets: dict[int, Any] | None = None

    def path(self, fd: int) -> str:
        if self._files is None:
            self._files = self._read("open files", lambda p: {f.fd: f.path for f in p.open_files()})
        return self._files.get(fd, "")

    def socket(self, fd: int) -> Any:
        if self._sockets is None:
            # No note when this fails: _probe_socket reads the same through a duplicate fd.
            self._sockets = self._read(None, lambda p: {c.fd: c for c in p.net_connections(kind="all")})
        return self._sockets.get(fd)

    def _read(self, what: str | None, read: Callable[[psutil.Process], dict[int, Any]]) -> dict[int, Any]:
        try:
            return read(psutil.Process())
        except _PSUTIL_ERRORS as err:
            if what:
                self.notes.append(f"{what} not available here ({err.__class__.__name__})")
            return {}


def _describe(fd: int, process: _Process, created: tuple[Frame, ...]) -> FdInfo | None:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return None  # closed since it was listed
    link = _link(fd)
    if stat.S_ISSOCK(mode):
        return FdInfo(fd, FdKind.SOCKET, _socket_description(fd, process), created)
    if stat.S_ISFIFO(mode):
        return FdInfo(fd, FdKind.PIPE, link if link.startswith("/") else "pipe", created)
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        path = link if link.startswith("/") else process.path(fd)
        return FdInfo(fd, FdKind.FILE, path, created)
    return FdInfo(fd, FdKind.OTHER, link, created)


def _link(fd: int) -> str:
    """What /proc says the fd is: a path, socket:[inode], pipe:[inode], anon_inode:[...]."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def _socket_description(fd: int, process: _Process) -> str:
    connection = process.socket(fd)
    if connection is not None:
        family, kind = connection.family, connection.type
        local, remote, status = connection.laddr, connection.raddr, connection.status
    else:
        probed = _probe_socket(fd)
        if probed is None:
            return "socket"
        family, kind, local, remote = probed
        status = ""
    return _socket_text(family, kind, local, remote, status)


def _probe_socket(fd: int) -> tuple[Any, Any, Any, Any] | None:
    """Family, type and addresses read through a duplicate of ``fd``; closing
    the duplicate leaves the original socket open."""
    try:
        duplicate = os.dup(fd)
    except OSError:
        return None
    try:
        probe = socket.socket(fileno=duplicate)
    except OSError:
        os.close(duplicate)
        return None
    with probe:
        return probe.family, probe.type, _address(probe.getsockname), _address(probe.getpeername)


def _address(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except OSError:
        return ""


def _socket_text(family: Any, kind: Any, local: Any, remote: Any, status: str) -> str:
    parts = [getattr(family, "name", str(family)), getattr(kind, "name", str(kind))]
    if local or remote:
        parts.append(f"{_format_address(local) or '?'} -> {_format_address(remote) or '?'}")
    elif getattr(family, "name", "") == "AF_UNIX":
        parts.append("(unnamed)")
    if status and status != psutil.CONN_NONE:
        parts.append(status)
    return " ".join(parts)


def _format_address(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    if isinstance(address, bytes):
        return address.decode(errors="replace")
    return str(address) if address else ""


def fd_creation_sites(fds: set[int]) -> dict[int, tuple[Frame, ...]]:
    """Where the file and socket objects owning ``fds`` were allocated,
    innermost user frame first. Empty unless tracemalloc is tracing; a raw
    ``os.pipe()`` or ``os.open()`` fd has no owning object and no site."""
    if not fds or not tracemalloc.is_tracing():
        return {}
    sites: dict[int, tuple[Frame, ...]] = {}
    for obj in gc.get_objects():
        if not isinstance(obj, (io.FileIO, socket.socket)):
            continue
        fd = _fileno(obj)
        if fd in fds and fd not in sites:
            traceback = tracemalloc.get_object_traceback(obj)
            if traceback is not None:
                sites[fd] = _user_frames(traceback)
    return sites


def _fileno(obj: io.FileIO | socket.socket) -> int:
    try:
        return obj.fileno()
    except (OSError, ValueError):
        return -1


def _user_frames(traceback: tracemalloc.Traceback) -> tuple[Frame, ...]:
    """Innermost first, from the first user frame (socket.py's own frames
    dropped) to the first harness frame."""
    frames = [Frame(f.filename, f.lineno) for f in reversed(traceback)]
    kinds = [origin(frame.file) for frame in frames]
    start = kinds.index(Origin.USER) if Origin.USER in kinds else 0
    end = kinds.index(Origin.HARNESS, start) if Origin.HARNESS in kinds[start:] else len(frames)
    return tuple(frames[start:end][:STACK_DEPTH])


class OpenOrigins:
    """While active, allocations are traced so that ``sites`` can tell where
    the file and socket objects behind new fds were created. A tracing already
    on is kept as it is; one started here stops on exit, dropping its traces."""

    def __init__(self, frames: int = 16) -> None:
        self.frames = frames
        self._started = False

    def __enter__(self) -> OpenOrigins:
        if not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
            self._started = True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._started:
            tracemalloc.stop()
            self._started = False

    def sites(self, fds: set[int]) -> dict[int, tuple[Frame, ...]]:
        return fd_creation_sites(fds)


# Child processes ----------------------------------------------------------


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
    except _PSUTIL_ERRORS:
        return set()


def children(before: set[int]) -> Findings[ChildInfo]:
    """Children alive or unreaped (zombie) now whose pid is not in ``before``."""
    try:
        found = psutil.Process().children(recursive=True)
    except _PSUTIL_ERRORS as err:
        return Findings(notes=(f"child processes not available here ({err.__class__.__name__})",))
    infos = (_child(process) for process in found if process.pid not in before)
    return Findings(tuple(info for info in infos if info is not None))


def _child(process: psutil.Process) -> ChildInfo | None:
    try:
        status: str = process.status()
    except psutil.NoSuchProcess:
        return None  # exited and reaped since it was listed
    except _PSUTIL_ERRORS:
        status = ""
    try:
        cmdline = tuple(process.cmdline())
    except psutil.ZombieProcess:
        cmdline = ()
    except psutil.NoSuchProcess:
        return None
    except _PSUTIL_ERRORS:
        cmdline = ()
    zombie = status == psutil.STATUS_ZOMBIE
    return ChildInfo(process.pid, ChildStatus.ZOMBIE if zombie else ChildStatus.ALIVE, cmdline)

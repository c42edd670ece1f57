"""Leaked file descriptors: what each is (file, socket, pipe) and the line that opened it.

Fd numbers are compared, so an old one reused is not listed. Scans never
raise for lack of data: they return a note instead.
"""

from __future__ import annotations

import gc
import io
import os
import socket
import stat
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import psutil

from leakharness.diagnose.findings import PSUTIL_ERRORS, STACK_DEPTH, Findings, frames_to_dict
from leakharness.frames import Frame, Site, traceback_site


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
    inside: Frame | None = None

    def __repr__(self) -> str:
        where = f" created at {self.created[0].file}:{self.created[0].line}" if self.created else ""
        return f"<FdInfo {self.fd} {self.kind.value} {self.description!r}{where}>"

    def to_dict(self) -> dict[str, object]:
        return {
            "fd": self.fd,
            "kind": self.kind.value,
            "description": self.description,
            "created": frames_to_dict(self.created),
            "inside": self.inside.to_dict() if self.inside else None,
        }


_FD_DIRS = ("/proc/self/fd", "/dev/fd")
UNLISTED = "open file descriptors cannot be listed on this platform"


def open_fds() -> set[int]:
    """The fd numbers open now; empty where they cannot be listed. Each is
    checked with ``fcntl(F_GETFD)``, which makes no object: an ``fstat``
    result took 19 µs to make under tracemalloc (0.8 µs untraced), for every
    descriptor a leaking test has left open."""
    return {fd for fd in listed_fds() if _is_open(fd)}


Identity = str | tuple[int, int]  # what an fd refers to: its /proc link, else device and inode


def fd_identities() -> dict[int, Identity]:
    """Each fd open now, with what it refers to: a number closed and opened
    again on another pipe, socket or file is told apart. Empty where fds
    cannot be listed."""
    directory, names = _fd_names()
    # listdir's own fd is listed and already closed: its identity is None.
    found = {int(name): _identity(directory, name) for name in names}
    return {fd: identity for fd, identity in found.items() if identity is not None}


def listed_fds() -> set[int]:
    """The fd numbers one directory read lists, without checking each: the
    read's own descriptor is among them."""
    return {int(name) for name in _fd_names()[1]}


def _fd_names() -> tuple[str, list[str]]:
    """The first fd directory that can be read, and the fd numbers it lists
    (none where neither can be read)."""
    for directory in _FD_DIRS:
        try:
            return directory, [name for name in os.listdir(directory) if name.isdigit()]
        except OSError:
            continue
    return "", []


def _is_open(fd: int) -> bool:
    """Still open: the read that listed the numbers has closed its own."""
    try:
        os.get_inheritable(fd)  # fcntl(F_GETFD): no look at the file itself
    except OSError:
        return False
    return True


def _identity(directory: str, name: str) -> Identity | None:
    """Where ``/proc`` lists fds, the target of the fd's link ("socket:[81]",
    "pipe:[92]", a file's path): one string, where an ``fstat`` result makes
    some twenty objects. Under tracemalloc, 25 frames deep, a look at 86 fds
    took 0.9 ms that way, 4.1 ms with fstat (measured). Elsewhere, device and inode."""
    try:
        if directory.startswith("/proc/"):
            return os.readlink(f"{directory}/{name}")
        status = os.fstat(int(name))
    except OSError:
        return None
    return status.st_dev, status.st_ino


def describe_fds(before: set[int], appeared: dict[int, Site] | None = None) -> Findings[FdInfo]:
    """The fds open now and not in ``before``, with what each one is and
    where it came from: the site ``appeared`` gives (where it was created,
    or the line running when it appeared), else, when tracemalloc is
    tracing, where its file or socket object was created."""
    now = open_fds()
    new = sorted(now - before)
    notes = [] if now else [UNLISTED]
    process = _Process()
    given = appeared or {}
    sites = {**given, **fd_creation_sites(set(new) - given.keys())}
    infos = [_describe(fd, process, sites.get(fd)) for fd in new]
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
        except PSUTIL_ERRORS as err:
            if what:
                self.notes.append(f"{what} not available here ({err.__class__.__name__})")
            return {}


def _describe(fd: int, process: _Process, site: Site | None) -> FdInfo | None:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return None  # closed since it was listed
    link = _link(fd)
    if stat.S_ISSOCK(mode):
        kind, description = FdKind.SOCKET, _socket_description(fd, process)
    elif stat.S_ISFIFO(mode):
        kind, description = FdKind.PIPE, link if link.startswith("/") else "pipe"
    elif stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind, description = FdKind.FILE, link if link.startswith("/") else process.path(fd)
    else:
        kind, description = FdKind.OTHER, link
    if site is None:
        return FdInfo(fd, kind, description)
    return FdInfo(fd, kind, description, site.stack(STACK_DEPTH), site.inside())


def _link(fd: int) -> str:
    """What /proc says the fd is: a path, socket:[inode], pipe:[inode], anon_inode:[...]."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def _socket_description(fd: int, process: _Process) -> str:
    """Family, type and addresses through a duplicate fd; for internet sockets
    also the state (LISTEN, ESTABLISHED) from psutil, whose scan of every
    connection on the machine costs about 60 ms, so Unix sockets skip it."""
    probed = _probe_socket(fd)
    if probed is not None and getattr(probed[0], "name", "") not in ("AF_INET", "AF_INET6"):
        return _socket_text(*probed, "")
    connection = process.socket(fd)
    if connection is not None:
        family, kind = connection.family, connection.type
        return _socket_text(family, kind, connection.laddr, connection.raddr, connection.status)
    return _socket_text(*probed, "") if probed is not None else "socket"


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


def fd_creation_sites(fds: set[int]) -> dict[int, Site]:
    """Where the file and socket objects owning ``fds`` were allocated. Empty
    unless tracemalloc is tracing; a raw ``os.pipe()`` or ``os.open()`` fd
    has no owning object and no site here."""
    if not fds or not tracemalloc.is_tracing():
        return {}
    sites: dict[int, Site] = {}
    for obj in gc.get_objects():
        if not isinstance(obj, (io.FileIO, socket.socket)):
            continue
        fd = _fileno(obj)
        if fd in fds and fd not in sites:
            traceback = tracemalloc.get_object_traceback(obj)
            site = traceback_site(traceback) if traceback else None
            if site is not None:
                sites[fd] = site
    return sites


def _fileno(obj: io.FileIO | socket.socket) -> int:
    try:
        return obj.fileno()
    except (OSError, ValueError):
        return -1

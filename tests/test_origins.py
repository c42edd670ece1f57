"""Where leaked threads, file descriptors and child processes come from."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import socket
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from leakharness.diagnose import fds as fd_origins
from leakharness.diagnose.children import ChildInfo, ChildStatus, child_pids, children
from leakharness.diagnose.fds import FdKind, describe_fds, fd_creation_sites, open_fds
from leakharness.diagnose.findings import Findings
from leakharness.diagnose.threads import ThreadOrigins, leaked_threads, thread_idents
from leakharness.frames import Origin

posix_only = pytest.mark.skipif(os.name != "posix", reason="file descriptors are POSIX")


def marked_line(mark: str) -> int:
    lines = Path(__file__).read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if text.rstrip().endswith(f"# {mark}"))


def idle(stop: threading.Event) -> None:
    stop.wait()


class Poller(threading.Thread):
    def __init__(self, stop: threading.Event) -> None:
        super().__init__(name="poller", daemon=True)
        self.halt = stop

    def run(self) -> None:
        self.halt.wait()


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()
    for thread in threading.enumerate():
        if thread.name in {"leaky", "poller", "partial"}:
            thread.join()


# Threads ------------------------------------------------------------------


def test_a_started_thread_is_listed_with_where_it_was_started(stop: threading.Event) -> None:
    before = thread_idents()
    original = threading.Thread.start
    with ThreadOrigins() as watching:
        assert threading.Thread.start is not original
        threading.Thread(target=idle, args=(stop,), name="leaky", daemon=True).start()  # START
    assert threading.Thread.start is original
    found = leaked_threads(before, watching)
    assert [(t.name, t.daemon, t.target) for t in found] == [("leaky", True, f"{__name__}.idle")]
    first = found[0].start_stack[0]
    assert (Path(first.file).name, first.line) == (Path(__file__).name, marked_line("START"))
    assert first.source.startswith("threading.Thread(target=idle")
    assert first.origin is Origin.PROJECT
    assert all(f.origin is not Origin.HARNESS for f in found[0].start_stack)
    assert found[0].inside is None  # started from the test's own line, not from a library


def test_a_queue_feeder_thread_is_charged_to_the_line_that_put() -> None:
    import multiprocessing

    before = thread_idents()
    queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    try:
        with ThreadOrigins() as watching:
            queue.put(1)  # PUT
        found = [t for t in leaked_threads(before, watching) if t.name == "QueueFeederThread"]
    finally:
        queue.close()
        queue.join_thread()
    assert len(found) == 1
    first, inside = found[0].start_stack[0], found[0].inside
    assert (first.file, first.line) == (__file__, marked_line("PUT"))
    assert inside is not None and inside.file == multiprocessing.queues.__file__
    assert inside.origin is Origin.STDLIB and found[0].to_dict()["inside"]["origin"] == "stdlib"


def test_a_joined_thread_is_not_listed(stop: threading.Event) -> None:
    before = thread_idents()
    with ThreadOrigins() as watching:
        worker = threading.Thread(target=idle, args=(stop,), name="leaky")
        worker.start()
    stop.set()
    worker.join()
    assert len(leaked_threads(before, watching)) == 0


def test_start_is_restored_when_the_block_raises() -> None:
    original = threading.Thread.start
    with pytest.raises(KeyError), ThreadOrigins():
        raise KeyError("cycle failed")
    assert threading.Thread.start is original


def test_a_subclass_names_its_run_and_unwatched_threads_have_no_stack(stop: threading.Event) -> None:
    before = thread_idents()
    Poller(stop).start()
    threading.Thread(target=functools.partial(idle, stop), name="partial", daemon=True).start()
    found = {t.name: t for t in leaked_threads(before)}
    assert found["poller"].target == f"{__name__}.Poller.run"
    assert found["partial"].target == f"{__name__}.idle"
    assert found["poller"].start_stack == () and found["partial"].start_stack == ()


def test_thread_info_repr_and_dict(stop: threading.Event) -> None:
    before = thread_idents()
    with ThreadOrigins() as watching:
        threading.Thread(target=idle, args=(stop,), name="leaky", daemon=True).start()
    info = leaked_threads(before, watching)[0]
    assert repr(info).startswith(f"<ThreadInfo 'leaky' daemon target={__name__}.idle started at ")
    data = json.loads(json.dumps(info.to_dict()))
    assert data["name"] == "leaky" and data["daemon"] is True and data["start_stack"][0]["line"] > 0


# File descriptors ---------------------------------------------------------


@contextlib.contextmanager
def tracing() -> Iterator[None]:
    """tracemalloc on for the block, as the locate phase has it (kept on if it already was)."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start(16)
    try:
        yield
    finally:
        if started:
            tracemalloc.stop()


@posix_only
def test_a_leaked_file_is_described_by_its_path(tmp_path: Path) -> None:
    before = open_fds()
    path = tmp_path / "data.txt"
    handle = open(path, "w")
    fd = handle.fileno()
    try:
        found = describe_fds(before)
    finally:
        handle.close()
    assert [(i.fd, i.kind, i.description) for i in found] == [(fd, FdKind.FILE, os.path.realpath(path))]
    assert found.notes == ()
    assert len(describe_fds(before)) == 0


@posix_only
def test_a_socketpair_is_described_as_unix_sockets() -> None:
    before = open_fds()
    left, right = socket.socketpair()
    fds = {left.fileno(), right.fileno()}
    try:
        found = describe_fds(before)
    finally:
        left.close()
        right.close()
    assert {i.fd for i in found} == fds
    assert {(i.kind, i.description) for i in found} == {(FdKind.SOCKET, "AF_UNIX SOCK_STREAM (unnamed)")}
    assert len(describe_fds(before)) == 0


@posix_only
def test_tcp_sockets_show_their_addresses() -> None:
    before = open_fds()
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    try:
        found = {i.fd: i.description for i in describe_fds(before)}
        port, client_port = server.getsockname()[1], client.getsockname()[1]
        assert found[server.fileno()] == f"AF_INET SOCK_STREAM 127.0.0.1:{port} -> ? LISTEN"
        assert found[client.fileno()] == (
            f"AF_INET SOCK_STREAM 127.0.0.1:{client_port} -> 127.0.0.1:{port} ESTABLISHED"
        )
        assert len(found) == 3
    finally:
        for sock in (accepted, client, server):
            sock.close()
    assert len(describe_fds(before)) == 0


@posix_only
def test_sockets_are_described_without_psutil_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: psutil.Process, kind: str = "inet") -> list[object]:
        raise psutil.AccessDenied(os.getpid())

    monkeypatch.setattr(psutil.Process, "net_connections", denied)
    before = open_fds()
    server = socket.create_server(("127.0.0.1", 0))
    left, right = socket.socketpair()
    try:
        found = describe_fds(before)
        port = server.getsockname()[1]
        expected = {
            server.fileno(): f"AF_INET SOCK_STREAM 127.0.0.1:{port} -> ?",
            left.fileno(): "AF_UNIX SOCK_STREAM (unnamed)",
            right.fileno(): "AF_UNIX SOCK_STREAM (unnamed)",
        }
    finally:
        for sock in (server, left, right):
            sock.close()
    assert {i.fd: i.description for i in found} == expected
    assert found.notes == ()
    assert len(describe_fds(before)) == 0


@posix_only
def test_a_pipe_is_described_as_a_pipe() -> None:
    before = open_fds()
    read_end, write_end = os.pipe()
    try:
        found = describe_fds(before)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert [(i.fd, i.kind, i.description) for i in found] == [
        (read_end, FdKind.PIPE, "pipe"),
        (write_end, FdKind.PIPE, "pipe"),
    ]
    assert len(describe_fds(before)) == 0


@posix_only
def test_without_proc_paths_come_from_psutil(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fd_origins, "_FD_DIRS", ("/dev/fd",))
    monkeypatch.setattr(fd_origins, "_link", lambda fd: "")
    before = open_fds()
    handle = open(tmp_path / "data.txt", "w")
    read_end, write_end = os.pipe()
    try:
        found = {i.fd: (i.kind, i.description) for i in describe_fds(before)}
        expected = {
            handle.fileno(): (FdKind.FILE, os.path.realpath(tmp_path / "data.txt")),
            read_end: (FdKind.PIPE, "pipe"),
            write_end: (FdKind.PIPE, "pipe"),
        }
    finally:
        handle.close()
        os.close(read_end)
        os.close(write_end)
    assert found == expected


@pytest.mark.skipif(not hasattr(select, "epoll"), reason="epoll is Linux only")
def test_an_epoll_fd_is_other() -> None:
    before = open_fds()
    poller = select.epoll()
    try:
        found = describe_fds(before)
    finally:
        poller.close()
    assert [(i.kind, i.description) for i in found] == [(FdKind.OTHER, "anon_inode:[eventpoll]")]


@posix_only
def test_creation_sites_need_tracing(tmp_path: Path) -> None:
    was_tracing = tracemalloc.is_tracing()
    before = open_fds()
    with tracing():
        handle = open(tmp_path / "traced.txt", "w")  # OPEN
        left, right = socket.socketpair()  # PAIR
        read_end, write_end = os.pipe()
        fds = {"file": handle.fileno(), "left": left.fileno(), "right": right.fileno(), "pipe": read_end}
        try:
            found = {i.fd: i for i in describe_fds(before)}
            sites = fd_creation_sites({handle.fileno(), read_end})
        finally:
            for closing in (handle, left, right):
                closing.close()
            os.close(read_end)
            os.close(write_end)
    assert tracemalloc.is_tracing() is was_tracing

    def line(fd: int) -> int | None:
        created = found[fd].created
        return created[0].line if created else None

    assert line(fds["file"]) == marked_line("OPEN")
    assert line(fds["left"]) == line(fds["right"]) == marked_line("PAIR")
    assert line(fds["pipe"]) is None
    assert {fd: site.place[1] for fd, site in sites.items()} == {fds["file"]: marked_line("OPEN")}


def test_no_creation_sites_without_tracing() -> None:
    if tracemalloc.is_tracing():
        pytest.skip("tracemalloc is on for the whole run")
    assert fd_creation_sites({0, 1, 2}) == {}


def test_unlisted_fds_give_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fd_origins, "_FD_DIRS", ("/no/such/dir",))
    assert open_fds() == set()
    found = describe_fds(set())
    assert len(found) == 0
    assert found.notes == ("open file descriptors cannot be listed on this platform",)


# Child processes ----------------------------------------------------------

SLEEPER = [sys.executable, "-c", "import time; time.sleep(5)"]


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(SLEEPER)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_child_is_listed_with_its_command_line(sleeper: subprocess.Popen[bytes]) -> None:
    before = child_pids() - {sleeper.pid}
    found = children(before)
    assert [(c.pid, c.status, c.cmdline) for c in found] == [(sleeper.pid, ChildStatus.ALIVE, tuple(SLEEPER))]
    assert found[0].command == " ".join(SLEEPER)
    sleeper.kill()
    sleeper.wait()
    assert len(children(before)) == 0


@pytest.mark.skipif(not hasattr(os, "waitid"), reason="needs os.waitid")
def test_an_unreaped_child_is_a_zombie(sleeper: subprocess.Popen[bytes]) -> None:
    before = child_pids()
    assert sleeper.pid in before
    sleeper.kill()
    os.waitid(os.P_PID, sleeper.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
    found = children(before - {sleeper.pid})
    assert [(c.pid, c.status) for c in found] == [(sleeper.pid, ChildStatus.ZOMBIE)]
    assert len(children(before)) == 0
    assert repr(found[0]).startswith(f"<ChildInfo {sleeper.pid} zombie ")


def test_children_degrade_to_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: psutil.Process, recursive: bool = False) -> list[psutil.Process]:
        raise psutil.AccessDenied(os.getpid())

    monkeypatch.setattr(psutil.Process, "children", denied)
    found = children(set())
    assert len(found) == 0 and found.notes == ("child processes not available here (AccessDenied)",)
    assert child_pids() == set()


def test_findings_behave_like_a_tuple_with_notes() -> None:
    empty: Findings[ChildInfo] = Findings(notes=("why",))
    assert list(empty) == [] and len(empty) == 0 and not empty
    assert repr(empty) == "<Findings [] notes=['why']>"
    assert empty.to_dict() == {"items": [], "notes": ["why"]}


@pytest.mark.parametrize("listing", ["/proc/self/fd", "/dev/fd"])
def test_a_number_opened_again_on_another_pipe_has_another_identity(
    listing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not os.path.isdir(listing):
        pytest.skip(f"{listing} does not list descriptors here")
    monkeypatch.setattr(fd_origins, "_FD_DIRS", (listing,))
    first, other = os.pipe()
    before = fd_origins.fd_identities()
    os.close(first)
    os.close(other)
    again, other = os.pipe()  # the lowest free numbers: the same two
    try:
        after = fd_origins.fd_identities()
    finally:
        os.close(again)
        os.close(other)
    assert again == first and again in before and again in after
    assert before[again] != after[again]
    assert {fd: before[fd] for fd in before.keys() - {first, other}} == {
        fd: after[fd] for fd in before.keys() - {first, other}
    }

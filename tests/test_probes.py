"""Real probes move with the resource they watch; missing ones are skipped with a note."""

from __future__ import annotations

import os
import socket
import threading

import psutil
import pytest

from leakharness.measure import probes
from leakharness.measure.probes import make_probes
from leakharness.resources import Resource


def probe(resource: Resource) -> probes.Probe:
    (found,) = make_probes([resource]).probes
    return found


@pytest.mark.skipif(not hasattr(psutil.Process, "num_fds"), reason="no fd count on this platform")
def test_fds_count_an_open_socket_pair() -> None:
    fds = probe(Resource.FDS)
    before = fds.sample()
    a, b = socket.socketpair()
    try:
        assert fds.sample() == before + 2
    finally:
        a.close()
        b.close()
    assert fds.sample() == before


def test_threads_count_a_running_thread() -> None:
    python, native = probe(Resource.THREADS), probe(Resource.NATIVE_THREADS)
    stop = threading.Event()
    before = (python.sample(), native.sample())
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert (python.sample(), native.sample()) == (before[0] + 1, before[1] + 1)
    finally:
        stop.set()
        worker.join()


def test_native_threads_wait_for_threads_that_are_still_exiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Their operating-system threads outlive ``join()``: after a pool of 8
    was shut down, 59 of 200 reads still counted some of them."""
    native = probe(Resource.NATIVE_THREADS)
    before = native.sample()
    reads = iter([before + 3, before + 3, before + 1, before])  # three pool threads exiting
    monkeypatch.setattr(native, "_read", lambda: next(reads))
    assert native.sample() == before
    assert next(reads, None) is None  # it read until they were gone, and no further


def test_native_threads_count_a_thread_no_python_thread_accounts_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a native library's thread: counted after the wait, not dropped."""
    native = probe(Resource.NATIVE_THREADS)
    before, python_threads = native.sample(), threading.active_count()
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    monkeypatch.setattr(threading, "active_count", lambda: python_threads)
    try:
        assert native.sample() == before + 1
    finally:
        monkeypatch.undo()
        stop.set()
        worker.join()


def test_heap_blocks_count_new_objects() -> None:
    heap = probe(Resource.HEAP)
    before = heap.sample()
    kept = [bytearray(64) for _ in range(100)]
    assert heap.sample() - before >= 200
    del kept


def test_rss_is_a_positive_byte_count() -> None:
    assert probe(Resource.RSS).sample() > 1024 * 1024


@pytest.mark.skipif(not hasattr(psutil.Process, "num_fds"), reason="no fd count on this platform")
def test_every_resource_has_a_probe_here() -> None:
    made = make_probes(r for r in Resource if r.in_process)
    assert [p.resource for p in made.probes] == [r for r in Resource if r.in_process]
    assert made.notes == ()


def test_resources_of_a_watched_server_are_not_probed_in_process() -> None:
    made = make_probes([Resource.USS, Resource.FDS, Resource.CONNECTIONS])
    assert [p.resource for p in made.probes] == [Resource.FDS]
    assert made.notes == (
        "unique memory (USS) not measured: only `leakharness watch` samples it, of a server",
        "network connections not measured: only `leakharness watch` samples it, of a server",
    )


def test_an_unsupported_probe_is_skipped_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(psutil.Process, "num_fds", raising=False)
    made = make_probes([Resource.FDS, Resource.HEAP])
    assert [p.resource for p in made.probes] == [Resource.HEAP]
    assert made.notes == ("file descriptors not measured: this platform has no file descriptor count",)


def test_a_probe_failing_at_creation_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object) -> int:
        raise psutil.AccessDenied(os.getpid())

    monkeypatch.setattr(probes.ResidentMemory, "sample", broken)
    made = make_probes([Resource.RSS])
    assert made.probes == ()
    assert "process memory (RSS) not measured: not supported here (AccessDenied)" in made.notes


@pytest.mark.skipif(
    not os.path.exists(f"/proc/self/task/{os.getpid()}/children"), reason="needs /proc children"
)
def test_children_count_a_child_until_it_is_reaped() -> None:
    import subprocess
    import sys

    children = probe(Resource.CHILDREN)
    before = children.sample()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        assert children.sample() == before + 1
        child.wait()  # reaped: gone
    finally:
        child.wait()
    assert children.sample() == before

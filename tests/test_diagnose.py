"""Diagnosis on real leaks: holders, thread start lines, fd opening lines, children."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import leakharness
from leakharness.diagnose import diagnosis
from leakharness.diagnose.diagnosis import group
from leakharness.diagnose.fds import FdKind
from leakharness.judge.classify import Kind

HERE = Path(__file__).read_text().splitlines()
KEPT: list[object] = []
STOP = threading.Event()
REGISTRY: dict[int, object] = {}


def marked(mark: str) -> int:
    return next(n for n, text in enumerate(HERE, 1) if text.rstrip().endswith(f"# {mark}"))


@pytest.fixture(autouse=True)
def release() -> Iterator[None]:
    yield
    STOP.set()
    for item in KEPT:
        for part in item if isinstance(item, tuple) else (item,):
            if isinstance(part, subprocess.Popen):
                part.kill()
                part.wait()
            elif hasattr(part, "close"):
                part.close()
    KEPT.clear()
    REGISTRY.clear()
    STOP.clear()


def test_group_counts_alike_items_and_keeps_the_richest_example() -> None:
    groups = group(["a", "bb", "a", "ccc", "cc"], key=lambda s: s[0], richer=len)
    assert [(g.count, g.example) for g in groups] == [(2, "a"), (2, "ccc"), (1, "bb")]


class Session:
    pass


def test_the_holder_of_a_leaked_object_is_named() -> None:
    ids = iter(range(10**6))

    def cycle() -> None:
        REGISTRY[next(ids)] = Session()

    test = leakharness.check(cycle).tests[0]
    assert test.leaked
    (holder,) = test.diagnosis.holders
    assert holder.path == f"module {__name__} → dict REGISTRY → Session"


def test_the_holder_is_drawn_only_when_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ids = iter(range(10**6))

    def cycle() -> None:
        REGISTRY[next(ids)] = Session()

    assert leakharness.check(cycle).tests[0].diagnosis.holder_graph is None
    monkeypatch.setenv("PATH", str(tmp_path))  # no graphviz
    test = leakharness.check(cycle, holder_graph=True).tests[0]
    assert test.diagnosis.holders and test.diagnosis.holder_graph is None
    assert "graphviz's dot is not installed or failed: no picture of the holder chain" in test.diagnosis.notes


def test_a_leaked_thread_is_named_with_its_start_line() -> None:
    def cycle() -> None:
        worker = threading.Thread(target=STOP.wait, name="waiter", daemon=True)
        worker.start()  # THREAD START

    test = leakharness.check(cycle).tests[0]
    assert Kind.THREAD in test.classification.kinds
    (threads,) = test.diagnosis.threads
    assert threads.count >= test.located_cycles
    assert threads.example.target == "threading.Event.wait"
    assert threads.example.start_stack[0].line == marked("THREAD START")
    assert all(frame.file == __file__ for frame in threads.example.start_stack)  # stops at the harness


def test_a_leaked_file_is_described_with_its_opening_line() -> None:
    handle, path = tempfile.mkstemp()
    os.close(handle)
    try:

        def cycle() -> None:
            KEPT.append(open(path))  # FILE OPEN

        test = leakharness.check(cycle).tests[0]
        (files,) = test.diagnosis.fds
        assert files.example.kind is FdKind.FILE
        assert files.example.description == os.path.realpath(path)
        assert files.example.created[0].line == marked("FILE OPEN")
        assert Kind.FILE_DESCRIPTOR in test.classification.kinds
    finally:
        os.unlink(path)


def test_leaked_sockets_classify_as_sockets() -> None:
    test = leakharness.check(lambda: KEPT.append(socket.socketpair())).tests[0]
    assert test.diagnosis.sockets
    assert test.classification.kinds[0] is Kind.SOCKET


def test_a_leaked_child_process_is_listed_with_its_command() -> None:
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    test = leakharness.check(lambda: KEPT.append(subprocess.Popen(command)), max_cycles=80).tests[0]
    assert test.result("children").verdict is leakharness.Verdict.LEAK
    (children,) = test.diagnosis.children
    assert children.example.cmdline == tuple(command)
    assert Kind.PROCESS in test.classification.kinds


def test_a_native_leak_can_be_profiled_line_by_line() -> None:
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    size = 2 << 20

    def cycle() -> None:
        address = libc.malloc(size)
        ctypes.memset(address, 1, size)  # TOUCHED

    test = leakharness.check(cycle, memory_profile=True, max_cycles=200).tests[0]
    assert Kind.NATIVE_MEMORY in test.classification.kinds
    assert "native allocation, not visible to tracemalloc" in test.reason
    touched = [usage for usage in test.diagnosis.memory_lines if usage.line == marked("TOUCHED")]
    assert touched and touched[0].increment_mib > 1
    assert all(not usage.source.startswith("def ") for usage in test.diagnosis.memory_lines)


def test_clean_cycles_get_no_diagnosis() -> None:
    test = leakharness.check(lambda: [Session() for _ in range(10)]).tests[0]
    assert test.diagnosis == leakharness.report.model.Diagnosis()


def test_without_growing_types_no_holder_is_searched_or_missed(monkeypatch: pytest.MonkeyPatch) -> None:
    collections: list[int] = []
    monkeypatch.setattr(diagnosis.gc, "collect", lambda *args: collections.append(1) or 0)
    found = diagnosis.diagnose(None, (), {})
    assert found.holders == () and found.notes == () and collections == []

"""Descriptors that no Python object owns get the project line that was running when they appeared."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import leakharness
from leakharness.diagnose.fd_births import FdBirths
from leakharness.diagnose.fds import open_fds

HERE = Path(__file__).read_text().splitlines()
RAW: list[int] = []

pytestmark = [
    pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="lists descriptors from /proc"),
    pytest.mark.skipif(sys.gettrace() is not None, reason="a trace function (coverage, a debugger) is set"),
]


def marked(mark: str) -> int:
    return next(n for n, text in enumerate(HERE, 1) if text.rstrip().endswith(f"# {mark}"))


@pytest.fixture(autouse=True)
def close_raw() -> Iterator[None]:
    yield
    for fd in RAW:
        os.close(fd)
    RAW.clear()


def open_raw(path: str) -> int:
    return os.open(path, os.O_RDONLY)  # RAW OPEN


def leak_raw_descriptors(path: str) -> None:
    RAW.extend(os.pipe())  # PIPE
    unused = len(RAW)
    RAW.append(open_raw(path))  # CALLS OPEN
    left, right = socket.socketpair()  # PAIR
    RAW.extend((left.detach(), right.detach()))
    del unused


def test_each_raw_descriptor_is_charged_to_the_line_that_made_it() -> None:
    before = open_fds()
    with FdBirths() as births:
        leak_raw_descriptors(__file__)  # the first cycle marks the functions where descriptors appear
        first = set(RAW)
        leak_raw_descriptors(__file__)  # the second is followed line by line there
    assert sys.gettrace() is None
    assert open_fds() - before == set(RAW)  # the probe descriptor is closed again
    assert not first & set(births.sites)
    pipe_read, pipe_write, opened, left, right = RAW[5:]
    lines = {fd: site.place for fd, site in births.sites.items() if fd in RAW}
    assert lines == {
        pipe_read: (__file__, marked("PIPE")),
        pipe_write: (__file__, marked("PIPE")),
        opened: (__file__, marked("RAW OPEN")),
        left: (__file__, marked("PAIR")),
        right: (__file__, marked("PAIR")),
    }
    stack = births.sites[opened].stack()
    assert [frame.line for frame in stack[:2]] == [marked("RAW OPEN"), marked("CALLS OPEN")]


def reuse_a_number() -> None:
    read_end, write_end = os.pipe()  # FIRST
    os.close(read_end)
    os.close(write_end)
    RAW.extend(os.pipe())  # AGAIN


def test_a_number_used_again_is_charged_to_its_last_appearance() -> None:
    with FdBirths() as births:
        reuse_a_number()
        reuse_a_number()
    for fd in RAW[2:]:
        assert births.sites[fd].place == (__file__, marked("AGAIN"))


def test_an_existing_trace_function_is_left_alone() -> None:
    def tracer(frame: object, event: str, arg: object) -> None:
        return None

    sys.settrace(tracer)
    try:
        with FdBirths() as births:
            leak_raw_descriptors(__file__)
            leak_raw_descriptors(__file__)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(None)
    assert births.sites == {}
    assert "trace function" in births.note


def test_a_leaked_pipe_is_reported_with_the_line_that_made_it() -> None:
    def cycle() -> None:
        RAW.extend(os.pipe())  # CYCLE PIPE

    test = leakharness.check(cycle, resources=["fds"]).tests[0]
    (pipes,) = test.diagnosis.fds
    assert pipes.example.description == "pipe"
    assert (pipes.example.created[0].file, pipes.example.created[0].line) == (__file__, marked("CYCLE PIPE"))
    assert pipes.example.inside is None


SHELL_LIBRARY = """
import os


def run():
    pipes = [os.pipe() for _ in range(4)]
    kept = pipes[-1][0]
    for read_end, write_end in pipes:
        if read_end != kept:
            os.close(read_end)
        os.close(write_end)
    return kept
"""


def test_a_library_that_keeps_one_of_many_descriptors_is_seen() -> None:
    """The lowest free number ends where it began (like sh, which leaves a
    pipe above the ones it closes): the directory read tells the difference."""
    shell: dict[str, Any] = {}
    exec(compile(SHELL_LIBRARY, "/opt/venv/lib/python3.11/site-packages/shell.py", "exec"), shell)

    def cycle() -> None:
        RAW.append(shell["run"]())  # SHELL

    test = leakharness.check(cycle, resources=["fds"]).tests[0]
    (pipes,) = test.diagnosis.fds
    assert (pipes.example.created[0].file, pipes.example.created[0].line) == (__file__, marked("SHELL"))

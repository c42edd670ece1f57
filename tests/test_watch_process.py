"""Sampling another process and its children with psutil."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from leakharness.errors import LeakHarnessError
from leakharness.integrations.watch_process import WATCHED, ProcessGone, ProcessTree, TreeProbe
from leakharness.resources import Resource

PARENT = """
import os, subprocess, sys, time
workers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(2)]
held = [open(os.devnull) for _ in range(5)]
print("ready", flush=True)
sys.stdin.read()
for worker in workers:
    worker.kill()
    worker.wait()
"""


@pytest.fixture
def parent() -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    yield child
    if child.stdin is not None:
        child.stdin.close()
    child.stdout.close()
    child.wait(30)


def test_the_tree_sums_its_processes(parent: subprocess.Popen[str]) -> None:
    tree = ProcessTree(parent.pid)
    assert tree.command.startswith(f"{sys.executable} -c import os, subprocess")
    assert "\n" not in tree.command and len(tree.command) <= 100
    totals = tree.sample()
    assert totals[Resource.CHILDREN] == 2
    root = psutil.Process(parent.pid)
    assert totals[Resource.FDS] > root.num_fds()  # the workers' descriptors count too
    assert totals[Resource.RSS] > root.memory_info().rss
    assert totals[Resource.NATIVE_THREADS] >= 3
    if Resource.USS in tree.resources:
        assert 0 < totals[Resource.USS] < totals[Resource.RSS]
    assert TreeProbe(tree, Resource.CHILDREN).sample() == 2


def test_only_resources_of_another_process_are_sampled(parent: subprocess.Popen[str]) -> None:
    tree = ProcessTree(parent.pid, (Resource.HEAP, Resource.FDS))
    assert tree.resources == (Resource.FDS,)
    assert tree.notes == ["Python heap not measured: it is not sampled of another process"]
    assert set(tree.sample()) == {Resource.FDS}
    assert set(WATCHED) >= {Resource.USS, Resource.CONNECTIONS, Resource.CHILDREN}


def test_a_process_that_ends_is_an_error(parent: subprocess.Popen[str]) -> None:
    tree = ProcessTree(parent.pid)
    tree.settle()
    parent.stdin.close()  # type: ignore[union-attr]
    parent.stdin = None
    parent.wait(30)
    with pytest.raises(ProcessGone, match=f"process {parent.pid} .* ended"):
        tree.sample()


def test_no_such_pid_is_a_usage_error() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    time.sleep(0.01)
    with pytest.raises(LeakHarnessError, match=f"--pid {gone.pid}: no such process"):
        ProcessTree(gone.pid)

"""Rounds judged from samples of a process tree: fake trees with number sequences, and a real child."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from leakharness.config import Settings
from leakharness.integrations.watch_load import LoadError
from leakharness.integrations.watch_process import WATCHED, ProcessTree
from leakharness.integrations.watch_run import NO_LINES, watch_rounds
from leakharness.judge.classify import Kind
from leakharness.judge.verdict import Verdict
from leakharness.resources import Resource

SETTINGS = Settings(warmup=1, min_cycles=10, max_cycles=20, resources=WATCHED)


class FakeTree:
    """Samples from fixed sequences, one value per resource per round."""

    def __init__(self, **series: list[int]) -> None:
        self.root = SimpleNamespace(pid=4242)
        self.command = "gunicorn app:app"
        self.notes = ["unique memory (USS) not measured: AccessDenied reading pid 4242"]
        self.resources = tuple(Resource(name) for name in series)
        self._values = {Resource(name): iter(values) for name, values in series.items()}
        self.latest: dict[Resource, int] = {}

    def settle(self) -> None:
        pass

    def sample(self) -> dict[Resource, int]:
        self.latest = {resource: next(values) for resource, values in self._values.items()}
        return self.latest


class Rounds:
    def __init__(self, fail_at: int | None = None) -> None:
        self.done = 0
        self.fail_at = fail_at

    def __call__(self) -> None:
        self.done += 1
        if self.done == self.fail_at:
            raise LoadError("GET http://127.0.0.1:8000/ answered 502: bad gateway")

    def describe(self) -> str:
        return "50 GET requests to http://127.0.0.1:8000/, 1 at a time"


def run(tree: Any, load: Rounds, settings: Settings = SETTINGS) -> Any:
    return watch_rounds(tree, load, settings)


def test_a_descriptor_leak_is_judged_over_the_rounds() -> None:
    load = Rounds()
    report = run(FakeTree(fds=[10 + 5 * n for n in range(30)], rss=[1 << 20] * 30), load)
    assert report.verdict is Verdict.LEAK
    # a count settles a leak only after 60 steady rounds, or the most rounds (20 here)
    assert report.cycles == 20 and load.done == 1 + 20  # warm-up, then the sampled rounds
    assert report.result(Resource.FDS).growth_per_cycle == 5.0
    assert report.result(Resource.RSS).verdict is Verdict.CLEAN
    assert report.reason == f"the server leaks file descriptors +5 fds/round; {NO_LINES}"
    assert report.lines == () and report.classification.kinds == (Kind.FILE_DESCRIPTOR,)
    assert "stopped: settled" in report.notes
    assert report.id == "pid 4242 (gunicorn app:app)"


def test_a_settled_descriptor_leak_stops_before_memory_settles() -> None:
    load = Rounds()
    tree = FakeTree(fds=[10 + n for n in range(110)], rss=[(1 << 20) + 8192 * n for n in range(110)])
    report = run(tree, load, SETTINGS.replace(max_cycles=100))
    assert (report.cycles, load.done) == (60, 61)  # the memory span is 100 rounds here
    assert "stopped: file descriptors leak settled" in report.notes


def test_a_flat_server_is_clean_and_told_where_lines_are_found() -> None:
    report = run(FakeTree(fds=[12] * 30, connections=[3, 4, 3, 3] * 8), Rounds())
    assert report.verdict is Verdict.CLEAN, report.resources
    assert report.reason == "no resource of the server grew"
    assert NO_LINES in report.notes
    assert "a cycle is a round: 50 GET requests to http://127.0.0.1:8000/, 1 at a time" in report.notes
    assert any("AccessDenied" in note for note in report.notes)


def test_memory_growth_runs_every_round_and_leaks() -> None:
    pages = [(1 << 24) + 64 * 1024 * n for n in range(30)]
    load = Rounds()
    report = run(FakeTree(uss=pages), load)
    assert (report.verdict, report.cycles, load.done) == (Verdict.LEAK, 20, 21)
    assert report.classification.kinds == (Kind.MEMORY,)


def test_leaking_connections_are_a_socket_leak() -> None:
    report = run(FakeTree(connections=list(range(2, 40))), Rounds())
    assert report.classification.kinds == (Kind.SOCKET,)


def test_a_tolerance_accepts_growth_per_round() -> None:
    settings = SETTINGS.replace(tolerances={"fds": 5})
    report = run(FakeTree(fds=[10 + 5 * n for n in range(30)]), Rounds(), settings)
    assert report.verdict is Verdict.CLEAN
    assert report.result(Resource.FDS).reason.startswith("within tolerance")


def test_a_failed_round_is_an_error_with_the_rounds_done() -> None:
    report = run(FakeTree(fds=[10] * 30), Rounds(fail_at=5))
    assert report.verdict is Verdict.ERROR
    assert report.error == "GET http://127.0.0.1:8000/ answered 502: bad gateway"
    assert report.cycles == 3  # the warm-up round and three sampled rounds went through


def test_only_the_chosen_resources_are_judged() -> None:
    settings = SETTINGS.replace(resources=["fds"])
    report = run(FakeTree(fds=[1] * 30, rss=[5] * 30), Rounds(), settings)
    assert [r.resource for r in report.resources] == [Resource.FDS]


@pytest.fixture
def holder() -> Iterator[subprocess.Popen[str]]:
    """A process that opens one more file for every line it reads."""
    code = (
        "import os, sys\nheld = []\n"
        "for line in sys.stdin:\n    held.append(open(os.devnull))\n    print('ok', flush=True)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    yield child
    child.stdin.close()  # type: ignore[union-attr]
    child.stdout.close()  # type: ignore[union-attr]
    child.wait(10)


def test_a_real_process_opening_a_file_a_round_leaks(holder: subprocess.Popen[str]) -> None:
    class OneLine:
        def __call__(self) -> None:
            holder.stdin.write("open\n")  # type: ignore[union-attr]
            holder.stdin.flush()  # type: ignore[union-attr]
            assert holder.stdout.readline() == "ok\n"  # type: ignore[union-attr]

        def describe(self) -> str:
            return "one line"

    report = watch_rounds(ProcessTree(holder.pid), OneLine(), SETTINGS.replace(resources=["fds", "rss"]))
    assert report.verdict is Verdict.LEAK
    assert report.result(Resource.FDS).growth_per_cycle == 1.0

"""Kinds and severity of a test's leaks."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from leakharness.judge.classify import Classification, Kind, Severity, classify
from leakharness.resources import Resource


@dataclass(frozen=True)
class Leak:
    resource: Resource
    growth_per_cycle: float


@pytest.mark.parametrize(
    ("leaks", "kinds", "severity"),
    [
        (
            [Leak(Resource.FDS, 1), Leak(Resource.HEAP, 16)],
            (Kind.FILE_DESCRIPTOR, Kind.MEMORY),
            Severity.CRITICAL,
        ),
        ([Leak(Resource.THREADS, 0.2)], (Kind.THREAD,), Severity.HIGH),
        ([Leak(Resource.CHILDREN, 1)], (Kind.PROCESS,), Severity.CRITICAL),
        ([Leak(Resource.HEAP, 2)], (Kind.MEMORY,), Severity.LOW),
        ([Leak(Resource.RSS, 2048)], (Kind.MEMORY,), Severity.MEDIUM),
        ([Leak(Resource.NATIVE_HEAP, 70_000)], (Kind.MEMORY,), Severity.HIGH),
        ([Leak(Resource.GARBAGE, 1)], (Kind.MEMORY,), Severity.MEDIUM),
        ([Leak(Resource.CONNECTIONS, 4)], (Kind.SOCKET,), Severity.CRITICAL),
        ([Leak(Resource.USS, 2048)], (Kind.MEMORY,), Severity.MEDIUM),
        ([], (), None),
    ],
)
def test_kinds_and_severity(leaks: list[Leak], kinds: tuple[Kind, ...], severity: Severity | None) -> None:
    assert classify(leaks) == Classification(kinds, severity)


def test_native_and_socket_flags_name_the_kind() -> None:
    found = classify([Leak(Resource.FDS, 2), Leak(Resource.RSS, 1 << 20)], native=True, sockets=True)
    assert found.kinds == (Kind.SOCKET, Kind.NATIVE_MEMORY)
    assert found.describe() == "socket/connection, native memory leak, critical"


def test_traced_bytes_grade_a_heap_leak() -> None:
    assert classify([Leak(Resource.HEAP, 1)], traced_bytes=100_000).severity is Severity.HIGH


def test_json_form() -> None:
    assert classify([Leak(Resource.THREADS, 1)]).to_dict() == {"kinds": ["thread"], "severity": "critical"}
    assert Classification().describe() == ""

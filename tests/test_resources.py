from __future__ import annotations

import pytest

from leakharness.resources import Resource


@pytest.mark.parametrize(
    ("name", "resource"),
    [
        ("native-threads", Resource.NATIVE_THREADS),
        ("native_threads", Resource.NATIVE_THREADS),
        ("FDS", Resource.FDS),
        ("  Heap ", Resource.HEAP),
        ("rss", Resource.RSS),
    ],
)
def test_parse_accepts_spellings(name: str, resource: Resource) -> None:
    assert Resource.parse(name) is resource


@pytest.mark.parametrize("name", ["disk", "", "thread", "native threads"])
def test_parse_rejects_unknown_with_known_names(name: str) -> None:
    with pytest.raises(ValueError) as caught:
        Resource.parse(name)
    message = str(caught.value)
    assert f"unknown resource {name!r}" in message
    assert all(r.value in message for r in Resource)


@pytest.mark.parametrize("resource", list(Resource))
def test_every_resource_has_label_unit_floor(resource: Resource) -> None:
    assert isinstance(resource.label, str) and resource.label.strip()
    assert isinstance(resource.unit, str) and resource.unit.strip()
    assert isinstance(resource.floor, float) and resource.floor >= 0
    assert isinstance(resource.leak_span, int) and resource.leak_span >= 0


@pytest.mark.parametrize("resource", list(Resource))
def test_value_round_trips_through_parse(resource: Resource) -> None:
    assert Resource.parse(resource.value) is resource
    assert Resource.parse(resource.value.replace("_", "-").upper()) is resource


def test_labels_are_distinct() -> None:
    assert len({r.label for r in Resource}) == len(Resource)


def test_rss_has_a_band_of_pages_and_counts_are_exact() -> None:
    assert Resource.RSS.floor == 1024.0
    assert Resource.RSS.band == 3 * 4096.0
    assert {r for r in Resource if r.band} == {Resource.RSS, Resource.USS}
    assert Resource.RSS.unit == "bytes"
    assert {r for r in Resource if r.exact} == {
        Resource.FDS,
        Resource.THREADS,
        Resource.NATIVE_THREADS,
        Resource.CHILDREN,
        Resource.GARBAGE,
        Resource.TASKS,
        Resource.UNCLOSED,
        Resource.CONNECTIONS,
    }


def test_unique_memory_and_connections_are_a_watched_servers_only() -> None:
    assert {r for r in Resource if not r.in_process} == {Resource.USS, Resource.CONNECTIONS}
    assert Resource.USS.band == Resource.RSS.band and Resource.USS.unit == "bytes"

"""A pytest suite run under ``pytest --leaks`` (copied as test_cases.py by
test_pytest_plugin.py): leaks marked ``# LEAK``, clean twins that use
pytest's own fixtures, a test that fails on its own, classes and unittest."""

from __future__ import annotations

import logging
import unittest

import pytest

HOARD: list[object] = []


@pytest.fixture
def leaky_resource():
    HOARD.append(bytearray(4096))  # LEAK
    yield len(HOARD)


@pytest.fixture
def tidy_resource():
    kept = [bytearray(4096)]
    yield kept
    kept.clear()


@pytest.fixture(scope="module")
def shared():
    return {"hits": 0}


def test_clean_function():
    assert len(b"".join(bytes(64) for _ in range(10))) == 640


def test_leaking_function():
    HOARD.append(bytearray(2048))  # LEAK


def test_leaking_fixture(leaky_resource):
    assert leaky_resource > 0


def test_tidy_fixture(tidy_resource):
    assert len(tidy_resource[0]) == 4096


def test_module_fixture_kept(shared):
    shared["hits"] += 1  # the same dict every cycle: created once


def test_capsys(capsys):
    print("captured " * 50)
    assert "captured" in capsys.readouterr().out


def test_prints():
    print("shown only on failure " * 20)


def test_tmp_path(tmp_path):
    (tmp_path / "note.txt").write_text("x" * 100)
    assert (tmp_path / "note.txt").read_text()


def test_monkeypatch(monkeypatch):
    monkeypatch.setenv("LEAKHARNESS_CASE", "1")
    monkeypatch.setattr(logging, "raiseExceptions", False)


def test_caplog(caplog):
    logging.getLogger("cases").warning("careful")
    assert "careful" in caplog.text


def test_record_property(record_property):
    record_property("size", 1)


@pytest.mark.parametrize("size", [16, 256])
def test_parametrized(size):
    assert len(bytes(size)) == size


@pytest.mark.parametrize("size", [512])
def test_parametrized_leak(size):
    HOARD.append(bytearray(size * 4))  # LEAK


def test_fails_on_its_own():
    raise ValueError("broken on its own")


ONCE = {"ran": False}


def test_passes_only_once():
    assert not ONCE["ran"]
    ONCE["ran"] = True


@pytest.mark.skip(reason="not today")
def test_skipped():
    HOARD.append(bytearray(1))


class TestGrouped:
    def test_clean_method(self):
        assert [bytearray(32)]

    def test_leaking_method(self):
        HOARD.append(bytearray(2048))  # LEAK


class PlainCase(unittest.TestCase):
    def setUp(self):
        self.data = bytearray(1024)  # LEAK: kept by test_leaking_unittest

    def test_clean_unittest(self):
        self.assertEqual(len(self.data), 1024)

    def test_leaking_unittest(self):
        HOARD.append(self.data)  # LEAK

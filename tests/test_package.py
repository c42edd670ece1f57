"""The package's front door: cheap to import, every public name there."""

from __future__ import annotations

import subprocess
import sys

import pytest

import leakharness

HEAVY = ("rich", "psutil", "objgraph", "memory_profiler", "pytest", "numpy")


def test_import_loads_no_heavy_dependency() -> None:
    code = "import sys, leakharness; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names = set(loaded.stdout.split())
    assert [name for name in HEAVY if name in names] == []


@pytest.mark.parametrize("name", leakharness.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(leakharness, name) is not None
    assert name in dir(leakharness)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        leakharness.nope  # type: ignore[attr-defined]  # noqa: B018

"""Where a source file belongs: the harness, the standard library, or user code.

User code is everything else, third-party packages included: a leak inside
an installed library is that library's line, and it is worth showing.
"""

from __future__ import annotations

import functools
import linecache
import os
import sysconfig
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

_PACKAGE_DIR = str(Path(__file__).resolve().parent) + os.sep


class Origin(Enum):
    HARNESS = "harness"
    STDLIB = "stdlib"
    USER = "user"


def _stdlib_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {os.path.realpath(paths[key]) + os.sep for key in ("stdlib", "platstdlib") if key in paths}
    return tuple(sorted(dirs))


def _third_party_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {os.path.realpath(paths[key]) + os.sep for key in ("purelib", "platlib") if key in paths}
    return tuple(sorted(dirs))


_STDLIB = _stdlib_dirs()
_THIRD_PARTY = _third_party_dirs()


@functools.lru_cache(maxsize=4096)
def origin(filename: str) -> Origin:
    """Classify ``filename`` as it appears in a traceback."""
    if filename.startswith("<frozen "):
        return Origin.STDLIB
    real = os.path.realpath(filename) if not filename.startswith("<") else filename
    if real.startswith(_PACKAGE_DIR):
        return Origin.HARNESS
    if "site-packages" in real or "dist-packages" in real or real.startswith(_THIRD_PARTY):
        return Origin.USER
    if real.startswith(_STDLIB):
        return Origin.STDLIB
    return Origin.USER


def display_path(path: str) -> str:
    """``path`` for a report: relative to the working directory when below it,
    else from the stdlib or site-packages folder it lives in, else as it is."""
    if path.startswith("<"):
        return path
    real = os.path.realpath(path)
    cwd = os.path.realpath(os.getcwd()) + os.sep
    if real.startswith(cwd):
        return real[len(cwd) :]
    for folder in (*_THIRD_PARTY, *_STDLIB):
        if real.startswith(folder):
            return f"{os.path.basename(folder.rstrip(os.sep))}/{real[len(folder) :]}"
    return path


@dataclass(frozen=True, order=True)
class Frame:
    """One frame of a traceback."""

    file: str
    line: int

    @property
    def source(self) -> str:
        return linecache.getline(self.file, self.line).strip()

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "source": self.source}

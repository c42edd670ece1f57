"""Shared test helpers: run the CLI in a subprocess and read its JSON report."""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    def test(self, name: str) -> dict[str, Any]:
        """The report entry of the test whose id ends in ``name``."""
        assert self.report is not None, self.stderr
        for test in self.report["tests"]:
            if test["id"].endswith(name):
                return test
        raise KeyError(f"{name} not in {[t['id'] for t in self.report['tests']]}")


def run_cli(
    *args: str,
    json_path: Path | None = None,
    cwd: Path = ROOT,
    timeout: float = 240,
    env: dict[str, str] | None = None,
) -> Run:
    command = [sys.executable, "-m", "leakharness", *args]
    if json_path is not None:
        command += ["--json", str(json_path)]
    environ = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    environ.pop("GITHUB_ACTIONS", None)  # annotations only where a test asks for them
    environ.update(env or {})
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=environ)
    report = json.loads(json_path.read_text()) if json_path and json_path.exists() else None
    return Run(proc.returncode, proc.stdout, proc.stderr, report)


def marked_lines(path: Path, mark: str = "# LEAK") -> set[int]:
    return {n for n, line in enumerate(path.read_text().splitlines(), 1) if mark in line}


def libc() -> ctypes.CDLL:
    """The C library, with ``malloc`` and ``mmap`` typed for 64-bit pointers."""
    lib = ctypes.CDLL(None)
    lib.malloc.restype = ctypes.c_void_p
    lib.malloc.argtypes = [ctypes.c_size_t]
    lib.mmap.restype = ctypes.c_void_p
    lib.mmap.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    return lib


def map_page(lib: ctypes.CDLL) -> int:
    """Map one anonymous page, touch it, and never unmap it: memory that only
    RSS sees, neither malloc's counters nor tracemalloc."""
    flags, protection = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, mmap.PROT_READ | mmap.PROT_WRITE
    address = lib.mmap(None, mmap.PAGESIZE, protection, flags, -1, 0)
    ctypes.memset(address, 1, mmap.PAGESIZE)  # TOUCH
    return int(address)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on just now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

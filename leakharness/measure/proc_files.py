"""Files of /proc/self kept open and re-read cheaply, for the probes."""

from __future__ import annotations

import os
import sys


class ProcFile:
    """A /proc file of this process, kept open and re-read with ``preadv``:
    1.5 µs for statm against 34 µs through psutil (which opens it each time).
    It reads into a buffer made once: ``os.pread(fd, 4096, 0)`` mallocs 4 KiB
    a read and shrinks it to the line, and the shrunk block, freed, stays in
    glibc's per-thread cache, which ``mallinfo2`` counts as in use (the native
    heap of an empty cycle rose by 160 and 80 bytes in its first cycles)."""

    def __init__(self, name: str) -> None:
        self.fd = os.open(f"/proc/self/{name}", os.O_RDONLY | os.O_CLOEXEC)
        self._buffer = bytearray(4096)
        self._view = memoryview(self._buffer)

    def read(self) -> bytes:
        size = os.preadv(self.fd, [self._buffer], 0)
        return bytes(self._view[:size])

    def close(self) -> None:
        os.close(self.fd)


def proc_file(name: str) -> ProcFile | None:
    """The /proc file on Linux, or None to fall back to psutil."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ProcFile(name)
    except OSError:
        return None

"""The JSON form of a Report, written atomically (schema: docs/json-report.md).

A regular file (or a new one) is replaced through a temporary file beside its
real location, so a reader never sees half a report and a symlink onto another
filesystem still works; the report keeps an existing file's mode, or gets the
umask's. A special file (``/dev/stdout``, a pipe) is written directly.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

from leakharness.errors import LeakHarnessError
from leakharness.report.model import Report


def check_writable(path: Path, option: str = "--json") -> None:
    """Fail before a run, not after it, when ``path`` cannot be written."""
    try:
        if path.is_dir():
            raise LeakHarnessError(f"{option} {path}: is a folder, not a file")
        if _is_special(path):
            if not os.access(path, os.W_OK):
                raise LeakHarnessError(f"{option} {path}: not writable")
            return
        real = Path(os.path.realpath(path))
        folder = real.parent
        if not folder.is_dir():
            raise LeakHarnessError(f"{option} {path}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise LeakHarnessError(f"{option} {path}: folder {folder} is not writable")
        if len(real.name.encode()) > os.pathconf(folder, "PC_NAME_MAX") - len(".tmp.XXXXXXXX."):
            raise LeakHarnessError(f"{option} {path}: file name too long")
    except OSError as err:
        raise LeakHarnessError(f"{option} {path}: {err.strerror or err}") from err


def write_json(report: Report, path: Path) -> None:
    """Write ``report`` to ``path`` (atomically where it is a regular file)."""
    write_text(json.dumps(report.to_dict(), indent=2) + "\n", path)


def write_text(text: str, path: Path) -> None:
    """Write ``text`` to ``path``: directly to a special file, else through a
    temporary file and a rename, removed again whatever interrupts it."""
    if _is_special(path):  # stat follows /dev/stdout to the pipe; realpath would not
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    real = Path(os.path.realpath(path))
    mode = _mode_for(real)
    fd, temp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, mode)  # mkstemp makes it private
        os.replace(temp, real)
    except BaseException:
        os.unlink(temp)
        raise


def _is_special(path: Path) -> bool:
    """A character device, pipe or socket that exists: no rename onto it."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _mode_for(path: Path) -> int:
    """An existing file's permission bits, else what the umask gives a new file."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask

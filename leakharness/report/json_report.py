"""The JSON form of a Report, written atomically (schema: docs/json-report.md)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from leakharness.errors import LeakHarnessError
from leakharness.report.model import Report


def check_writable(path: Path) -> None:
    """Fail before a run, not after it, when ``path`` cannot be written."""
    folder = path.resolve().parent
    if path.is_dir():
        raise LeakHarnessError(f"--json {path}: is a folder, not a file")
    if not folder.is_dir():
        raise LeakHarnessError(f"--json {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise LeakHarnessError(f"--json {path}: folder {folder} is not writable")


def write_json(report: Report, path: Path) -> None:
    """Write ``report`` to ``path`` via a temporary file and a rename."""
    text = json.dumps(report.to_dict(), indent=2) + "\n"
    folder = path.resolve().parent
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, 0o644)  # mkstemp makes it private; a report is for reading
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise

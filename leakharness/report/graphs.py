"""``--graph DIR``: the holder picture of each leaking test as a PNG file.

The pictures are drawn during diagnosis, while the leaked objects are alive
(``Settings.holder_graph``); this only writes them out.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from leakharness.errors import LeakHarnessError
from leakharness.report.model import Report

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def check_folder(folder: Path, option: str = "--graph") -> None:
    """Fail before a run when ``folder`` cannot be made or written."""
    if folder.exists() and not folder.is_dir():
        raise LeakHarnessError(f"{option} {folder}: is a file, not a folder")
    existing = folder if folder.is_dir() else folder.resolve().parent
    if not existing.is_dir():
        raise LeakHarnessError(f"{option} {folder}: folder {existing} does not exist")
    if not os.access(existing, os.W_OK):
        raise LeakHarnessError(f"{option} {folder}: folder {existing} is not writable")


def file_name(test_id: str) -> str:
    """A file name for ``test_id``: ``tests.test_x.Case.test_y``, unsafe characters as ``_``."""
    return _UNSAFE.sub("_", test_id).strip("._")[:120] or "test"


def write_graphs(report: Report, folder: Path) -> tuple[list[Path], list[str]]:
    """Write one PNG per leaking test that has a holder picture into ``folder``
    (made if missing); return the files and a note per leak left undrawn."""
    written: list[Path] = []
    notes: list[str] = []
    for test in report.tests:
        if not test.leaked:
            continue
        picture = test.diagnosis.holder_graph
        if picture is None:
            notes.append(f"{test.id}: no holder chain to draw")
            continue
        folder.mkdir(parents=True, exist_ok=True)
        name = file_name(test.id)
        path = folder / f"{name}.png"
        count = 1
        while path in written:
            count += 1
            path = folder / f"{name}-{count}.png"
        path.write_bytes(picture)
        written.append(path)
    return written, notes

"""Files opened and never closed versus ``with open(...)``.

A config loader reads a small settings file on every request. The leaky
``read_settings_leaky`` opens the file and keeps the file object in a
module-level list of open handles (as a "reopen later" or debugging aid
might), so it is never closed: each call holds one more file descriptor,
and a long-running process eventually fails with "Too many open files".

The fixed ``read_settings`` opens the file in a ``with`` block, which closes
it as soon as the block ends, even when parsing raises.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest
from typing import IO

_folder = ""
_path = ""
_handles: list[IO[str]] = []


def setUpModule() -> None:
    global _folder, _path
    _folder = tempfile.mkdtemp(prefix="leakharness-files-")
    _path = os.path.join(_folder, "settings.ini")
    with open(_path, "w", encoding="utf-8") as out:
        out.write("camera = front-door\nfps = 15\nthreshold = 0.6\n")


def tearDownModule() -> None:
    for handle in _handles:
        handle.close()
    _handles.clear()
    shutil.rmtree(_folder, ignore_errors=True)


def parse(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def read_settings_leaky(path: str) -> dict[str, str]:
    handle = open(path, encoding="utf-8")  # leak: kept in _handles and never closed
    _handles.append(handle)
    return parse(handle.read())


def read_settings(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8") as handle:
        return parse(handle.read())


class FilesTest(unittest.TestCase):
    def test_leaky_file_never_closed(self) -> None:
        self.assertEqual(read_settings_leaky(_path)["fps"], "15")

    def test_fixed_with_open(self) -> None:
        self.assertEqual(read_settings(_path)["fps"], "15")


if __name__ == "__main__":
    unittest.main()

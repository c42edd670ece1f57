"""OpenCV video writers that are never released.

``cv2.VideoWriter`` keeps its output file open and its encoder state in
native memory until ``release()`` is called (or the object is destroyed).
The leaky ``record_clip_leaky`` writes a short clip and then files the writer
in a module-level list of recordings "to finish later", which never happens:
every clip costs an open file descriptor plus the encoder's buffers, and the
file may never get its index written.

The fixed ``record_clip`` releases the writer in a ``finally`` block, so the
file is finalised and closed even when a write fails.

Each test records one clip per codec per cycle, into a folder made with
``tempfile.mkdtemp()``: Motion JPEG (``MJPG``) in an AVI container and
MPEG-4 Part 2 (``mp4v``) in an MP4 container.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest
from typing import Any

import numpy as np

try:
    import cv2
except ImportError:  # the tests below are skipped
    cv2 = None  # type: ignore[assignment]

WIDTH, HEIGHT = 160, 120
FPS = 15.0
FRAMES_PER_CLIP = 4
CODECS = (("MJPG", ".avi"), ("mp4v", ".mp4"))

_folder = ""
_recordings: list[Any] = []  # writers "to finish later"


def setUpModule() -> None:
    global _folder
    _folder = tempfile.mkdtemp(prefix="leakharness-video-")


def tearDownModule() -> None:
    for writer in _recordings:
        writer.release()
    _recordings.clear()
    shutil.rmtree(_folder, ignore_errors=True)


def frames(count: int) -> list[np.ndarray]:
    """Synthetic BGR frames: a grey gradient with a bar moving across it."""
    gradient = np.tile(np.linspace(0, 200, WIDTH, dtype=np.uint8), (HEIGHT, 1))
    result = []
    for index in range(count):
        frame = np.dstack([gradient, gradient, gradient])
        column = index * WIDTH // count
        frame[:, column : column + 10] = (0, 0, 255)
        result.append(frame)
    return result


def check_opened(writer: Any, path: str, fourcc: str) -> None:
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {fourcc} to {path}")


def record_clip_leaky(path: str, fourcc: str) -> None:
    code = cv2.VideoWriter.fourcc(*fourcc)
    writer = cv2.VideoWriter(path, code, FPS, (WIDTH, HEIGHT))  # leak: filed below, never released
    check_opened(writer, path, fourcc)
    for frame in frames(FRAMES_PER_CLIP):
        writer.write(frame)
    _recordings.append(writer)  # "finish later": its file and encoder stay open


def record_clip(path: str, fourcc: str) -> None:
    code = cv2.VideoWriter.fourcc(*fourcc)
    writer = cv2.VideoWriter(path, code, FPS, (WIDTH, HEIGHT))
    check_opened(writer, path, fourcc)
    try:
        for frame in frames(FRAMES_PER_CLIP):
            writer.write(frame)
    finally:
        writer.release()


@unittest.skipIf(cv2 is None, "OpenCV (cv2) is not installed")
class VideoWriterTest(unittest.TestCase):
    def test_leaky_writer_not_released(self) -> None:
        for fourcc, suffix in CODECS:
            path = os.path.join(_folder, f"leaky-{fourcc}{suffix}")
            record_clip_leaky(path, fourcc)
            self.assertTrue(os.path.exists(path))

    def test_fixed_writer_released(self) -> None:
        for fourcc, suffix in CODECS:
            path = os.path.join(_folder, f"fixed-{fourcc}{suffix}")
            record_clip(path, fourcc)
            self.assertGreater(os.path.getsize(path), 0)


if __name__ == "__main__":
    unittest.main()

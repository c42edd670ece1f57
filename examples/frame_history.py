"""Frame history: an unbounded list of frames versus a preallocated ring buffer.

A motion detector compares each camera frame with the ones before it. The
leaky ``FrameHistory`` copies every frame into a list and never drops old
ones, so a long-running stream grows by a full frame (57,600 bytes at
160x120 RGB) per capture until the process runs out of memory.

The fixed ``FrameRing`` preallocates ``HISTORY`` frame slots in a single
numpy array and writes each new frame into slot ``count % HISTORY``,
overwriting the oldest one: memory is allocated once and stays flat however
long the stream runs.
"""

from __future__ import annotations

import unittest

import numpy as np

HEIGHT, WIDTH = 120, 160
SHAPE = (HEIGHT, WIDTH, 3)
HISTORY = 16
FRAMES_PER_CYCLE = 2


class Camera:
    """A fake camera that, like cv2.VideoCapture.read, reuses one buffer."""

    def __init__(self) -> None:
        self._buffer = np.zeros(SHAPE, dtype=np.uint8)
        self._tick = 0

    def read(self) -> np.ndarray:
        self._tick += 1
        self._buffer[:] = 0
        column = (self._tick * 7) % WIDTH
        self._buffer[:, column : column + 8] = 255  # a moving white bar
        return self._buffer


class FrameHistory:
    """Leaky: keeps a copy of every frame ever pushed."""

    def __init__(self) -> None:
        self._frames: list[np.ndarray] = []

    def push(self, frame: np.ndarray) -> None:
        self._frames.append(frame.copy())  # leak: a new copy per frame, and none is ever dropped

    def previous(self) -> np.ndarray | None:
        if len(self._frames) < 2:
            return None
        return self._frames[-2]


class FrameRing:
    """Fixed: the last ``size`` frames in one preallocated array."""

    def __init__(self, size: int) -> None:
        self._slots = np.zeros((size, *SHAPE), dtype=np.uint8)
        self._count = 0

    def push(self, frame: np.ndarray) -> None:
        self._slots[self._count % len(self._slots)] = frame  # copies into the oldest slot
        self._count += 1

    def previous(self) -> np.ndarray | None:
        if self._count < 2:
            return None
        frame: np.ndarray = self._slots[(self._count - 2) % len(self._slots)]
        return frame


def motion(frame: np.ndarray, previous: np.ndarray | None) -> float:
    """Mean absolute difference from the previous frame (0 for the first frame)."""
    if previous is None:
        return 0.0
    return float(np.abs(frame.astype(np.int16) - previous).mean())


_camera = Camera()
_history = FrameHistory()
_ring = FrameRing(HISTORY)


class FrameHistoryTest(unittest.TestCase):
    def test_leaky_unbounded_history(self) -> None:
        for _ in range(FRAMES_PER_CYCLE):
            frame = _camera.read()
            _history.push(frame)
            self.assertGreaterEqual(motion(frame, _history.previous()), 0.0)

    def test_fixed_ring_buffer(self) -> None:
        for _ in range(FRAMES_PER_CYCLE):
            frame = _camera.read()
            _ring.push(frame)
            self.assertGreaterEqual(motion(frame, _ring.previous()), 0.0)


if __name__ == "__main__":
    unittest.main()

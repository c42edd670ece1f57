"""A detection pipeline whose stop() leaves its worker threads behind.

A pipeline runs a small pool of ``threading.Thread`` workers that pull frames
from a ``queue.Queue``, "detect" bright blobs in them and put the counts on a
results queue. ``start()`` launches the workers; ``stop()`` must end them.

``LeakyDetectionPipeline.stop()`` only lowers a ``running`` flag and forgets
its threads. The workers are blocked in ``tasks.get()``, so they never look
at the flag again: each one waits forever, keeping its thread, its stack, the
last frame it processed and the whole pipeline (queues included) alive.
Every start/stop costs ``WORKERS`` threads.

``DetectionPipeline.stop()`` puts one sentinel per worker on the queue, so
each worker wakes up and returns, then joins them all: nothing is left
running when ``stop()`` returns.
"""

from __future__ import annotations

import queue
import threading
import unittest
from typing import Any

import numpy as np

WORKERS = 4
_STOP = object()  # the sentinel that tells a worker to return


def detect(frame: np.ndarray) -> int:
    """Count the bright pixels of a frame: a stand-in for a real detector."""
    return int(np.count_nonzero(frame > 200))


class _Pipeline:
    """The queues shared by both pipelines."""

    def __init__(self, workers: int = WORKERS) -> None:
        self.workers = workers
        self._threads: list[threading.Thread] = []
        self._tasks: queue.Queue[Any] = queue.Queue()  # frames, or _STOP
        self._results: queue.Queue[int] = queue.Queue()

    def submit(self, frame: np.ndarray) -> None:
        self._tasks.put(frame)

    def result(self, timeout: float = 5.0) -> int:
        return self._results.get(timeout=timeout)


class LeakyDetectionPipeline(_Pipeline):
    """Leaky: stop() lowers a flag that blocked workers never see."""

    running = False

    def start(self) -> None:
        self.running = True
        for index in range(self.workers):
            name = f"leaky-detector-{index}"
            thread = threading.Thread(target=self._work, name=name, daemon=True)  # leak: stop() never ends it
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        while self.running:
            item = self._tasks.get()  # blocks until a frame arrives, flag or no flag
            self._results.put(detect(item))

    def stop(self) -> None:
        self.running = False  # no sentinel, no join: the workers stay blocked in get()
        self._threads.clear()


class DetectionPipeline(_Pipeline):
    """Fixed: stop() wakes every worker with a sentinel and joins it."""

    def start(self) -> None:
        for index in range(self.workers):
            name = f"detector-{index}"
            thread = threading.Thread(target=self._work, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        while True:
            item = self._tasks.get()
            if item is _STOP:
                return
            self._results.put(detect(item))

    def stop(self) -> None:
        for _ in self._threads:
            self._tasks.put(_STOP)
        for thread in self._threads:
            thread.join()
        self._threads.clear()


def frame(seed: int) -> np.ndarray:
    image = np.zeros((48, 64), dtype=np.uint8)
    image[seed % 40 : seed % 40 + 8, 10:20] = 255
    return image


def run_pipeline(pipeline: LeakyDetectionPipeline | DetectionPipeline, frames: int) -> list[int]:
    pipeline.start()
    try:
        for seed in range(frames):
            pipeline.submit(frame(seed))
        return [pipeline.result() for _ in range(frames)]
    finally:
        pipeline.stop()


class WorkerPoolTest(unittest.TestCase):
    def test_leaky_stop(self) -> None:
        counts = run_pipeline(LeakyDetectionPipeline(), frames=4)
        self.assertEqual(counts, [80] * 4)

    def test_fixed_stop(self) -> None:
        counts = run_pipeline(DetectionPipeline(), frames=4)
        self.assertEqual(counts, [80] * 4)

    def test_leaky_rapid_start_stop(self) -> None:
        pipeline = LeakyDetectionPipeline()
        for _ in range(5):
            pipeline.start()
            pipeline.stop()

    def test_fixed_rapid_start_stop(self) -> None:
        pipeline = DetectionPipeline()
        for _ in range(5):
            pipeline.start()
            pipeline.stop()


if __name__ == "__main__":
    unittest.main()

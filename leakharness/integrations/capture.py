"""``--buffer``: a test's stdout, stderr and logging, captured as ``unittest -b`` does.

The output goes to a temporary file, not to memory: a test that prints every
cycle would otherwise grow a buffer in the measured cycles, and that growth
would read as its leak. Logging handlers that write to the real stdout or
stderr are pointed at the file too, and back afterwards.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

KEPT_CHARACTERS = 65536  # of a test's output, in the report; the rest is counted


class Captured:
    """What a block printed, read back once it is over."""

    def __init__(self, file: IO[str] | None) -> None:
        self._file = file
        self.text = ""

    def read(self) -> None:
        if self._file is None:
            return
        self._file.flush()
        self._file.seek(0)
        text = self._file.read(KEPT_CHARACTERS)
        rest = len(self._file.read())
        self.text = text + (f"\n[... {rest} more characters not kept]\n" if rest else "")


def _stream_handlers(streams: tuple[object, ...]) -> list[logging.StreamHandler[IO[str]]]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    return [
        handler
        for logger in loggers
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler) and handler.stream in streams
    ]


@contextmanager
def captured(enabled: bool = True) -> Iterator[Captured]:
    """Send stdout, stderr and logging of the block to a temporary file; its
    text (first ``KEPT_CHARACTERS``) is in the result's ``text`` afterwards."""
    if not enabled:
        yield Captured(None)
        return
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as file:
        result = Captured(file)
        stdout, stderr = sys.stdout, sys.stderr
        handlers = _stream_handlers((stdout, stderr, sys.__stdout__, sys.__stderr__))
        streams = [handler.setStream(file) for handler in handlers]
        sys.stdout, sys.stderr = file, file
        try:
            yield result
        finally:
            sys.stdout, sys.stderr = stdout, stderr
            for handler, stream in zip(handlers, streams, strict=True):
                handler.setStream(stream)  # type: ignore[arg-type]
            result.read()

"""A logging handler added on every call versus once.

``get_logger_leaky`` configures the "pipeline" logger each time it is
called: it creates a new ``logging.StreamHandler`` (here writing to an
``io.StringIO``) and adds it to the logger. Loggers are process-wide
singletons, so the handlers pile up: each call keeps one more handler, its
lock and its stream alive, and every message that passes the level is
written once per handler added so far, so log calls get slower too.

``get_logger`` adds its handler only when the logger has none yet, so
repeated calls return the same, already configured logger.
"""

from __future__ import annotations

import io
import logging
import unittest

FORMAT = "%(levelname)s %(name)s: %(message)s"


def get_logger_leaky() -> logging.Logger:
    logger = logging.getLogger("examples.pipeline.leaky")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.StreamHandler(io.StringIO())  # leak: one more handler per call, never removed
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    return logger


def get_logger() -> logging.Logger:
    logger = logging.getLogger("examples.pipeline.fixed")
    if not logger.handlers:  # configure once
        logger.setLevel(logging.INFO)
        logger.propagate = False
        handler = logging.StreamHandler(io.StringIO())
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
    return logger


def process(logger: logging.Logger, frame_number: int) -> None:
    logger.debug("frame %d decoded", frame_number)  # below INFO: nothing written


class LoggingHandlersTest(unittest.TestCase):
    def test_leaky_handler_per_call(self) -> None:
        logger = get_logger_leaky()
        process(logger, 1)
        self.assertTrue(logger.handlers)

    def test_fixed_handler_once(self) -> None:
        logger = get_logger()
        process(logger, 1)
        self.assertEqual(len(logger.handlers), 1)


def tearDownModule() -> None:
    for name in ("examples.pipeline.leaky", "examples.pipeline.fixed"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()


if __name__ == "__main__":
    unittest.main()

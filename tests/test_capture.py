"""--buffer's capture: stdout, stderr and logging to a file, restored after, and
a test that prints every cycle still measures as clean."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from leakharness.config import Settings
from leakharness.examine import examine
from leakharness.integrations import capture
from leakharness.integrations.capture import captured
from leakharness.judge.verdict import Verdict


@contextmanager
def chatty_logger(name: str) -> Iterator[logging.Logger]:
    """A logger with a handler on the stderr of the moment, as logging.basicConfig()
    makes, and no other: pytest's own handlers keep every record (a leak)."""
    log = logging.getLogger(name)
    handlers, log.handlers = log.handlers, [logging.StreamHandler(sys.stderr)]
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield log
    finally:
        log.handlers, log.propagate = handlers, True


def test_stdout_stderr_and_logging_are_captured_and_restored() -> None:
    stdout, stderr = sys.stdout, sys.stderr
    with chatty_logger("leakharness-tests.restored") as logger:
        handler = logger.handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        with captured() as output:
            print("to stdout")
            sys.stderr.write("to stderr\n")
            logger.info("to a log")
        assert output.text == "to stdout\nto stderr\nto a log\n"
        assert (sys.stdout, sys.stderr, handler.stream) == (stdout, stderr, stderr)


def test_disabled_capture_leaves_output_alone(capsys: pytest.CaptureFixture[str]) -> None:
    with captured(enabled=False) as output:
        print("shown")
    assert output.text == ""
    assert capsys.readouterr().out == "shown\n"


def test_long_output_is_cut_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture, "KEPT_CHARACTERS", 10)
    with captured() as output:
        print("x" * 24)
    assert output.text == "x" * 10 + "\n[... 15 more characters not kept]\n"


def test_output_is_captured_even_when_the_block_raises() -> None:
    with pytest.raises(ValueError), captured() as output:
        print("before")
        raise ValueError("boom")
    assert output.text == "before\n"


def test_a_cycle_that_prints_and_logs_is_clean_under_capture() -> None:
    # Kept in memory, 90 characters a cycle would read as a leak of 90 characters a cycle.
    with chatty_logger("leakharness-tests.chatty") as logger:

        def chatty() -> None:
            print("frame processed " * 5)
            logger.info("frame %d", 7)

        settings = Settings(max_cycles=200, min_cycles=200, resources=["heap", "objects", "fds"])
        with captured() as output:
            report = examine(chatty, settings)
    assert report.verdict is Verdict.CLEAN, report.reason
    assert output.text.startswith("frame processed frame processed")
    assert output.text.count("frame 7") > 200  # warm-up, detection and all

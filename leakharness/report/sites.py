"""A leak in one line: what grows, where (the first project line the report
names), and what keeps it alive. Shared by ``-q``, JUnit messages and annotations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from leakharness.frames import Frame, display_path

if TYPE_CHECKING:
    from leakharness.report.model import TestReport

_INSTALLED = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")


def named_frames(test: TestReport) -> Iterator[Frame]:
    """Every frame the report names, in the order it shows them: the located
    lines with their tracebacks, then where leaked threads, fds, tasks and
    unclosed objects were made."""
    for line in test.lines:
        yield Frame(line.file, line.line)
        yield from line.traceback
    for threads in test.diagnosis.threads:
        yield from threads.example.start_stack
    for fds in test.diagnosis.fds:
        yield from fds.example.created
    for tasks in test.diagnosis.tasks:
        yield from tasks.example.created
    for unclosed in test.diagnosis.unclosed:
        yield from unclosed.example.created


def project_site(test: TestReport, root: str | None = None) -> Frame | None:
    """The first frame named in a file below ``root`` (default: the working
    directory) that is not an installed package."""
    top = os.path.realpath(root or os.getcwd()) + os.sep
    for frame in named_frames(test):
        real = os.path.realpath(frame.file)
        if real.startswith(top) and not any(part in real for part in _INSTALLED):
            return frame
    return None


def relative_path(frame: Frame, root: str | None = None) -> str:
    """The frame's file relative to ``root`` (default: the working directory), with ``/``."""
    real = os.path.realpath(frame.file)
    return os.path.relpath(real, os.path.realpath(root or os.getcwd())).replace(os.sep, "/")


def one_line(test: TestReport, root: str | None = None) -> str:
    """``leaks file descriptors +1.04 fds/cycle at files.py:47; kept alive by module files → ...``:
    the first project line below ``root`` (default: the working directory), else the first line."""
    text = test.reason
    site = project_site(test, root)
    if site is not None:
        text += f" at {relative_path(site, root)}:{site.line}"
    elif test.lines:
        text += f" at {display_path(test.lines[0].file)}:{test.lines[0].line}"
    if test.diagnosis.holders:
        text += f"; kept alive by {test.diagnosis.holders[0].path}"
    return text

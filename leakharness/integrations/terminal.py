"""The command line's console: its width in CI logs, lines without trailing
spaces, and the progress display (between tests and within a long one)."""

from __future__ import annotations

import sys
import unittest
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO

from rich.cells import cached_cell_len
from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from leakharness.config import Settings
from leakharness.integrations.hunt import hunt
from leakharness.measure.caches import register_cache, unregister_cache
from leakharness.report.console import make_console, strip_trailing
from leakharness.report.model import Report

Hunter = Callable[..., Report]  # hunt, or parallel.hunt_in_workers with its jobs bound
LOG_WIDTH = 100  # columns when the output is not a terminal and COLUMNS is not set


def log_width(environ: Mapping[str, str]) -> int:
    """``COLUMNS`` when it is a positive number, else ``LOG_WIDTH``."""
    columns = environ.get("COLUMNS", "").strip()
    return int(columns) if columns.isdigit() and int(columns) > 0 else LOG_WIDTH


def run_console(environ: Mapping[str, str], file: IO[str] | None = None) -> Console:
    """A terminal's own width; otherwise (a CI log, a pipe) ``log_width``."""
    stream = file or sys.stdout
    console = make_console(file=stream)
    return console if console.is_terminal else make_console(file=stream, width=log_width(environ))


def print_all(console: Console, renderables: Iterable[RenderableType], *, soft_wrap: bool = False) -> None:
    """Print each renderable with the spaces rich pads lines with taken off their ends."""
    for renderable in renderables:
        with console.capture() as capture:
            console.print(renderable, soft_wrap=soft_wrap)
        console.file.write(strip_trailing(capture.get()))
        console.file.flush()


@contextmanager
def registered(clear: Callable[[], object]) -> Iterator[None]:
    """``clear`` is called between cycles while the block runs."""
    register_cache(clear)
    try:
        yield
    finally:
        unregister_cache(clear)


def run(
    tests: list[unittest.TestCase],
    settings: Settings,
    console: Console,
    *,
    quiet: bool,
    buffer: bool,
    hunter: Hunter = hunt,
) -> Report:
    """Hunt ``tests``, with a progress bar on a terminal (not with ``quiet``):
    the test being hunted, its cycles so far and the time its budget has left.
    The bar is drawn only when told, between tests and between cycles: refreshed
    by its own thread, it allocated while cycles ran and rich's lines showed up
    among the growing ones."""
    if not console.is_terminal or quiet:
        return hunter(tests, settings, buffer=buffer)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    progress = Progress(*columns, console=console, transient=True, auto_refresh=False)
    # Drawing measures each new text's width through an lru_cache: emptied
    # between cycles, or each tick would add its text to the heap (+6 blocks).
    with progress, registered(cached_cell_len.cache_clear):
        task = progress.add_task("hunting", total=len(tests))
        current = "hunting"

        def advance(index: int, total: int, test_id: str) -> None:
            nonlocal current
            current = test_id.rsplit(".", 2)[-1][:40]
            progress.update(task, completed=index, description=current)
            progress.refresh()

        def tick(cycles: int, left: float) -> None:
            progress.update(task, description=f"{current}: {cycles} cycles, {max(0.0, left):.0f} s left")
            progress.refresh()

        return hunter(tests, settings, advance, buffer=buffer, tick=tick)

"""Helpers the benchmark scripts share: the machine line and plain tables."""

from __future__ import annotations

import datetime
import os
import platform
import resource
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def nproc() -> int:
    """Cores this process may use, as ``nproc`` prints them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def children_cpu() -> float:
    """User + sys CPU seconds of this process's finished children so far:
    deltas around a run are less sensitive to a loaded machine than wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_line(command: str) -> str:
    """Markdown lines naming the command, the machine and the date."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"command: `{command}`  \nmachine: {nproc()} cores (nproc), "
        f"Python {platform.python_version()}, {platform.platform()}  \ndate: {now}"
    )


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """Left-aligned columns of plain text."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) for r in [header, *rows])


@contextmanager
def scratch(prefix: str, keep: str | None = None) -> Iterator[Path]:
    """A temporary folder, copied to ``keep`` (when given) and removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        if keep:
            shutil.copytree(work, keep, dirs_exist_ok=True)
            print(f"kept in {keep}")
        shutil.rmtree(work, ignore_errors=True)


def publish(text: str, markdown: str, out: str | None) -> None:
    """Print the plain tables; write the Markdown to ``out`` when given."""
    print("\n" + text)
    if out:
        Path(out).write_text(markdown)

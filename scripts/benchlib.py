"""Helpers the benchmark scripts share: the machine line and plain tables."""

from __future__ import annotations

import datetime
import os
import platform


def nproc() -> int:
    """Cores this process may use, as ``nproc`` prints them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


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

"""Rich renderers of a report's diagnosis: holders, then one table per kind of
leaked thing (threads, tasks, unclosed objects, descriptors, children) and
the line-by-line memory profile."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from leakharness.diagnose.diagnosis import Diagnosis, Group
from leakharness.diagnose.findings import Reportable
from leakharness.frames import Frame, display_path

T = TypeVar("T", bound=Reportable)


def inside_text(inside: Frame | None) -> Text:
    """`` in psycopg/types/json.py:103``: the library frame beneath a project line."""
    return Text(f" in {inside.place}", style="dim") if inside else Text()


def _origin_text(frames: Sequence[Frame], inside: Frame | None) -> Text:
    """Where a thread was started or a descriptor opened: the project line
    (and its source), then the library frame beneath it."""
    if not frames:
        return Text("-", style="dim")
    text = Text(frames[0].place, style="cyan")
    if frames[0].source:
        text.append(f"  {frames[0].source}", style="default")
    return text.append_text(inside_text(inside))


def _table(*columns: str) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for name in columns:
        table.add_column(name, overflow="fold", justify="right" if name == "count" else "left")
    return table


def diagnosis_parts(diagnosis: Diagnosis) -> Iterator[RenderableType]:
    """Who holds the leak, and where leaked threads, fds and children came from."""
    for holder in diagnosis.holders:
        text = Text("kept alive by: ", style="bold")
        text.append(holder.path)
        yield text
    for part in (
        _threads_table(diagnosis),
        _tasks_table(diagnosis),
        _unclosed_table(diagnosis),
        _fds_table(diagnosis),
        _children_table(diagnosis),
        _memory_table(diagnosis),
    ):
        if part.row_count:
            yield part


def _origins_table(
    columns: tuple[str, str, str],
    groups: Sequence[Group[T]],
    cells: Callable[[T], tuple[str, str, Sequence[Frame], Frame | None]],
) -> Table:
    """A count, two columns of text and an origin per group of alike leaked things."""
    table = _table("count", *columns)
    for each in groups:
        name, what, frames, inside = cells(each.example)
        table.add_row(Text(str(each.count)), Text(name), Text(what), _origin_text(frames, inside))
    return table


def _threads_table(diagnosis: Diagnosis) -> Table:
    return _origins_table(
        ("leaked thread", "target", "started at"),
        diagnosis.threads,
        lambda thread: (thread.name, thread.target or "-", thread.start_stack, thread.inside),
    )


def _tasks_table(diagnosis: Diagnosis) -> Table:
    table = _table("count", "leaked task", "waiting at", "created at")
    for tasks in diagnosis.tasks:
        task = tasks.example
        waiting = (task.waiting_at,) if task.waiting_at else ()
        table.add_row(
            Text(str(tasks.count)),
            Text(task.coroutine),
            _origin_text(waiting, None),
            _origin_text(task.created, task.inside),
        )
    return table


def _unclosed_table(diagnosis: Diagnosis) -> Table:
    return _origins_table(
        ("left unclosed", "warning", "created at"),
        diagnosis.unclosed,
        lambda unclosed: (unclosed.kind, unclosed.message, unclosed.created, unclosed.inside),
    )


def _fds_table(diagnosis: Diagnosis) -> Table:
    return _origins_table(
        ("leaked fd", "what", "opened at"),
        diagnosis.fds,
        lambda fd: (fd.kind.value, fd.description, fd.created, fd.inside),
    )


def _children_table(diagnosis: Diagnosis) -> Table:
    table = _table("count", "child process", "command")
    for children in diagnosis.children:
        child = children.example
        table.add_row(Text(str(children.count)), Text(child.status.value), Text(child.command))
    return table


def _memory_table(diagnosis: Diagnosis) -> Table:
    table = _table("line", "source", "process memory")
    for usage in diagnosis.memory_lines:
        table.add_row(
            Text(f"{display_path(usage.file)}:{usage.line}", style="cyan"),
            Text(usage.source),
            Text(f"{usage.increment_mib:+.1f} MiB"),
        )
    return table

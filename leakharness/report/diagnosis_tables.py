"""Rich renderers of a report's diagnosis: holders, then one table per kind of
leaked thing (threads, tasks, unclosed objects, descriptors, children) and
the line-by-line memory profile."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from leakharness.diagnose.diagnosis import Diagnosis
from leakharness.frames import Frame, display_path


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


def _threads_table(diagnosis: Diagnosis) -> Table:
    table = _table("count", "leaked thread", "target", "started at")
    for threads in diagnosis.threads:
        thread = threads.example
        table.add_row(
            Text(str(threads.count)),
            Text(thread.name),
            Text(thread.target or "-"),
            _origin_text(thread.start_stack, thread.inside),
        )
    return table


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
    table = _table("count", "left unclosed", "warning", "created at")
    for group in diagnosis.unclosed:
        unclosed = group.example
        table.add_row(
            Text(str(group.count)),
            Text(unclosed.kind),
            Text(unclosed.message),
            _origin_text(unclosed.created, unclosed.inside),
        )
    return table


def _fds_table(diagnosis: Diagnosis) -> Table:
    table = _table("count", "leaked fd", "what", "opened at")
    for fds in diagnosis.fds:
        fd = fds.example
        table.add_row(
            Text(str(fds.count)),
            Text(fd.kind.value),
            Text(fd.description),
            _origin_text(fd.created, fd.inside),
        )
    return table


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

"""HTML parts of one test's diagnosis: sites with tracebacks, growing types,
the holder chain (and its picture), leaked threads, descriptors, tasks,
objects left unclosed, children.

Every string from the report goes through ``html.escape``; each function
returns markup, or "" when it has nothing to show.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

from leakharness.diagnose.diagnosis import Diagnosis
from leakharness.diagnose.locate import Line, TypeGrowth
from leakharness.frames import Frame, display_path
from leakharness.units import signed_size

Row = Sequence[str]  # cells, already markup


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def part(title: str, body: str, css: str = "") -> str:
    """A titled part of a test's section, or "" for an empty ``body``."""
    if not body:
        return ""
    return f'<section class="part {css}"><h3>{escape(title)}</h3>{body}</section>'


def where(file: str, line: int) -> str:
    """``path:line``, shortened, with the full path as a tooltip."""
    return f'<span class="where" title="{escape(file)}">{escape(display_path(file))}:{line}</span>'


def code(text: str, missing: str = "(source not available)") -> str:
    return f"<code>{escape(text)}</code>" if text else f'<span class="muted">{escape(missing)}</span>'


def frames(stack: Sequence[Frame], inside: Frame | None = None) -> str:
    """A traceback, innermost first, one frame a line; library and standard
    library frames (``inside``, the one beneath a project line, first) dimmed."""
    items = "".join(
        f'<li class="{f.origin.value}">{where(f.file, f.line)} {code(f.source, "")}</li>'
        for f in ((inside,) if inside else ()) + tuple(stack)
    )
    return f'<ol class="frames">{items}</ol>'


def beneath(inside: Frame | None) -> str:
    """`` in psycopg/types/json.py:103``: the library frame beneath a project line."""
    return f' <span class="inside">in {where(inside.file, inside.line)}</span>' if inside else ""


def site(stack: Sequence[Frame], inside: Frame | None = None) -> str:
    """The first frame of ``stack`` (and the library frame beneath it), the rest folded under it."""
    if not stack:
        return '<span class="muted">unknown</span>'
    first = f"{where(stack[0].file, stack[0].line)}{beneath(inside)} {code(stack[0].source)}"
    if len(stack) == 1 and inside is None:
        return first
    count = len(stack) + (inside is not None)
    return f"{first}<details><summary>{plural(count, 'frame')}</summary>{frames(stack, inside)}</details>"


def table(headers: Sequence[str], rows: Sequence[Row], numeric: Sequence[int] = ()) -> str:
    """A table in a horizontally scrolling box; ``numeric`` columns align right."""
    if not rows:
        return ""

    def cells(tag: str, row: Row) -> str:
        return "".join(
            f'<{tag} class="num">{cell}</{tag}>' if i in numeric else f"<{tag}>{cell}</{tag}>"
            for i, cell in enumerate(row)
        )

    head = cells("th", [escape(h) for h in headers])
    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def sites(lines: Sequence[Line]) -> str:
    """The growing lines, ranked, each with its source and traceback."""
    items = []
    for rank, line in enumerate(lines, 1):
        library = "" if line.in_user_code else ' <span class="tag">outside user code</span>'
        items.append(
            f'<li class="site"><div class="site-head"><span class="rank">{rank}</span>'
            f"{where(line.file, line.line)}{beneath(line.inside)}{library}"
            f'<span class="num">{escape(signed_size(line.size_per_cycle))}/cycle</span>'
            f'<span class="num">{line.count_per_cycle:+.2f} blocks/cycle</span></div>'
            f'<pre class="source">{code(line.source)}</pre>'
            f"<details{' open' if rank == 1 else ''}><summary>allocated at, innermost first "
            f"({plural(len(line.traceback) + (line.inside is not None), 'frame')})</summary>"
            f"{frames(line.traceback, line.inside)}</details></li>"
        )
    return part(
        "Where the growing memory is allocated", f'<ol class="sites">{"".join(items)}</ol>' if items else ""
    )


def types(growths: Sequence[TypeGrowth]) -> str:
    rows = [[code(t.name), escape(f"{t.per_cycle:+.2f}")] for t in growths]
    return part("Growing types", table(["type", "objects/cycle"], rows, numeric=[1]))


def holders(diagnosis: Diagnosis) -> str:
    """Each holder chain as steps from its root, and the reference graph when drawn."""
    chains = []
    for holder in diagnosis.holders:
        steps = "".join(
            f"<li>{code(step.label)}</li>"
            if step.kind.root  # a root's label names its kind: "module app"
            else f'<li><span class="kind">{escape(step.kind.value)}</span> {code(step.label)}'
            + (
                f' <span class="via" title="how the previous step holds it">{escape(step.via)}</span>'
                if step.via
                else ""
            )
            + "</li>"
            for step in holder.steps
        )
        kept = f"<p>A {code(holder.type_name)} is kept alive by:</p>"
        chains.append(f'{kept}<ol class="chain">{steps}</ol>')
    if diagnosis.holder_graph:
        data = base64.b64encode(diagnosis.holder_graph).decode("ascii")
        chains.append(
            '<figure class="graph"><img alt="reference graph of the holder chain" '
            f'src="data:image/png;base64,{data}"><figcaption>references from the root to the leaked '
            "object, drawn with objgraph and graphviz</figcaption></figure>"
        )
    return part("What keeps it alive", "".join(chains))


def handles(diagnosis: Diagnosis) -> str:
    """Tables of the leaked threads, descriptors, asyncio tasks, objects left
    unclosed and child processes, and the process memory by line."""
    threads = [
        [
            str(g.count),
            escape(g.example.name) + (' <span class="tag">daemon</span>' if g.example.daemon else ""),
            code(g.example.target or "", "unknown"),
            site(g.example.start_stack, g.example.inside),
        ]
        for g in diagnosis.threads
    ]
    fds = [
        [
            str(g.count),
            escape(g.example.kind.value),
            code(g.example.description, "unknown"),
            site(g.example.created),
        ]
        for g in diagnosis.fds
    ]
    tasks = [
        [
            str(g.count),
            code(g.example.coroutine, "unknown"),
            site((g.example.waiting_at,) if g.example.waiting_at else ()),
            site(g.example.created, g.example.inside),
        ]
        for g in diagnosis.tasks
    ]
    unclosed = [
        [
            str(g.count),
            code(g.example.kind, "unknown"),
            escape(g.example.message),
            site(g.example.created, g.example.inside),
        ]
        for g in diagnosis.unclosed
    ]
    children = [
        [str(g.count), escape(g.example.status.value), code(g.example.command, "unknown")]
        for g in diagnosis.children
    ]
    memory = [
        [where(u.file, u.line), code(u.source), escape(f"{u.increment_mib:+.1f} MiB")]
        for u in diagnosis.memory_lines
    ]
    return "".join(
        (
            part("Leaked threads", table(["count", "thread", "target", "started at"], threads, [0])),
            part("Leaked file descriptors", table(["count", "kind", "what", "opened at"], fds, [0])),
            part(
                "Leaked asyncio tasks", table(["count", "coroutine", "waiting at", "created at"], tasks, [0])
            ),
            part("Left unclosed", table(["count", "object", "warning", "created at"], unclosed, [0])),
            part("Leaked child processes", table(["count", "status", "command"], children, [0])),
            part("Process memory by line", table(["line", "source", "added"], memory, [2])),
        )
    )

"""What a pytest run found, gathered where the terminal and ``--leaks-json`` are.

Each examined item's findings travel on its last (teardown) report, under
``user_properties`` as one JSON string named ``leakharness``: a pytest-xdist
worker sends its reports to the controller, which takes the entry out again
before anything else (junitxml, the terminal) sees the report. A serial run
goes the same way, so both gather the same findings.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakharness.judge.verdict import Verdict

PROPERTY = "leakharness"
SHOWN = (Verdict.LEAK.value, Verdict.INCONCLUSIVE.value)


@dataclass(frozen=True)
class Finding:
    """One TestReport in its JSON form, with its console text and its quiet line."""

    report: dict[str, Any]
    text: str
    line: str

    @property
    def verdict(self) -> str:
        return str(self.report["verdict"])

    @property
    def id(self) -> str:
        return str(self.report["id"])


def finding_of(test: Any, width: int = 100, color: bool = False) -> Finding:
    """The finding of a TestReport, rendered now (a controller has no TestReport)."""
    return Finding(test.to_dict(), render(test, width, color), quiet_line(test))


def render(test: Any, width: int, color: bool) -> str:
    from rich.console import Console

    from leakharness.report.console import strip_trailing

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
    )
    console.print(test)
    return strip_trailing(buffer.getvalue())


def quiet_line(test: Any) -> str:
    """``LEAK node_id: reason  (file:line  source)``: the verdict and the top site."""
    text = f"{test.verdict.value.upper()} {test.id}: {test.reason}"
    site = top_site(test)
    if site is not None:
        file, line, source = site
        text += f"  ({Path(file).name}:{line}  {source})"
    return text


def top_site(test: Any) -> tuple[str, int, str] | None:
    """The first line the report names: the top allocating line, else where the
    first leaked thread, descriptor, task or unclosed object was made."""
    if test.lines:
        top = test.lines[0]
        return top.file, top.line, top.source
    diagnosis = test.diagnosis
    for groups, stack in (
        (diagnosis.threads, "start_stack"),
        (diagnosis.fds, "created"),
        (diagnosis.tasks, "created"),
        (diagnosis.unclosed, "created"),
    ):
        frames = getattr(groups[0].example, stack, ()) if groups else ()
        if frames:
            return frames[0].file, frames[0].line, frames[0].source
    return None


def attach(report: Any, findings: list[Finding]) -> None:
    """Put ``findings`` on a pytest report, for a controller to gather."""
    payload = json.dumps([finding.__dict__ for finding in findings])
    report.user_properties = [*report.user_properties, (PROPERTY, payload)]


def take(report: Any) -> list[Finding]:
    """The findings on a pytest report, removed from it."""
    found = [value for name, value in report.user_properties if name == PROPERTY]
    if not found:
        return []
    report.user_properties = [(n, v) for n, v in report.user_properties if n != PROPERTY]
    return [Finding(**entry) for payload in found for entry in json.loads(payload)]


@dataclass
class Results:
    """The findings of a run, ordered as pytest collected the tests."""

    findings: list[Finding] = field(default_factory=list)
    order: dict[str, int] = field(default_factory=dict)

    def collected(self, node_ids: list[str]) -> None:
        for node_id in node_ids:
            self.order.setdefault(node_id, len(self.order))

    def add(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)

    def ordered(self) -> list[Finding]:
        def key(finding: Finding) -> tuple[int, str]:
            base = finding.id.split("#", 1)[0]
            return (self.order.get(base, len(self.order)), finding.id)

        return sorted(self.findings, key=key)

    def counts(self) -> dict[str, int]:
        return {v.value: sum(f.verdict == v.value for f in self.findings) for v in Verdict}

    def document(self, settings: dict[str, Any], seconds: float) -> dict[str, Any]:
        """The CLI's JSON document, with these findings as its tests."""
        from leakharness.report.model import Report

        document = Report(tests=(), settings=settings, seconds=seconds).to_dict()
        document["summary"] = self.counts()
        document["tests"] = [finding.report for finding in self.ordered()]
        return document

    def summary_line(self, seconds: float) -> str:
        counts = ", ".join(f"{n} {name}" for name, n in self.counts().items() if n)
        total = len(self.findings)
        return f"{total} test{'s' if total != 1 else ''} examined: {counts} in {seconds:.1f} s"

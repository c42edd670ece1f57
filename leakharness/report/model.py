"""The report value types: per-resource results, per-test reports, the run."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from typing import Any

from leakharness._version import __version__
from leakharness.diagnose.diagnosis import Diagnosis
from leakharness.diagnose.locate import Line, TypeGrowth
from leakharness.judge.classify import Classification
from leakharness.judge.verdict import Verdict, combine
from leakharness.resources import Resource

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ResourceResult:
    """The verdict on one resource of one test."""

    resource: Resource
    verdict: Verdict
    growth_per_cycle: float
    total_growth: float
    reason: str
    series: tuple[int, ...] = ()
    warning: str = ""

    @property
    def sort_key(self) -> tuple[int, str]:
        return (-self.verdict.rank, self.resource.value)

    def __repr__(self) -> str:
        return (
            f"<ResourceResult {self.resource.value} {self.verdict.value} "
            f"{self.growth_per_cycle:+g} {self.resource.unit}/cycle: {self.reason}>"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource.value,
            "label": self.resource.label,
            "unit": self.resource.unit,
            "verdict": self.verdict.value,
            "growth_per_cycle": self.growth_per_cycle,
            "total_growth": self.total_growth,
            "reason": self.reason,
            "warning": self.warning,
            "series": list(self.series),
        }


@dataclass(frozen=True)
class TestReport:
    """Everything found about one cycle or test."""

    __test__ = False  # not a pytest test class

    id: str
    verdict: Verdict
    cycles: int = 0
    seconds: float = 0.0
    resources: tuple[ResourceResult, ...] = ()
    warmup_cycles: int = 0
    lines: tuple[Line, ...] = ()
    types: tuple[TypeGrowth, ...] = ()
    located_cycles: int = 0
    reason: str = ""
    error: str | None = None
    notes: tuple[str, ...] = ()
    classification: Classification = field(default_factory=Classification)
    diagnosis: Diagnosis = field(default_factory=Diagnosis)
    output: str = ""  # captured stdout, stderr and logging (--buffer), kept for errors and leaks

    @property
    def leaked(self) -> bool:
        return self.verdict is Verdict.LEAK

    @property
    def leaks(self) -> tuple[ResourceResult, ...]:
        return tuple(r for r in self.resources if r.verdict is Verdict.LEAK)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Growth accepted by a tolerance but above its warning level."""
        return tuple(f"{r.resource.label}: {r.warning}" for r in self.resources if r.warning)

    def result(self, resource: Resource | str) -> ResourceResult:
        wanted = resource if isinstance(resource, Resource) else Resource.parse(resource)
        for result in self.resources:
            if result.resource is wanted:
                return result
        raise KeyError(f"{wanted.value} was not measured in {self.id}")

    def __repr__(self) -> str:
        leaks = ", ".join(r.resource.value for r in self.leaks) or "-"
        return f"<TestReport {self.id} {self.verdict.value} cycles={self.cycles} leaks={leaks}>"

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from leakharness.report.console import render_test

        yield from render_test(self)

    def __str__(self) -> str:
        from leakharness.report.console import to_text

        return to_text(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "cycles": self.cycles,
            "warmup_cycles": self.warmup_cycles,
            "seconds": round(self.seconds, 4),
            "resources": [r.to_dict() for r in self.resources],
            "lines": [line.to_dict() for line in self.lines],
            "types": [t.to_dict() for t in self.types],
            "located_cycles": self.located_cycles,
            "classification": self.classification.to_dict(),
            "diagnosis": self.diagnosis.to_dict(),
            "error": self.error,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "output": self.output,
        }


@dataclass(frozen=True)
class Report:
    """A run: the reports of its tests, and the settings they ran with."""

    tests: tuple[TestReport, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def verdict(self) -> Verdict:
        return combine(t.verdict for t in self.tests)

    @property
    def leaked(self) -> bool:
        return any(t.leaked for t in self.tests)

    @property
    def failed(self) -> bool:
        """Something leaked or errored: the CLI exits 1."""
        return any(t.verdict in (Verdict.LEAK, Verdict.ERROR) for t in self.tests)

    @property
    def lines(self) -> tuple[Line, ...]:
        """Ranked lines of every test, in test order."""
        return tuple(line for t in self.tests for line in t.lines)

    @property
    def resources(self) -> tuple[ResourceResult, ...]:
        """Per-resource results of every test, in test order."""
        return tuple(r for t in self.tests for r in t.resources)

    def counts(self) -> dict[str, int]:
        return {v.value: sum(t.verdict is v for t in self.tests) for v in Verdict}

    def __repr__(self) -> str:
        counts = " ".join(f"{k}={n}" for k, n in self.counts().items() if n)
        return f"<Report {len(self.tests)} tests {counts}>"

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from leakharness.report.console import render_report

        yield from render_report(self)

    def __str__(self) -> str:
        from leakharness.report.console import to_text

        return to_text(self)

    def to_dict(self) -> dict[str, Any]:

        return {
            "schema": SCHEMA_VERSION,
            "leakharness": __version__,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "settings": self.settings,
            "seconds": round(self.seconds, 4),
            "summary": self.counts(),
            "tests": [t.to_dict() for t in self.tests],
        }

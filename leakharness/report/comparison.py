"""Before and after: two runs' leaks compared per test and resource.

Both sides are JSON reports (docs/json-report.md) from any leakharness run,
the command line or the pytest plugin: tests are matched by their ``id``.
The same comparison gates a run against a baseline (``--baseline``) and
answers ``leakharness compare BEFORE.json AFTER.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from leakharness.errors import LeakHarnessError
from leakharness.resources import Resource

# A leak that grows more than 50 % faster per cycle than before has regressed.
# Reruns of the same leak differ far less: 1.00 to 1.04 fds/cycle, 13.0 to
# 13.9 blocks/cycle in the shipped examples.
REGRESSION_MARGIN = 0.5


class Change(Enum):
    """What became of one test's resource between two runs."""

    NEW = "new leak"
    REGRESSED = "regressed"
    STILL = "still leaking"
    FIXED = "fixed"
    GONE = "not measured"
    UNCHANGED = "unchanged"

    @property
    def fails(self) -> bool:
        return self in (Change.NEW, Change.REGRESSED)


@dataclass(frozen=True)
class RunLeaks:
    """One run's leaks: test id -> leaking resource -> growth per cycle."""

    leaks: dict[str, dict[str, float]]
    measured: frozenset[str]  # tests examined over cycles (not errors, skips or unrun)
    units: dict[str, str]

    @classmethod
    def from_dict(cls, data: Any, source: str) -> RunLeaks:
        tests = data.get("tests") if isinstance(data, dict) else None
        if not isinstance(tests, list):
            raise LeakHarnessError(f"{source}: not a leakharness JSON report (no 'tests' list)")
        leaks: dict[str, dict[str, float]] = {}
        measured, units = set(), {}
        try:
            for test in tests:
                leaks.setdefault(test["id"], {})
                if test["resources"]:
                    measured.add(test["id"])
                for result in test["resources"]:
                    units[result["resource"]] = result["unit"]
                    if result["verdict"] == "leak":
                        leaks[test["id"]][result["resource"]] = float(result["growth_per_cycle"])
        except (KeyError, TypeError, ValueError) as err:
            raise LeakHarnessError(
                f"{source}: a test entry is not as docs/json-report.md says ({err})"
            ) from err
        return cls(leaks, frozenset(measured), units)

    @classmethod
    def read(cls, path: Path) -> RunLeaks:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise LeakHarnessError(f"cannot read {path}: {err.strerror or err}") from err
        except ValueError as err:
            raise LeakHarnessError(f"{path}: not JSON ({err})") from err
        return cls.from_dict(data, str(path))


@dataclass(frozen=True)
class Difference:
    """One test's resource (None: the whole test) before and after."""

    test: str
    resource: str | None
    change: Change
    before: float | None = None
    after: float | None = None
    unit: str = ""

    @property
    def label(self) -> str:
        try:
            return Resource.parse(self.resource).label if self.resource else ""
        except ValueError:
            return self.resource or ""

    def __repr__(self) -> str:
        return f"<Difference {self.change.value} {self.test} {self.resource}: {self.before} -> {self.after}>"

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "resource": self.resource,
            "change": self.change.value,
            "before": self.before,
            "after": self.after,
            "unit": self.unit,
        }


@dataclass(frozen=True)
class Comparison:
    differences: tuple[Difference, ...]

    @property
    def failed(self) -> bool:
        """Something leaks that did not, or leaks faster: exit 1."""
        return any(d.change.fails for d in self.differences)

    def of(self, *changes: Change) -> tuple[Difference, ...]:
        return tuple(d for d in self.differences if d.change in changes)

    def counts(self) -> dict[str, int]:
        return {c.value: len(self.of(c)) for c in Change}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "regression_margin": REGRESSION_MARGIN,
            "summary": self.counts(),
            "differences": [d.to_dict() for d in self.differences],
        }


def compare(before: RunLeaks, after: RunLeaks) -> Comparison:
    """Every test's leaking resources, then the tests clean in both runs."""
    found: list[Difference] = []
    units = {**before.units, **after.units}
    for test in dict.fromkeys([*after.leaks, *before.leaks]):
        was, now = before.leaks.get(test, {}), after.leaks.get(test, {})
        for resource in dict.fromkeys([*now, *was]):
            unit = units.get(resource, "")
            found.append(_difference(test, resource, was.get(resource), now.get(resource), after, unit))
        if not was and not now and test in before.leaks and test in after.leaks:
            found.append(Difference(test, None, Change.UNCHANGED))
    order = list(Change)
    return Comparison(tuple(sorted(found, key=lambda d: order.index(d.change))))


def _difference(
    test: str, resource: str, before: float | None, after: float | None, run: RunLeaks, unit: str
) -> Difference:
    if after is None:
        change = Change.FIXED if test in run.measured else Change.GONE
    elif before is None:
        change = Change.NEW
    elif after > before * (1 + REGRESSION_MARGIN):
        change = Change.REGRESSED
    else:
        change = Change.STILL
    return Difference(test, resource, change, before, after, unit)

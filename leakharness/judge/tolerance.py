"""Tolerances: growth a user accepts, absolute (per cycle) or relative (% over the run).

A failure tolerance turns an accepted leak or inconclusive growth into a clean
verdict that says so; a warning tolerance, below it, flags accepted growth
that is still worth a look. Growth is accepted when it is within *either*
limit that is set, as leak test suites state it: "at most 64 KiB per cycle or
2 % over the run".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from leakharness.errors import LeakHarnessError
from leakharness.judge.verdict import Judgement, Verdict
from leakharness.units import is_real, signed_amount


@dataclass(frozen=True)
class Tolerance:
    """Accepted growth: ``per_cycle`` in the resource's unit, ``percent`` of
    the baseline over the whole run. Either may be None (not set)."""

    per_cycle: float | None = None
    percent: float | None = None

    def __post_init__(self) -> None:
        for name in ("per_cycle", "percent"):
            value = getattr(self, name)
            if value is not None and not _finite_at_least_zero(value):
                raise LeakHarnessError(f"tolerance {name} must be a number >= 0 (got {value!r})")
        if self.per_cycle is None and self.percent is None:
            raise LeakHarnessError("a tolerance needs per_cycle or percent")

    @classmethod
    def parse(cls, value: Any) -> Tolerance:
        """``65536`` (per cycle), ``"2%"`` (over the run), or a table with both."""
        if isinstance(value, Tolerance):
            return value
        if isinstance(value, str) and value.strip().endswith("%"):
            return cls(percent=_number(value.strip()[:-1], value))
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"per_cycle", "percent"})
            if unknown:
                raise LeakHarnessError(f"unknown tolerance key {unknown[0]!r} (known: per_cycle, percent)")
            # None is how to_dict() writes an absent part: the table reads back as it was written
            return cls(**{k: _number(v, v) for k, v in value.items() if v is not None})
        return cls(per_cycle=_number(value, value))

    def allows(self, growth_per_cycle: float, total_growth: float, baseline: float) -> bool:
        if self.per_cycle is not None and growth_per_cycle <= self.per_cycle:
            return True
        if self.percent is not None and baseline > 0:
            return 100.0 * total_growth / baseline <= self.percent
        return False

    def describe(self, unit: str) -> str:
        parts = []
        if self.per_cycle is not None:
            parts.append(f"{signed_amount(self.per_cycle, unit)}/cycle")
        if self.percent is not None:
            parts.append(f"{self.percent:g} % over the run")
        return " or ".join(parts)

    def to_dict(self) -> dict[str, float | None]:
        return {"per_cycle": self.per_cycle, "percent": self.percent}


@dataclass(frozen=True)
class Tolerated:
    """A judgement after tolerances, with a warning when one applies."""

    judgement: Judgement
    warning: str = ""


def tolerate(
    judgement: Judgement,
    series: Sequence[float],
    unit: str,
    fail: Tolerance | None = None,
    warn: Tolerance | None = None,
) -> Tolerated:
    """Apply a failure and a warning tolerance to a judged series."""
    if judgement.verdict not in (Verdict.LEAK, Verdict.INCONCLUSIVE) or judgement.total_growth <= 0:
        return Tolerated(judgement)
    rate = judgement.growth_per_cycle  # the rate the report shows, so the two agree
    baseline = float(series[0]) if series else 0.0
    growth = f"{signed_amount(rate, unit)}/cycle, {_percent(judgement.total_growth, baseline)}"
    if fail is None or not fail.allows(rate, judgement.total_growth, baseline):
        return Tolerated(judgement)
    # Settled only if the judgement was: an early one's rate is a guess (0 for a series that
    # "moved in its first cycles"), and a watched server's USS tolerated at 6 rounds then
    # ended the run, to be judged a leak of +326 KiB a round at that length.
    accepted = replace(
        judgement,
        verdict=Verdict.CLEAN,
        growth_per_cycle=0.0,
        reason=f"within tolerance ({growth} ≤ {fail.describe(unit)}): {judgement.reason}",
    )
    if warn is not None and not warn.allows(rate, judgement.total_growth, baseline):
        return Tolerated(accepted, f"growth {growth} is above the warning level {warn.describe(unit)}")
    return Tolerated(accepted)


def _percent(total: float, baseline: float) -> str:
    if baseline <= 0:
        return "baseline 0"
    return f"{100.0 * total / baseline:+.2g} % over the run"


def _finite_at_least_zero(value: object) -> bool:
    return is_real(value) and 0 <= value < math.inf  # type: ignore[operator]


def _number(text: Any, shown: Any) -> float:
    if isinstance(text, bool):
        raise LeakHarnessError(f"tolerance must be a number or 'N%' (got {shown!r})")
    try:
        return float(text)
    except (TypeError, ValueError):
        raise LeakHarnessError(f"tolerance must be a number or 'N%' (got {shown!r})") from None

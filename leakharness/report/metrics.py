"""OpenMetrics text: per test and resource, the growth per cycle and whether it leaks.

For a Prometheus textfile collector or a pushgateway. Units stay the
resource's own (a ``unit`` label), so one metric family holds them all.
"""

from __future__ import annotations

from leakharness.judge.verdict import Verdict
from leakharness.report.model import Report


def label(value: str) -> str:
    """A label value with ``\\``, ``"`` and newlines escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics(report: Report) -> str:
    growth = [
        "# TYPE leakharness_growth_per_cycle gauge",
        "# HELP leakharness_growth_per_cycle Growth of a watched resource per cycle, in its unit.",
    ]
    leaking = [
        "# TYPE leakharness_leak gauge",
        "# HELP leakharness_leak 1 when the resource leaks, else 0.",
    ]
    for test in report.tests:
        for result in test.resources:
            labels = (
                f'test="{label(test.id)}",resource="{result.resource.value}",unit="{result.resource.unit}"'
            )
            growth.append(f"leakharness_growth_per_cycle{{{labels}}} {result.growth_per_cycle:g}")
            leaking.append(f"leakharness_leak{{{labels}}} {int(result.verdict is Verdict.LEAK)}")
    return "\n".join([*growth, *leaking, "# EOF"]) + "\n"

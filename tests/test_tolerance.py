"""Tolerances on number sequences: absolute, relative, warning and failure levels."""

from __future__ import annotations

from itertools import accumulate

import pytest

from leakharness.errors import LeakHarnessError
from leakharness.judge.tolerance import Tolerance, tolerate
from leakharness.judge.verdict import Verdict, judge


def series(baseline: int, deltas: list[int]) -> list[int]:
    return list(accumulate([baseline, *deltas]))


STEADY = series(10_000, [100] * 60)  # +100 per cycle, +60 % over the run


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (65536, Tolerance(per_cycle=65536.0)),
        ("2%", Tolerance(percent=2.0)),
        (" 2.5 % ", Tolerance(percent=2.5)),
        ({"per_cycle": 1, "percent": 5}, Tolerance(per_cycle=1.0, percent=5.0)),
    ],
)
def test_parse(value: object, expected: Tolerance) -> None:
    assert Tolerance.parse(value) == expected


@pytest.mark.parametrize("value", [True, "lots", "-2%", {"per_cycle": -1}, {"max": 3}, {}, None])
def test_parse_rejects(value: object) -> None:
    with pytest.raises(LeakHarnessError):
        Tolerance.parse(value)


@pytest.mark.parametrize(
    ("tolerance", "accepted"),
    [
        (Tolerance(per_cycle=100), True),
        (Tolerance(per_cycle=99), False),
        (Tolerance(percent=60), True),
        (Tolerance(percent=59), False),
        (Tolerance(per_cycle=1, percent=70), True),  # either limit suffices
    ],
)
def test_failure_tolerance_turns_an_accepted_leak_clean(tolerance: Tolerance, accepted: bool) -> None:
    judged = judge(STEADY, min_cycles=3, unit="blocks")
    assert judged.verdict is Verdict.LEAK
    result = tolerate(judged, STEADY, "blocks", fail=tolerance)
    assert (result.judgement.verdict is Verdict.CLEAN) is accepted
    if accepted:
        assert result.judgement.reason.startswith("within tolerance (+100 blocks/cycle, +60 % over the run")
        assert result.judgement.growth_per_cycle == 0.0


def test_warning_level_flags_accepted_growth_above_it() -> None:
    judged = judge(STEADY, min_cycles=3, unit="bytes")
    warned = tolerate(judged, STEADY, "bytes", fail=Tolerance(per_cycle=1024), warn=Tolerance(per_cycle=50))
    assert warned.judgement.verdict is Verdict.CLEAN
    assert warned.warning == (
        "growth +100 B/cycle, +60 % over the run is above the warning level +50 B/cycle"
    )
    quiet = tolerate(judged, STEADY, "bytes", fail=Tolerance(per_cycle=1024), warn=Tolerance(per_cycle=200))
    assert quiet.warning == ""


def test_growth_beyond_the_failure_level_stays_a_leak_without_warning() -> None:
    judged = judge(STEADY, min_cycles=3)
    result = tolerate(judged, STEADY, "", fail=Tolerance(per_cycle=10), warn=Tolerance(per_cycle=1))
    assert result.judgement.verdict is Verdict.LEAK
    assert result.warning == ""


def test_inconclusive_growth_within_tolerance_is_clean() -> None:
    irregular = series(500, ([5] + [0] * 19) * 3)  # windows of 10: [5, 0, 5, 0, 5, 0]
    judged = judge(irregular, min_cycles=3)
    assert judged.verdict is Verdict.INCONCLUSIVE
    assert tolerate(judged, irregular, "", fail=Tolerance(per_cycle=1)).judgement.verdict is Verdict.CLEAN


def test_a_percent_tolerance_needs_a_baseline() -> None:
    from_zero = series(0, [1] * 60)
    judged = judge(from_zero, min_cycles=3)
    assert tolerate(judged, from_zero, "", fail=Tolerance(percent=1000)).judgement.verdict is Verdict.LEAK


def test_clean_series_are_untouched() -> None:
    flat = series(100, [0] * 60)
    judged = judge(flat, min_cycles=3)
    assert (
        tolerate(judged, flat, "", fail=Tolerance(per_cycle=0), warn=Tolerance(per_cycle=0)).judgement
        is judged
    )


def test_a_warning_level_needs_a_tolerance() -> None:
    from leakharness import Settings

    with pytest.raises(LeakHarnessError, match="a warning level for rss needs a tolerance for it too"):
        Settings(warn_tolerances={"rss": 1024})
    assert Settings(tolerances={"rss": 4096}, warn_tolerances={"rss": 1024}).warn_tolerances


def test_an_unsettled_judgement_stays_unsettled_within_tolerance() -> None:
    early = series(1000, [0, 0, 0, 300, 300, 300])  # 6 cycles: windows of 2, "moved in its first cycles"
    judged = judge(early, min_cycles=6, final=False)
    assert judged.verdict is Verdict.INCONCLUSIVE and not judged.settled
    result = tolerate(judged, early, "bytes", fail=Tolerance(per_cycle=16))
    assert result.judgement.verdict is Verdict.CLEAN and not result.judgement.settled
    at_the_end = judge(early, min_cycles=6, final=True)  # what stopping there would have given
    stopped = tolerate(at_the_end, early, "bytes", fail=Tolerance(per_cycle=16))
    assert stopped.judgement.verdict is Verdict.LEAK


def test_a_settled_leak_within_tolerance_is_settled_clean() -> None:
    judged = judge(STEADY, min_cycles=3, unit="blocks")
    assert judged.settled
    assert tolerate(judged, STEADY, "blocks", fail=Tolerance(per_cycle=100)).judgement.settled

"""The folk-rule judge on data built here, where the right verdict is known."""

import numpy as np
import pytest

from tuning.verdicts.rules import (
    CANNOT_TELL,
    DID_NOT_HOLD,
    HELD,
    judge_trend,
    noise_per_doubling,
    unresolved,
)

STEPS = np.repeat([2, 4, 8, 16, 32], 4)


def _noisy(slope: float, sd: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 + slope * np.log2(STEPS) + rng.normal(0, sd, len(STEPS))


def test_a_clear_fall_larger_than_the_noise_held():
    verdict = judge_trend(STEPS, _noisy(-5, 1), expect=-1, noise=1, what="peak memory",
                          unit=" MiB")
    assert verdict.verdict == HELD
    assert verdict.effect == pytest.approx(-5, abs=0.5)
    assert verdict.interval[0] < -5 < verdict.interval[1]
    assert verdict.p_value < 0.01 and verdict.n == len(STEPS)
    assert "n = 20" in verdict.evidence and "permutation test" in verdict.evidence


def test_a_clear_rise_against_the_expected_fall_did_not_hold():
    verdict = judge_trend(STEPS, _noisy(4, 1), expect=-1, noise=1, what="peak memory")
    assert verdict.verdict == DID_NOT_HOLD
    assert verdict.interval[0] > -1


def test_a_flat_precise_trend_did_not_hold():
    verdict = judge_trend(STEPS, _noisy(0, 0.2), expect=+1, noise=1, what="gap")
    assert verdict.verdict == DID_NOT_HOLD
    assert verdict.interval[1] < 1


def test_a_real_trend_within_the_measurement_noise_cannot_be_told():
    # Significant, but the estimate is below the noise while its interval reaches beyond it.
    verdict = judge_trend(STEPS, _noisy(-2, 3), expect=-1, noise=2.5, what="peak memory")
    assert verdict.p_value < 0.01
    assert verdict.interval[0] < -2.5 < verdict.effect
    assert verdict.verdict == CANNOT_TELL
    assert "within the measurement noise" in verdict.evidence


def test_a_precise_effect_smaller_than_the_noise_did_not_hold():
    verdict = judge_trend(STEPS, _noisy(-1, 0.1), expect=-1, noise=3, what="peak memory")
    assert verdict.p_value < 0.01
    assert verdict.verdict == DID_NOT_HOLD
    assert "excludes any effect below -3" in verdict.evidence


def test_noise_with_no_trend_cannot_be_told():
    verdict = judge_trend(STEPS, _noisy(0, 20), expect=-1, noise=1, what="peak memory")
    assert verdict.verdict == CANNOT_TELL
    assert "more trials" in verdict.evidence


def test_too_few_observations_or_one_value_cannot_be_told():
    few = judge_trend([2, 4, 8], [3, 2, 1], expect=-1, noise=0, what="gap")
    assert few.verdict == CANNOT_TELL and few.effect is None and "too few" in few.evidence
    same = judge_trend([4] * 6, range(6), expect=-1, noise=0, what="gap")
    assert same.verdict == CANNOT_TELL and "1 distinct" in same.evidence


def test_groups_compare_within_each_group_only():
    # Within every group y rises with x; the group offsets alone would make a falling trend.
    x = np.tile([2, 4, 8], 4)
    offsets = np.repeat([30.0, 20.0, 10.0, 0.0], 3)
    groups = np.repeat(["a", "b", "c", "d"], 3)
    shifted_x = x * np.repeat([1, 4, 16, 64], 3)
    y = offsets + 2 * np.log2(x)
    pooled = judge_trend(shifted_x, y, expect=+1, noise=0.5, what="gap")
    within = judge_trend(shifted_x, y, expect=+1, noise=0.5, groups=groups, what="gap")
    assert pooled.effect < 0
    assert within.effect == pytest.approx(2)
    assert within.verdict == HELD and within.n == 4
    assert "4 groups" in within.evidence


def test_groups_without_two_values_cannot_be_told():
    verdict = judge_trend([2, 4, 8, 16], [1, 2, 3, 4], groups=["a", "b", "c", "d"],
                          expect=+1, noise=0, what="gap")
    assert verdict.verdict == CANNOT_TELL and "no group" in verdict.evidence


def test_the_same_seed_gives_the_same_verdict_and_missing_values_are_dropped():
    y = _noisy(-2, 2)
    y[0] = np.nan
    first = judge_trend(STEPS, y, expect=-1, noise=0.5, what="m", seed=3)
    again = judge_trend(STEPS, y, expect=-1, noise=0.5, what="m", seed=3)
    assert first == again and first.n == len(STEPS) - 1


def test_noise_per_doubling_spreads_the_noise_over_the_searched_range():
    assert noise_per_doubling(6.0, [2, 4, 16]) == pytest.approx(2.0)
    assert noise_per_doubling(1.0, [8, 8]) == float("inf")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        judge_trend([1, 2], [1, 2], expect=0, noise=0, what="m")
    with pytest.raises(ValueError):
        judge_trend([1, 2], [1, 2, 3], expect=1, noise=0, what="m")


def test_an_effect_inside_the_resolution_of_the_measurement_is_unresolved():
    small = judge_trend(STEPS, _noisy(-0.2, 0.5), expect=-1, noise=3, what="peak memory")
    assert small.verdict == DID_NOT_HOLD and -3 < small.interval[0] < small.interval[1] < 3
    resolved = unresolved(small, 3)
    assert resolved.verdict == CANNOT_TELL and "too small" in resolved.evidence
    assert resolved.effect == small.effect
    rise = judge_trend(STEPS, _noisy(6, 1), expect=-1, noise=3, what="peak memory")
    assert unresolved(rise, 3) == rise  # a rise beyond the noise still did not hold
    held = judge_trend(STEPS, _noisy(-5, 1), expect=-1, noise=1, what="peak memory")
    assert unresolved(held, 1) == held


def test_a_permutation_test_alone_does_not_carry_held_when_the_interval_reaches_zero():
    """Heavy-tailed peaks: the permutation test says p < 0.05 but the bootstrap interval
    still includes no change at all; "held" would overstate it."""
    x = np.array([2, 4, 8, 16, 32, 64] * 2)
    y = np.array([9.48, 9.45, 9.77, 9.33, 7.1, 6.41, 8.81, 10.32, 9.95, 9.93, 10.09, 7.13])
    verdict = judge_trend(x, y, expect=-1, noise=0.01, what="peak memory")
    assert verdict.p_value < 0.05 and verdict.effect < 0 and verdict.interval[1] > 0
    assert verdict.verdict == CANNOT_TELL
    assert "its interval still reaches zero" in verdict.evidence

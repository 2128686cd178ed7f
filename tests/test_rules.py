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
    resolved = unresolved(small, 3, -1)
    assert resolved.verdict == CANNOT_TELL
    assert "neither a trend nor its absence" in resolved.evidence
    assert resolved.effect == small.effect
    rise = judge_trend(STEPS, _noisy(6, 1), expect=-1, noise=3, what="peak memory")
    assert rise.interval[0] > 0
    assert unresolved(rise, 3, -1) == rise  # a rise resolved on the wrong side did not hold
    held = judge_trend(STEPS, _noisy(-5, 1), expect=-1, noise=1, what="peak memory")
    assert unresolved(held, 1, -1) == held


def test_a_wider_interval_never_reads_as_a_stronger_verdict():
    """Within the resolution, [-0.5, 0.5] x noise and [-0.5, 1.5] x noise both allow no
    effect of the expected sign the measurement could resolve: both "cannot tell"."""
    from tuning.verdicts.rules import Verdict
    for low, high in [(-0.5, 0.5), (-0.5, 1.5), (-0.9, 3.0), (0.0, 2.0)]:
        verdict = Verdict(DID_NOT_HOLD, "m: x; the interval excludes", -0.1, (low, high), 0.5, 9)
        assert unresolved(verdict, 1.0, -1).verdict == CANNOT_TELL, (low, high)
    wholly_wrong = Verdict(DID_NOT_HOLD, "m: x; y", 1.0, (0.2, 1.5), 0.01, 9)
    assert unresolved(wholly_wrong, 1.0, -1).verdict == DID_NOT_HOLD
    assert unresolved(Verdict(DID_NOT_HOLD, "m: x; y", -1.0, (-1.5, -0.2), 0.01, 9), 1.0,
                      +1).verdict == DID_NOT_HOLD


def test_a_design_that_can_never_reach_significance_says_so():
    """A perfect trend over 4 points: 24 arrangements, smallest two-sided p = 2/24."""
    from tuning.verdicts.rules import permutation_floor
    assert permutation_floor([2, 4, 8, 16]) == pytest.approx(2 / 24)
    assert permutation_floor([2, 4] * 5, groups=np.repeat(np.arange(5), 2)) == pytest.approx(
        2 / 32)
    assert permutation_floor(STEPS) == 0.0  # too many arrangements to count: no floor
    verdict = judge_trend([2, 4, 8, 16], [40, 30, 20, 10], expect=-1, noise=0.1, what="m")
    assert verdict.verdict == CANNOT_TELL
    assert "can never reach p < 0.05" in verdict.evidence and "0.0833" in verdict.evidence


def test_the_rule_interval_covers_at_its_level_with_few_groups():
    """Three seeds, each with its own slope (a random slope per group): the interval must
    cover the mean slope about 95% of the time, where a bootstrap over groups gave 71%."""
    rng = np.random.default_rng(5)
    x = np.tile([2, 4, 8, 16], 3)
    groups = np.repeat([0, 1, 2], 4)
    covered = 0
    for _ in range(400):
        slopes = -1 + rng.normal(0, 0.5, 3)
        y = slopes[groups] * np.log2(x) + rng.normal(0, 0.3, len(x))
        low, high = judge_trend(x, y, expect=-1, noise=0, groups=groups, what="m",
                                n_resamples=20).interval
        covered += low <= -1 <= high
    assert 0.91 <= covered / 400 <= 0.99


def test_a_permutation_test_alone_does_not_carry_held_when_the_interval_reaches_zero():
    """Heavy-tailed peaks (one outlier): the permutation test says p < 0.05 but the interval
    still includes no change at all; "held" would overstate it."""
    x = np.array([2, 4, 8, 16, 32, 64] * 2)
    y = np.array([10.77, 10.47, 8.46, 3.58, 7.84, 8.38, 26.8, 9.08, 10.32, 9.63, 8.07, 8.98])
    verdict = judge_trend(x, y, expect=-1, noise=0.01, what="peak memory")
    assert verdict.p_value < 0.05 and verdict.effect < 0 and verdict.interval[1] > 0
    assert verdict.verdict == CANNOT_TELL
    assert "its interval still reaches zero" in verdict.evidence


def test_validate_warns_when_the_grid_can_never_reach_held(write_spec):
    from conftest import run_cli
    few = run_cli("validate", str(write_spec(steps=[2, 4, 8, 16], splits=[0.2])))
    assert few.returncode == 0, few.stderr
    assert "can never reach p < 0.05 (its smallest possible p is 0.0833" in few.stdout
    enough = run_cli("validate", str(write_spec(steps=[2, 4, 8, 16, 32], splits=[0.1, 0.2],
                                                filename="enough.toml")))
    assert enough.returncode == 0 and "can never reach" not in enough.stdout


def test_the_evidence_says_how_many_groups_compare_settings():
    """A group measured at one setting only adds nothing to a within-group slope: the
    sample says how many of the groups compare (memory under stream semantics: the batch
    that ran out of memory at its first setting was skipped at the others)."""
    x = [1, 4, 16, 1, 4, 16, 1, 1]
    y = [10.0, 9.0, 8.0, 10.5, 9.5, 8.5, 30.0, 31.0]
    groups = ["a", "a", "a", "b", "b", "b", "c", "d"]
    verdict = judge_trend(x, y, expect=-1, noise=0.0, groups=groups, what="memory")
    assert "n = 8 observations in 4 groups (2 of them at two or more settings" in verdict.evidence
    whole = judge_trend(x[:6], y[:6], expect=-1, noise=0.0, groups=groups[:6], what="memory")
    assert "n = 6 observations in 2 groups" in whole.evidence and "of them" not in whole.evidence

"""The truth benchmark's own arithmetic, on numbers built here (its figures come from
`make bench ARGS="--only truth"`, never from the test suite)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.truth import CASES, noisy_classes, summarise


def test_generated_data_has_the_stated_share_of_flipped_labels():
    x, y = noisy_classes(20000, seed=1, flipped=0.15)
    clean_x, clean_y = noisy_classes(20000, seed=1, flipped=0.0)
    np.testing.assert_array_equal(x, clean_x)  # the same points, only labels flipped
    assert np.mean(y != clean_y) == pytest.approx(0.15, abs=0.01)
    assert set(np.unique(y)) == {0, 1, 2, 3}


def test_summary_counts_coverage_and_regret_before_and_after():
    rows = [{"before_error": 0.03, "before_covered": False, "before_regret": 0.02,
             "after_error": -0.01, "after_covered": True, "after_regret": 0.0},
            {"before_error": 0.01, "before_covered": True, "before_regret": 0.0,
             "after_error": 0.01, "after_covered": True, "after_regret": 0.004}]
    before, after = summarise(rows)
    assert before["mean_error"] == pytest.approx(0.02) and before["covered"] == "1/2"
    assert after["mean_error"] == pytest.approx(0.0) and after["mean_abs_error"] == 0.01
    assert after["covered"] == "2/2" and after["max_regret"] == pytest.approx(0.004)
    assert {c.name for c in CASES} == {"noisy4", "digits", "wine"}

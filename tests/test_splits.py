"""The one seeded split: stratified for classes, plain for regression, index-based."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import spec_text, trial_arrays

from tuning.data.dataset import load_dataset
from tuning.data.splits import (
    cut,
    missing_classes,
    shuffled_parts,
    skewed_mix,
    validation_parts,
)
from tuning.spec.schema import load_spec


def _rare(n=1000, rare=5, seed=0):
    """Two common classes and one rare one (`rare` rows), shuffled."""
    y = np.array([0] * ((n - rare) // 2) + [1] * (n - rare - (n - rare) // 2) + [2] * rare)
    return np.random.default_rng(seed).permutation(y)


def test_a_rare_class_appears_in_the_holdout_and_every_validation_split_whatever_the_seed():
    for seed in range(40):
        y = _rare()
        parts = shuffled_parts(y, holdout=0.2, seed=seed, stratify=True)
        assert 2 in y[parts.holdout] and 2 in y[parts.pool]
        for split in (0.05, 0.1, 0.3):
            train, val = validation_parts(y[parts.pool], split, stratify=True)
            assert 2 in y[parts.pool][train] and 2 in y[parts.pool][val], (seed, split)


def test_unstratified_a_rare_class_is_often_missing():
    # What the plain split did: the reason the stratified one exists.
    missing = sum(2 not in _rare()[shuffled_parts(_rare(), holdout=0.2, seed=s,
                                                  stratify=False).holdout] for s in range(40))
    assert missing >= 5


def test_proportions_are_kept_and_sizes_are_exact():
    y = np.repeat([0, 1, 2, 3], [400, 300, 200, 100])
    parts = shuffled_parts(y, holdout=0.2, test=0.1, seed=3, stratify=True)
    assert (len(parts.pool), len(parts.holdout), len(parts.test)) == (700, 200, 100)
    np.testing.assert_array_equal(np.bincount(y[parts.holdout]), [80, 60, 40, 20])
    np.testing.assert_array_equal(np.bincount(y[parts.test]), [40, 30, 20, 10])
    every = np.concatenate([parts.pool, parts.holdout, parts.test])
    np.testing.assert_array_equal(np.sort(every), np.arange(1000))  # a partition of the rows
    train, val = validation_parts(y[parts.pool], 0.3, stratify=True)
    assert len(val) == 210
    np.testing.assert_array_equal(np.bincount(y[parts.pool][val]), [84, 63, 42, 21])


def test_the_same_seed_gives_the_same_rows_and_another_seed_other_rows():
    y = _rare()
    first = shuffled_parts(y, holdout=0.2, seed=7, stratify=True)
    again = shuffled_parts(y, holdout=0.2, seed=7, stratify=True)
    other = shuffled_parts(y, holdout=0.2, seed=8, stratify=True)
    np.testing.assert_array_equal(first.holdout, again.holdout)
    assert set(first.holdout) != set(other.holdout)


def test_regression_is_the_plain_seeded_split():
    y = np.linspace(0, 1, 50)
    parts = shuffled_parts(y, holdout=0.2, seed=5, stratify=False)
    order = np.random.default_rng(5).permutation(50)
    np.testing.assert_array_equal(parts.holdout, order[:10])
    np.testing.assert_array_equal(parts.pool, order[10:])
    train, val = validation_parts(y[parts.pool], 0.25, stratify=False)
    np.testing.assert_array_equal(val, np.arange(30, 40))  # the last rows of the pool


@pytest.mark.parametrize("n_cut", [0, 1, 3, 7, 9, 10])
def test_cut_sizes_hold_at_the_edges(n_cut):
    y = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    rest, taken = cut(y, n_cut, stratify=True)
    assert len(taken) == n_cut and len(rest) == 10 - n_cut
    if 4 <= n_cut <= 6:  # room for every class of two rows or more on both sides
        for label in (0, 1, 3):
            assert label in y[taken] and label in y[rest]


def test_a_class_too_small_for_every_part_is_named():
    y = np.array([0] * 50 + [1] * 50 + [2])
    parts = shuffled_parts(y, holdout=0.2, seed=0, stratify=True)
    warnings = missing_classes(y, {"holdout": parts.holdout, "training": parts.pool},
                               names=np.array(["cat", "dog", "axolotl"]))
    assert len(warnings) == 1
    assert "'axolotl' has 1 row(s)" in warnings[0] and "holdout" in warnings[0]


def test_the_dataset_is_stratified_and_warns_about_a_rare_class(tmp_path, write_spec):
    rng = np.random.default_rng(0)
    labels = np.array(["a"] * 100 + ["b"] * 97 + ["rare"] * 3)
    x = rng.normal(size=(200, 3))
    lines = ["f1,f2,f3,label"] + [",".join(f"{v:.3f}" for v in row) + f",{lab}"
                                  for row, lab in zip(x, labels)]
    (tmp_path / "rare.csv").write_text("\n".join(lines) + "\n")
    spec = load_spec(write_spec(spec_text(source="csv:rare.csv", splits=[0.1, 0.3],
                                          data={"target": "label"})))
    data = load_dataset(spec)
    assert data.stratify
    rare = 2  # codes follow the sorted labels
    assert rare in data.y_holdout
    for split in (0.1, 0.3):
        _, y_train, _, y_val, _, _ = trial_arrays(data, split)
        assert rare in y_train and rare in y_val
    assert data.warnings == ()
    (tmp_path / "rare.csv").write_text("\n".join(lines[:-2]) + "\n")  # one "rare" row left
    warned = load_dataset(spec).warnings
    assert len(warned) == 1 and "'rare' has 1 row(s)" in warned[0]


def test_test_rows_are_cut_beside_the_holdout_and_scaled_like_the_rest(write_spec):
    spec = load_spec(write_spec(spec_text(data={"test": 0.1})))
    data = load_dataset(spec)
    assert (len(data.holdout), len(data.test)) == (359, 180)
    assert len(data.pool) == 1797 - 359 - 180
    x_train, *_ = trial_arrays(data, 0.2)
    test = data.trial_rows(0.2).test
    x_test, y_test = test.read(np.arange(len(test)))
    assert x_test.dtype == np.float32 and len(y_test) == 180
    assert abs(float(x_train.mean())) < 1e-3
    assert set(np.unique(y_test)) == set(range(10))  # stratified: every digit is there


@pytest.mark.parametrize("test", ["0.8", "-0.1", "\"a\""])
def test_a_test_share_that_leaves_nothing_to_train_on_is_refused(write_spec, test):
    from tuning.spec.errors import UserError

    with pytest.raises(UserError, match="data.test"):
        load_spec(write_spec(spec_text(data={"test": test})))


def _many_rare(seed: int = 0) -> np.ndarray:
    """9 classes of 100 rows and 50 classes of 2 rows: the rare ones are 10% of the data."""
    y = np.array([c for c in range(9) for _ in range(100)] + [c for c in range(9, 59)
                                                            for _ in range(2)])
    return np.random.default_rng(seed).permutation(y)


def test_a_part_that_rare_classes_crowd_is_named_with_their_share_against_the_data():
    y = _many_rare()
    parts = shuffled_parts(y, holdout=0.2, seed=0, stratify=True)
    assert np.isin(np.arange(9, 59), y[parts.holdout]).all()  # each rare class kept a row
    warned = skewed_mix(y, {"holdout": parts.holdout, "training": parts.pool})
    assert len(warned) == 1 and warned[0].startswith("the holdout rows' class mix")
    assert "50 class(es) ('9', '10', '11', '12', '13' and 45 more)" in warned[0]
    assert "make 25.0% of them against 10.0% of all rows" in warned[0]


def test_classes_in_proportion_give_no_mix_warning():
    y = np.random.default_rng(0).integers(0, 10, 1797)
    parts = shuffled_parts(y, holdout=0.2, test=0.1, seed=0, stratify=True)
    assert skewed_mix(y, {"holdout": parts.holdout, "test": parts.test,
                          "training": parts.pool}) == []


def test_the_dataset_warns_when_rare_classes_crowd_its_holdout(tmp_path, write_spec):
    y = _many_rare(1)
    x = np.random.default_rng(1).normal(size=(len(y), 2))
    lines = ["f1,f2,label"] + [f"{a:.3f},{b:.3f},k{label}" for (a, b), label in zip(x, y)]
    (tmp_path / "rare.csv").write_text("\n".join(lines) + "\n")
    spec = load_spec(write_spec(spec_text(source="csv:rare.csv", splits=[0.2, 0.3],
                                          data={"target": "label", "holdout": 0.2,
                                                "test": 0.0})))
    warned = [w for w in load_dataset(spec).warnings if "class mix" in w]
    assert any(w.startswith("the holdout rows'") and "against 10.0% of all rows" in w
               and "'k10'" in w for w in warned), warned

"""Sources, the one seeded shuffle, the fixed holdout, scaling on training rows only."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import spec_text, trial_arrays

from tuning.data.adapters.npz_file import member_array
from tuning.data.dataset import load_dataset
from tuning.spec.errors import UserError
from tuning.spec.schema import load_spec


def _sorted_csv(path, n=300, classes=3):
    rng = np.random.default_rng(0)
    y = np.sort(rng.integers(0, classes, n))  # sorted by label, as exported data often is
    x = rng.normal(size=(n, 4)) + y[:, None]
    lines = ["a,b,c,d,label"] + [",".join(f"{v:.4f}" for v in row) + f",c{lab}"
                                 for row, lab in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")


def test_sorted_data_still_gives_mixed_validation_sets(tmp_path, write_spec):
    _sorted_csv(tmp_path / "sorted.csv")
    spec = load_spec(write_spec(spec_text(source="csv:sorted.csv", splits=[0.1, 0.3],
                                          data={"target": "label"})))
    data = load_dataset(spec)
    for split in (0.1, 0.3):
        y_val = trial_arrays(data, split)[3]
        assert len(np.unique(y_val)) == 3, f"validation set at {split} is not mixed"
    assert len(np.unique(data.y_holdout)) == 3
    assert data.n_outputs == 3


def test_holdout_is_fixed_and_never_in_training(tmp_path, write_spec):
    ids = np.arange(200, dtype=np.float64)
    np.savez(tmp_path / "ids.npz", x=np.stack([ids, ids % 7], axis=1), y=(ids % 2).astype(int))
    spec = load_spec(write_spec(source="npz:ids.npz", splits=[0.1, 0.4]))
    first, second = load_dataset(spec), load_dataset(spec)
    np.testing.assert_array_equal(first.x[first.holdout], second.x[second.holdout])
    holdout_ids = set(first.x[first.holdout][:, 0].tolist())
    pool_ids = set(first.x[first.pool][:, 0].tolist())
    assert len(holdout_ids) == 40 and not holdout_ids & pool_ids
    assert holdout_ids | pool_ids == set(ids.tolist())
    low, high = trial_arrays(first, 0.1), trial_arrays(first, 0.4)
    np.testing.assert_array_equal(low[5], high[5])  # the same holdout labels for every split
    assert (len(low[0]), len(low[2])) == (144, 16) and (len(high[0]), len(high[2])) == (96, 64)


def test_scaling_is_fitted_on_training_rows_only(write_spec):
    data = load_dataset(load_spec(write_spec()))
    x_train, _, x_val, _, x_hold, _ = trial_arrays(data, 0.2)
    assert abs(float(x_train.mean())) < 1e-3
    assert abs(float(x_val.mean())) > abs(float(x_train.mean()))


def test_npz_source(tmp_path, write_spec):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(80, 3)), y=rng.integers(0, 2, 80))
    data = load_dataset(load_spec(write_spec(source="npz:d.npz")))
    assert data.input_shape == (3,) and data.n_outputs == 2 and len(data.holdout) == 16


@pytest.mark.parametrize("csv,extra,expected", [
    ("a,b,label\n" + "1,x,0\n2,y,1\n" * 20, 'target = "label"', "b: non-numeric feature column"),
    ("a,b,label\n" + "1,,0\n2,3,1\n" * 20, 'target = "label"', "holds missing (NaN) values"),
    ("a,b,label\n" + "1,2,0\n2,3,1\n" * 20, 'target = "nope"', "data.target: no column 'nope'"),
    ("a,b,label\n1,2,0\n2,3,1\n", 'target = "label"', "data.holdout"),
])
def test_bad_csv_data_is_named(tmp_path, write_spec, csv, extra, expected):
    (tmp_path / "d.csv").write_text(csv)
    text = spec_text(source="csv:d.csv").replace("holdout = 0.2", f"holdout = 0.2\n{extra}")
    with pytest.raises(UserError) as caught:
        load_dataset(load_spec(write_spec(text)))
    assert expected in str(caught.value)


def test_missing_csv_file_is_named(write_spec):
    text = spec_text(source="csv:nowhere.csv", data={"target": "y"})
    with pytest.raises(UserError, match="nowhere.csv: no such file"):
        load_dataset(load_spec(write_spec(text)))


@pytest.mark.parametrize("name", ["digits", "wine", "breast_cancer", "iris", "diabetes"])
def test_shipped_sets_read_like_scikit_learn_loads_them(name):
    from sklearn import datasets

    from tuning.data.adapters.shipped import read_shipped

    x, y = read_shipped(name)
    kwargs = {"scaled": False} if name == "diabetes" else {}
    ref_x, ref_y = getattr(datasets, f"load_{name}")(return_X_y=True, **kwargs)
    np.testing.assert_allclose(x, ref_x)
    np.testing.assert_allclose(y, ref_y)


def test_an_npz_stored_uncompressed_is_mapped_and_a_compressed_one_read(tmp_path):
    x = np.arange(60, dtype=np.float32).reshape(20, 3)
    y = np.arange(20) % 2
    np.savez(tmp_path / "plain.npz", x=x, y=y)
    np.savez(tmp_path / "fortran.npz", x=np.asfortranarray(x), y=y)
    np.savez_compressed(tmp_path / "packed.npz", x=x, y=y)
    for name, mapped in (("plain.npz", True), ("fortran.npz", True), ("packed.npz", False)):
        with np.load(tmp_path / name) as arrays:
            read_x = member_array(tmp_path / name, arrays, "x")
            assert isinstance(read_x, np.memmap) is mapped, name
            if mapped:
                np.testing.assert_array_equal(read_x, x)

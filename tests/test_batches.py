"""A trial's rows read by index from the store: each semantics sees exactly the rows it says,
features reach the model as stored (standardized only where asked), and a frozen model that
scales its own pixels scores what it should."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import spec_text

from tuning.data import batches
from tuning.data.batches import Scaling
from tuning.data.dataset import load_dataset
from tuning.spec.schema import load_spec
from tuning.training.budget import plan


def _ids_spec(tmp_path, write_spec, n=203, standardize="false"):
    """Rows whose first feature is the row's id, so batches say which rows they hold."""
    ids = np.arange(n, dtype=np.float32)
    np.savez(tmp_path / "ids.npz", x=np.stack([ids, ids % 5], axis=1), y=(ids % 2).astype(int))
    text = spec_text(source="npz:ids.npz").replace(
        "test = 0.0", f"test = 0.0\nstandardize = {standardize}")
    return load_spec(write_spec(text))


def _ids_seen(stream, n_batches: int) -> list[np.ndarray]:
    return [x[:, 0].numpy().astype(int) for x, _ in stream.take(n_batches)]


@pytest.mark.parametrize("steps", [1, 3, 7, 500])
def test_partition_reads_every_training_row_once_per_epoch(tmp_path, write_spec, steps):
    from tuning.training.hypermodel import make_stream

    data = load_dataset(_ids_spec(tmp_path, write_spec))
    rows = data.trial_rows(0.2)
    trial = plan("partition", len(rows.train), steps, epochs=3)
    seen = _ids_seen(make_stream(rows.train, trial, shuffle=True, seed=5),
                     3 * trial.steps_per_epoch)
    epochs = [np.concatenate(seen[e * trial.steps_per_epoch:(e + 1) * trial.steps_per_epoch])
              for e in range(3)]
    for epoch in epochs:  # each training row once, no validation or holdout row
        np.testing.assert_array_equal(np.sort(epoch), np.sort(rows.train.rows))
    assert max(len(b) for b in seen) == trial.batch_size
    if len(epochs[0]) > 1:
        assert not np.array_equal(epochs[0], epochs[1])  # reshuffled each pass
    again = _ids_seen(make_stream(rows.train, trial, shuffle=True, seed=5), len(seen))
    np.testing.assert_array_equal(np.concatenate(again), np.concatenate(seen))  # seeded


def test_stream_reads_full_batches_of_a_seeded_repeating_shuffle(tmp_path, write_spec):
    from tuning.training.hypermodel import make_stream

    data = load_dataset(_ids_spec(tmp_path, write_spec))
    train = data.trial_rows(0.2).train
    trial = plan("stream", len(train), 7, epochs=5, batch_size=16)
    seen = _ids_seen(make_stream(train, trial, shuffle=True, seed=5), trial.updates)
    assert {len(b) for b in seen} == {16}
    flat = np.concatenate(seen)
    assert len(flat) == trial.samples_seen(trial.updates) == 35 * 16
    n = len(train)
    passes, rest = divmod(len(flat), n)
    for p in range(passes):  # the stream is whole passes over the training rows, in turn
        np.testing.assert_array_equal(np.sort(flat[p * n:(p + 1) * n]), np.sort(train.rows))
    assert len(set(flat[passes * n:].tolist())) == rest
    counts = np.bincount(flat, minlength=len(data.y))[train.rows]
    assert set(counts.tolist()) <= {passes, passes + 1}


def test_scaling_from_chunks_matches_the_rows_at_once(monkeypatch):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(1000, 6)) * [1, 10, 100, 0, 1e3, 1] + 5).astype(np.float32)
    rows = rng.permutation(1000)[:700]
    monkeypatch.setattr(batches, "STATS_CHUNK_BYTES", 8 * 6 * 37)  # chunks of 37 rows
    scaling = Scaling.fit(x, rows)
    picked = x[rows].astype(np.float64)
    np.testing.assert_allclose(scaling.mean, picked.mean(0), rtol=1e-6, atol=1e-6)
    expected = picked.std(0)
    expected[expected == 0] = 1.0
    np.testing.assert_allclose(scaling.std, expected, rtol=1e-5)


def _images(tmp_path, n=120, size=6):
    """uint8 images whose label is whether their mean brightness is above half."""
    rng = np.random.default_rng(1)
    brightness = np.concatenate([rng.uniform(0.05, 0.4, n // 2), rng.uniform(0.6, 0.95, n // 2)])
    noise = rng.integers(-10, 11, (n, size, size, 3))
    x = np.clip(brightness[:, None, None, None] * 255 + noise, 0, 255).astype(np.uint8)
    y = (x.reshape(n, -1).mean(1) / 255 > 0.5).astype(int)
    np.savez(tmp_path / "images.npz", x=x, y=y)
    return x


@pytest.mark.parametrize("setting,source,applied", [
    ("\"auto\"", "table", True), ("\"auto\"", "images", False),
    ("true", "images", True), ("false", "table", False),
])
def test_standardize_applies_where_asked_and_the_store_keeps_the_source_dtype(
        tmp_path, write_spec, setting, source, applied):
    if source == "images":
        _images(tmp_path)
        spec = load_spec(write_spec(spec_text(source="npz:images.npz").replace(
            "test = 0.0", f"test = 0.0\nstandardize = {setting}")))
    else:
        spec = _ids_spec(tmp_path, write_spec, standardize=setting)
    data = load_dataset(spec)
    assert data.standardize is applied
    assert data.x.dtype == (np.uint8 if source == "images" else np.float32)
    rows = data.trial_rows(0.2)
    x_train, _ = rows.train.read(np.arange(len(rows.train)))
    x_hold, _ = rows.holdout.read(np.arange(len(rows.holdout)))
    assert x_train.dtype == np.float32
    if applied:
        assert np.abs(x_train.mean(0)).max() < 1e-4
        assert "standardized" in data.preparation
    else:
        np.testing.assert_array_equal(x_hold, data.x[data.holdout].astype(np.float32))
        assert "unchanged" in data.preparation


FROZEN_BUILDER = """
import keras

def build(hp, input_shape, n_outputs):
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    mean = keras.layers.Lambda(lambda t: keras.ops.mean(t, axis=-1, keepdims=True))(x)
    out = keras.layers.Lambda(lambda t: keras.ops.concatenate(
        [keras.ops.sigmoid(50 * (0.5 - t)), keras.ops.sigmoid(50 * (t - 0.5))], axis=-1))(mean)
    model = keras.Model(inputs, out)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
def test_a_frozen_model_scaling_its_own_pixels_sees_them_as_stored(tmp_path, write_spec):
    """Images reach the model as the user gives them: a model that thresholds
    `Rescaling(1 / 255)` brightness at 0.5 labels every image right (standardized pixels
    would put half of them on the wrong side)."""
    import keras_tuner as kt

    from tuning.training.hypermodel import StepsHyperModel

    _images(tmp_path)
    (tmp_path / "frozen_builder.py").write_text(FROZEN_BUILDER)
    spec = load_spec(write_spec(spec_text(source="npz:images.npz", builder="frozen_builder:build",
                                          steps=[2], epochs=1)))
    hypermodel = StepsHyperModel(spec, load_dataset(spec))
    hp = kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    metrics = hypermodel.fit(hp, hypermodel.build(hp), seed=1)
    assert metrics["holdout_accuracy"] == 1.0

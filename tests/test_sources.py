"""The sources beyond files of rows: npy folders, image folders, Python functions (arrays or
a tf.data pipeline), each on data the test writes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli, spec_text

from tuning.data.adapters.npy_folder import read_npy_dir
from tuning.data.dataset import load_dataset
from tuning.records.trials import read_table
from tuning.spec.errors import UserError
from tuning.spec.schema import load_spec


def _spec(write_spec, source: str, extra: str = ""):
    text = spec_text(source=source).replace("holdout = 0.2", f"holdout = 0.2\n{extra}")
    return load_spec(write_spec(text))


def test_npy_folder_is_memory_mapped_and_split_like_arrays(tmp_path, write_spec):
    folder = tmp_path / "arrays"
    folder.mkdir()
    ids = np.arange(100, dtype=np.float32)
    np.save(folder / "x.npy", np.stack([ids, ids % 3], axis=1))
    np.save(folder / "y.npy", (ids % 2).astype(np.int64))
    x, _ = read_npy_dir(folder)
    assert isinstance(x, np.memmap)
    data = load_dataset(_spec(write_spec, "npy:arrays"))
    assert (len(data.pool), len(data.holdout)) == (80, 20)
    assert set(data.x[data.pool][:, 0]) | set(data.x[data.holdout][:, 0]) == set(ids.tolist())
    (folder / "y.npy").unlink()
    with pytest.raises(UserError, match="y.npy is missing"):
        load_dataset(_spec(write_spec, "npy:arrays"))


def _image_folder(root, per_class: int = 6):
    """Two classes of 12 x 10 images: dark and light."""
    from matplotlib.image import imsave

    rng = np.random.default_rng(0)
    for name, level in (("dark", 0.1), ("light", 0.9)):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(level + rng.normal(0, 0.05, size=(12, 10, 3)), 0, 1)
            imsave(root / name / f"{i}.png", pixels)
    return root


def test_image_folder_through_keras_loader_at_the_spec_size(tmp_path, write_spec):
    _image_folder(tmp_path / "pictures")
    data = load_dataset(_spec(write_spec, "images:pictures", "image_size = [8, 6]"))
    assert data.input_shape == (8, 6, 3) and data.n_outputs == 2
    x = np.concatenate([data.x[data.pool], data.x[data.holdout]])
    y = np.concatenate([data.y_pool, data.y_holdout])
    assert len(x) == 12
    brightness = x.reshape(len(x), -1).mean(axis=1)
    assert brightness[y == 0].max() < 100 < brightness[y == 1].min()  # 0 is "dark"


@pytest.mark.parametrize("extra,expected", [
    ("", "data.image_size: required with an images: source"),
    ("image_size = [8]", "data.image_size: expected [height, width]"),
])
def test_image_size_is_checked(tmp_path, write_spec, extra, expected):
    with pytest.raises(UserError, match=expected.replace("[", r"\[")):
        _spec(write_spec, "images:pictures", extra)


def test_image_folder_needs_two_classes(tmp_path, write_spec):
    _image_folder(tmp_path / "pictures")
    for i in range(6):
        (tmp_path / "pictures" / "light" / f"{i}.png").unlink()
    with pytest.raises(UserError, match="two classes or more; found 1"):
        load_dataset(_spec(write_spec, "images:pictures", "image_size = [8, 8]"))


LOADERS = '''
import numpy as np
import tensorflow as tf

def rows():
    x = np.arange(200, dtype="float32").reshape(100, 2)
    return x, (x[:, 0] % 4 == 0).astype(int)

def pipeline():
    x, y = rows()
    return tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a * 2, b)).batch(7)

def endless():
    return pipeline().repeat()

def broken():
    raise RuntimeError("no database")
'''


@pytest.mark.parametrize("function", ["rows", "pipeline"])
def test_python_function_found_beside_the_spec(tmp_path, write_spec, function):
    (tmp_path / "loaders.py").write_text(LOADERS)
    data = load_dataset(_spec(write_spec, f"python:loaders:{function}"))
    x = np.concatenate([data.x[data.pool], data.x[data.holdout]])
    assert x.shape == (100, 2) and data.n_outputs == 2
    scale = 2 if function == "pipeline" else 1
    assert sorted(x[:, 0].tolist()) == [scale * 2 * i for i in range(100)]


@pytest.mark.slow
@pytest.mark.parametrize("source", ["python:loaders:pipeline", "images:pictures"])
def test_a_search_on_a_source_that_imports_tensorflow_itself(tmp_path, source):
    """The search imports TensorFlow in the background while it reads the data; a loader
    that imports it too (at its module's top, or Keras's image loader) must not meet that
    import half-done, on any order of the two."""
    (tmp_path / "loaders.py").write_text("import keras  # noqa: F401\n" + LOADERS)
    _image_folder(tmp_path / "pictures")
    text = spec_text(source=source, steps=[2]).replace(
        "holdout = 0.2", "holdout = 0.2\nimage_size = [8, 6]" if "images" in source
        else "holdout = 0.2")
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    result = run_cli("run", str(spec), "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert (read_table(tmp_path / "run" / "trials.csv").status == "ok").all()


@pytest.mark.parametrize("function,expected", [
    ("endless", "data.take: python:loaders:endless: the tf.data.Dataset is endless"),
    ("broken", "failed: RuntimeError: no database"),
    ("missing", "'loaders' has no function 'missing'"),
])
def test_python_function_failures_are_named(tmp_path, write_spec, function, expected):
    (tmp_path / "loaders.py").write_text(LOADERS)
    with pytest.raises(UserError, match=expected):
        load_dataset(_spec(write_spec, f"python:loaders:{function}"))


@pytest.mark.parametrize("source", ["python:loaders", "npy:", "parquet:x.parquet"])
def test_malformed_sources_are_refused(write_spec, source):
    with pytest.raises(UserError, match="data.source: .* is not a source"):
        _spec(write_spec, source)

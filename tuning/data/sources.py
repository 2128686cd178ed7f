"""Data sources beyond files of rows: a folder of .npy arrays, an image folder, a Python
function (arrays or a `tf.data` pipeline).

Each returns `(x, y)` arrays; the seeded shuffle, the holdout and the validation split are
then taken by `tuning.data.dataset` exactly as for any other source. A `tf.data.Dataset` is read
once, to its end, into arrays: that is what lets the tool take a validation split and a
holdout from a pipeline (Keras refuses `validation_split` there), and it is why the dataset
must be finite and fit in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tuning.spec import tensorflow_import
from tuning.spec.builders import import_function
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec
from tuning.spec.usercode import LeftUserCode, contained, keep_traceback

#: Image files Keras's directory loader reads.
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHUNK = 4096


def read_npy_dir(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """`x.npy` and `y.npy`, memory-mapped: nothing is read until a row is used."""
    if not folder.is_dir():
        raise UserError("data.source", f"{folder}: no such folder")
    arrays = []
    for name in ("x", "y"):
        path = folder / f"{name}.npy"
        if not path.is_file():
            raise UserError(str(folder), f"needs x.npy and y.npy; {name}.npy is missing")
        try:
            arrays.append(np.load(path, mmap_mode="r", allow_pickle=False))
        except (OSError, ValueError) as exc:
            raise UserError(str(path), f"cannot read as .npy: {exc}") from None
    return arrays[0], arrays[1]


def image_classes(folder: Path) -> list[str]:
    """The class subfolders that hold at least one image; checked without TensorFlow."""
    if not folder.is_dir():
        raise UserError("data.source", f"{folder}: no such folder")
    classes = sorted(
        d.name for d in folder.iterdir()
        if d.is_dir() and any(f.suffix.lower() in IMAGE_SUFFIXES for f in d.rglob("*"))
    )
    if len(classes) < 2:
        raise UserError(
            str(folder),
            f"needs one subfolder of images per class, two classes or more; found {len(classes)}",
        )
    return classes


def read_images(folder: Path, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Class subfolders of image files, through Keras's own directory loader, resized to
    `image_size`; labels are the subfolders in alphabetical order."""
    classes = image_classes(folder)
    tensorflow_import.wait()
    tensorflow_import.quiet()
    import keras

    try:
        ds = keras.utils.image_dataset_from_directory(
            folder, labels="inferred", label_mode="int", class_names=classes,
            image_size=image_size, batch_size=_CHUNK, shuffle=False, verbose=False,
        )
    except (ValueError, OSError) as exc:
        raise UserError(str(folder), str(exc).splitlines()[0]) from None
    return dataset_arrays(ds, str(folder))


def read_python(spec: Spec, reference: str) -> tuple[np.ndarray, np.ndarray]:
    """Call the user's `module:function` (found beside the spec first): it returns `(x, y)`
    arrays or a finite `tf.data.Dataset` of `(features, label)`."""
    where = f"python:{reference}"
    tensorflow_import.wait()  # the user's module may import TensorFlow at its top
    try:
        with contained("the data loader"):  # its module, the call and reading what it gives
            function = import_function(spec, reference, "data.source")
            try:
                data = function()
            except Exception as exc:  # the user's loader failing is the user's error
                raise UserError(where, f"failed: {type(exc).__name__}: {exc}"
                                       .splitlines()[0]) from None
            return as_arrays(data, where)
    except LeftUserCode as exc:
        log = keep_traceback(exc, f"the data loader {where}")
        raise UserError(where, f"{exc} (traceback in {log})") from None


def as_arrays(data: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """`(x, y)` arrays as they are, or a `tf.data.Dataset` read into arrays."""
    if isinstance(data, tuple | list) and len(data) == 2:
        return np.asarray(data[0]), np.asarray(data[1])
    if type(data).__module__.startswith("tensorflow") and hasattr(data, "element_spec"):
        return dataset_arrays(data, where)
    raise UserError(
        where, f"expected (x, y) arrays or a tf.data.Dataset, got {type(data).__name__}"
    )


def dataset_arrays(ds: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Read a finite `tf.data.Dataset` of `(features, label)` elements (or batches of them)
    to its end, into two arrays."""
    import tensorflow as tf

    if int(ds.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        raise UserError(where, "the tf.data.Dataset is infinite (it repeats); pass a finite "
                               "one, e.g. without .repeat() or with .take(n)")
    spec = ds.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2
            and all(isinstance(s, tf.TensorSpec) for s in spec)):
        raise UserError(where, "the tf.data.Dataset must yield (features, label) pairs of "
                               f"tensors, got {spec}")
    features = spec[0]
    if features.shape.rank and features.shape[0] is None:  # batched: back to elements
        ds = ds.unbatch()
    xs, ys = [], []
    for x, y in ds.batch(_CHUNK).as_numpy_iterator():
        xs.append(x)
        ys.append(y)
    if not xs:
        raise UserError(where, "the tf.data.Dataset is empty")
    return np.concatenate(xs), np.concatenate(ys)

"""Data sources, one seeded shuffle, the fixed holdout and the per-trial validation split.

Keras's own `validation_split` takes the *last* rows, unshuffled: data sorted by label would
validate on one class. So the rows are shuffled once with the spec's seed, the holdout is cut
first (identical for every trial, never trained or early-stopped on), and each trial's
validation set is cut from the rest; which rows go where is decided in `tuning.data.splits`
(stratified for classification).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuning.data.adapters import source_chunks
from tuning.data.splits import missing_classes, shuffled_parts, validation_parts, validation_rows
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec


@dataclass(frozen=True)
class Dataset:
    """Features and labels after the shuffle, split into a training pool and the holdout."""

    x_pool: np.ndarray
    y_pool: np.ndarray
    x_holdout: np.ndarray
    y_holdout: np.ndarray
    n_outputs: int
    #: Classification: validation splits keep the class proportions too.
    stratify: bool = False
    #: Classes too small to appear in every part, named.
    warnings: tuple[str, ...] = ()
    #: Rows never used to rank or select (see `tuning.data.splits.Parts`).
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_pool.shape[1:])

    def n_val(self, validation_split: float) -> int:
        return validation_rows(len(self.x_pool), validation_split)

    def n_train(self, validation_split: float) -> int:
        return len(self.x_pool) - self.n_val(validation_split)

    def split(self, validation_split: float) -> tuple[np.ndarray, ...]:
        """(x_train, y_train, x_val, y_val, x_holdout, y_holdout), scaled on x_train alone."""
        train, val = validation_parts(self.y_pool, validation_split, stratify=self.stratify)
        x_train = aligned_rows(self.x_pool, train)  # a copy of its own: scaled in place
        scale = _scaler(x_train)
        return (
            scale(x_train, own=True),
            aligned_rows(self.y_pool, train),
            scale(self.x_pool[val]),
            self.y_pool[val],
            scale(self.x_holdout),
            self.y_holdout,
        )

    def test_rows(self, validation_split: float) -> tuple[np.ndarray, np.ndarray] | None:
        """The test rows scaled as `split` scales the others, or None without test rows."""
        if self.x_test is None or not len(self.x_test):
            return None
        train, _ = validation_parts(self.y_pool, validation_split, stratify=self.stratify)
        return _scaler(self.x_pool[train])(self.x_test), self.y_test


#: TensorFlow takes an array's memory as it is, without a copy, only at this alignment.
ALIGNMENT = 64


def aligned_rows(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`x[rows]` in a new array that starts on an `ALIGNMENT`-byte boundary, so the training
    stream can use it in place (see `tuning.training.hypermodel.as_tensor`): one copy of the
    training rows per trial instead of two."""
    shape = (len(rows), *x.shape[1:])
    nbytes = int(np.prod(shape, dtype=np.int64)) * x.itemsize
    buffer = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    start = -buffer.ctypes.data % ALIGNMENT
    out = buffer[start:start + nbytes].view(x.dtype).reshape(shape)
    np.take(x, rows, axis=0, out=out, mode="clip")  # "clip": no buffered copy; rows are valid
    return out


def _scaler(x_train: np.ndarray):
    """Standardise with the training rows' mean and spread (constant columns left as they are)."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0

    def scale(x: np.ndarray, own: bool = False) -> np.ndarray:
        """`x` scaled; in place when `own` (a float32 copy nobody else holds), else a copy,
        so a training-sized array is never held twice."""
        out = x if own else np.array(x, dtype=np.float32)
        out -= mean
        out /= std
        return out

    return scale


def load_dataset(spec: Spec) -> Dataset:
    """Load the spec's source, check it, shuffle once and cut the holdout."""
    chunks = list(source_chunks(spec))
    return prepare(np.concatenate([c.x for c in chunks]), np.concatenate([c.y for c in chunks]),
                   spec)


def prepare(x: np.ndarray, y: np.ndarray, spec: Spec) -> Dataset:
    """Check, encode, shuffle and split arrays that came from any source."""
    where = spec.data.source
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise UserError(where, f"x and y must hold one entry per row, got shapes "
                               f"{x.shape} and {y.shape}")
    if x.ndim < 2:
        x = x.reshape(len(x), -1)
    if len(x) != len(y):
        raise UserError(where, f"{len(x)} feature rows but {len(y)} labels")
    if not np.issubdtype(x.dtype, np.number):
        raise UserError(where, "features must be numeric")
    x = x.astype(np.float32, copy=False)  # a copy only where the dtype changes
    if not np.isfinite(x).all():
        rows = int((~np.isfinite(x.reshape(len(x), -1))).any(axis=1).sum())
        raise UserError(where, f"features hold NaN or infinite values in {rows} row(s)")
    raw = np.asarray(y)
    y, n_outputs = _encode_labels(where, y, spec.model.task)
    stratify = spec.model.task == "classification"
    parts = shuffled_parts(y, holdout=spec.data.holdout, test=spec.data.test, seed=spec.seed,
                           stratify=stratify)
    n_holdout = len(parts.holdout)
    if n_holdout < 1:
        raise UserError(
            "data.holdout",
            f"{spec.data.holdout} of {len(x)} samples is less than one sample; "
            "use more data or a larger holdout",
        )
    n_pool = len(parts.pool)
    smallest = min(
        (v for v in spec.search.dimension("validation_split").endpoints()), default=0.1
    )
    if n_pool < 2 or n_pool - validation_rows(n_pool, float(smallest)) < 1:
        raise UserError(
            "data.holdout",
            f"{len(x)} samples leave {n_pool} after the holdout and test rows: too few to train "
            "and validate",
        )
    warnings = ()
    if stratify:
        train, val = validation_parts(y[parts.pool], float(smallest), stratify=True)
        named = {"holdout": parts.holdout, "test": parts.test} if len(parts.test) else {
            "holdout": parts.holdout}
        warnings = tuple(missing_classes(y, {
            **named, "training": parts.pool[train],
            f"validation (validation_split = {smallest})": parts.pool[val]},
            np.unique(raw.reshape(len(raw)))))
    return Dataset(
        x_pool=x[parts.pool],
        y_pool=y[parts.pool],
        x_holdout=x[parts.holdout],
        y_holdout=y[parts.holdout],
        n_outputs=n_outputs,
        stratify=stratify,
        warnings=warnings,
        x_test=x[parts.test],
        y_test=y[parts.test],
    )


def _encode_labels(where: str, y: np.ndarray, task: str) -> tuple[np.ndarray, int]:
    y = np.asarray(y)
    if y.ndim > 1:
        if y.size != len(y):
            hint = " (one-hot labels? give y.argmax(axis=1))" if task == "classification" else ""
            raise UserError(where, f"the target must be one label per row, got shape "
                                   f"{y.shape}{hint}")
        y = y.reshape(len(y))
    if task == "regression":
        if not np.issubdtype(y.dtype, np.number):
            raise UserError(where, "a regression target must be numeric")
        y = y.astype(np.float32)
        if not np.isfinite(y).all():
            raise UserError(where, "the target holds NaN or infinite values")
        return y, 1
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise UserError(where, "the target holds NaN or infinite values")
    if y.dtype.kind == "O" and any(v is None or v != v for v in y):
        raise UserError(where, "the target holds missing values")
    classes, encoded = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise UserError(
            where, f"a classification target needs two classes or more, found {len(classes)}"
        )
    return encoded.astype(np.int32), len(classes)

"""Preparation: the source read chunk by chunk into the store, checked, shuffled once with
the spec's seed, and cut into pool, holdout and test rows; then each trial's rows.

Keras's own `validation_split` takes the *last* rows, unshuffled: data sorted by label would
validate on one class. So the rows are shuffled once with the spec's seed, the holdout is cut
first (identical for every trial, never trained or early-stopped on), and each trial's
validation set is cut from the rest; which rows go where is decided in `tuning.data.splits`
(stratified for classification). Every part is an index set into the store, never a copy of
rows: preparing holds one chunk of features at a time, and a trial reads its batches by
index (`tuning.data.batches`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tuning.data import store
from tuning.data.adapters.base import Chunk, source_chunks
from tuning.data.batches import RowReader, Scaling
from tuning.data.splits import (
    missing_classes,
    shuffled_parts,
    skewed_mix,
    validation_parts,
    validation_rows,
)
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec


@dataclass(frozen=True)
class TrialRows:
    """What one trial reads: its training and validation rows, the holdout and the test
    rows (None without any), each scaled with the training rows' statistics where
    standardization applies."""

    train: RowReader
    val: RowReader
    holdout: RowReader
    test: RowReader | None


@dataclass(frozen=True)
class Dataset:
    """The prepared rows: every row's features in the store (memory-mapped, in the dtype
    stored), the encoded labels, and which rows are pool (training and validation), holdout
    and test, as indices into both."""

    x: np.ndarray
    y: np.ndarray
    pool: np.ndarray
    holdout: np.ndarray
    test: np.ndarray
    n_outputs: int
    #: Classification: validation splits keep the class proportions too.
    stratify: bool = False
    #: Classes too small to appear in every part, named.
    warnings: tuple[str, ...] = ()
    #: Whether batches are standardized with the training rows' statistics (data.standardize).
    standardize: bool = False
    #: What preparation did to the data, in words (run.json, `validate`, the report).
    preparation: str = ""
    #: Training-row statistics per validation split, computed once per process.
    _scalings: dict[float, Scaling] = field(default_factory=dict, init=False, compare=False,
                                            repr=False)
    #: How this process reads rows of x (a large store's with pread).
    _source: store.RowSource = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_source", store.RowSource(self.x))

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    @property
    def y_pool(self) -> np.ndarray:
        return self.y[self.pool]

    @property
    def y_holdout(self) -> np.ndarray:
        return self.y[self.holdout]

    @property
    def y_test(self) -> np.ndarray:
        return self.y[self.test]

    @property
    def nbytes(self) -> int:
        """What the store holds: the features as stored, the labels and the index sets."""
        return sum(a.nbytes for a in (self.x, self.y, self.pool, self.holdout, self.test))

    def n_val(self, validation_split: float) -> int:
        return validation_rows(len(self.pool), validation_split)

    def n_train(self, validation_split: float) -> int:
        return len(self.pool) - self.n_val(validation_split)

    def trial_rows(self, validation_split: float) -> TrialRows:
        """Readers of a trial's rows; the scaling, where it applies, is fitted on the
        trial's training rows alone."""
        train, val = validation_parts(self.y_pool, validation_split, stratify=self.stratify)
        train, val = self.pool[train], self.pool[val]
        scaling = None
        if self.standardize:
            if validation_split not in self._scalings:
                self._scalings[validation_split] = Scaling.fit(self.x, train, self._source)
            scaling = self._scalings[validation_split]

        def reader(rows: np.ndarray) -> RowReader:
            return RowReader(self.x, self.y, rows, scaling, self._source)

        return TrialRows(reader(train), reader(val), reader(self.holdout),
                         reader(self.test) if len(self.test) else None)


def load_dataset(spec: Spec, folder: Path | None = None, data: Any = None) -> Dataset:
    """Read the spec's source (or the Python API's `data`) a chunk at a time into a store at
    `folder` (by default a temporary one, gone once mapped) and open it."""
    return prepare(source_chunks(spec, data), spec, folder)


@dataclass(frozen=True)
class Labels:
    """The labels encoded and the rows cut into pool, holdout and test (index sets), with
    the warnings about classes too small for some part: everything preparation decides
    from the labels alone."""

    y: np.ndarray
    n_outputs: int
    stratify: bool
    pool: np.ndarray
    holdout: np.ndarray
    test: np.ndarray
    warnings: tuple[str, ...]


def split_labels(raw: np.ndarray, spec: Spec) -> Labels:
    """Encode the labels, shuffle with the spec's seed and cut the parts; a target or a
    split the data cannot give (too few rows, one class) is a `UserError`. Needs the labels
    only, so the Python API checks its data with it without writing the rows again."""
    where = spec.data.source
    y, n_outputs = _encode_labels(where, raw, spec.model.task)
    stratify = spec.model.task == "classification"
    parts = shuffled_parts(y, holdout=spec.data.holdout, test=spec.data.test, seed=spec.seed,
                           stratify=stratify)
    n_rows = len(y)
    if len(parts.holdout) < 1:
        raise UserError(
            "data.holdout",
            f"{spec.data.holdout} of {n_rows} samples is less than one sample; "
            "use more data or a larger holdout",
        )
    n_pool = len(parts.pool)
    smallest = min(
        (v for v in spec.search.dimension("validation_split").endpoints()), default=0.1
    )
    if n_pool < 2 or n_pool - validation_rows(n_pool, float(smallest)) < 1:
        raise UserError(
            "data.holdout",
            f"{n_rows} samples leave {n_pool} after the holdout and test rows: too few to train "
            "and validate",
        )
    warnings = ()
    if stratify:
        train, val = validation_parts(y[parts.pool], float(smallest), stratify=True)
        named = {"holdout": parts.holdout, "test": parts.test} if len(parts.test) else {
            "holdout": parts.holdout}
        every_part = {**named, "training": parts.pool[train],
                      f"validation (validation_split = {smallest})": parts.pool[val]}
        names = np.unique(raw.reshape(len(raw)))
        warnings = (*missing_classes(y, every_part, names), *skewed_mix(y, every_part, names))
    return Labels(y, n_outputs, stratify, parts.pool, parts.holdout, parts.test, warnings)


def prepare(chunks: Iterable[Chunk], spec: Spec, folder: Path | None = None) -> Dataset:
    """Write the rows of `chunks` (checked as `source_chunks` checks them) to a store at
    `folder` as they come, encode the labels, shuffle and split as index sets, and return
    the store opened.

    Memory held: one chunk, plus the labels and the index arrays (a few bytes per row).
    """
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="steps-tuner-data-") as staging:
            return prepare(chunks, spec, Path(staging))  # a mapped file outlives its name
    where = spec.data.source
    folder.mkdir(parents=True, exist_ok=True)
    writer = store.RowWriter(folder / store.X_FILE)
    try:
        raw = _write_rows(chunks, writer, where)
    finally:
        writer.close()
    labels = split_labels(raw, spec)
    setting = spec.data.standardize
    shape = (*writer.row_shape,)
    applied = setting is True or (setting == "auto" and len(shape) == 1)
    meta = {"n_outputs": labels.n_outputs, "stratify": labels.stratify,
            "warnings": list(labels.warnings), "rows": len(labels.y),
            "input_shape": list(shape), "dtype": str(writer.dtype),
            "standardize": {"setting": setting, "applied": applied},
            "preparation": preparation(setting, applied, shape, writer.dtype)}
    store.finish(folder, {"y": labels.y, "pool": labels.pool, "holdout": labels.holdout,
                          "test": labels.test}, meta)
    return open_prepared(folder)


def open_prepared(folder: Path) -> Dataset:
    """The store at `folder`, x memory-mapped read-only (see `tuning.data.store`)."""
    arrays, meta = store.open_arrays(folder)
    return Dataset(**arrays, n_outputs=meta["n_outputs"], stratify=meta["stratify"],
                   warnings=tuple(meta["warnings"]),
                   standardize=meta["standardize"]["applied"], preparation=meta["preparation"])


def preparation(setting: str | bool, applied: bool, shape: tuple[int, ...],
                dtype: np.dtype) -> str:
    """What is done to the features before the model sees them, in one sentence."""
    why = f"data.standardize = {str(setting).lower()}"
    if applied:
        return (f"features stored as {dtype}, given to the model as float32 standardized "
                f"with each trial's training rows' mean and spread ({why})")
    if setting == "auto":
        why += f": inputs of shape {shape} are not a table"
    return f"features stored as {dtype}, given to the model as float32 values unchanged ({why})"


def _write_rows(chunks: Iterable[Chunk], writer: store.RowWriter, where: str) -> np.ndarray:
    """Write each chunk's features (float64 as the float32 the model computes in; the chunks
    come checked, `tuning.data.adapters.checks`); returns the labels of every row."""
    labels = []
    for chunk in chunks:
        x = chunk.x
        if x.dtype.kind == "f" and x.dtype.itemsize > 4:  # in float32's range: checked
            x = x.astype(np.float32)
        try:
            writer.append(x)
        except ValueError as exc:
            raise UserError(where, f"the rows change shape or type part-way: {exc}") from None
        labels.append(np.asarray(chunk.y))
    if not labels:
        raise UserError(where, "holds no rows")
    return np.concatenate(labels)


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

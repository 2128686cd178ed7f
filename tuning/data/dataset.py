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

import importlib.util
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tuning.data import sources, store
from tuning.data.adapters.base import CHUNK_ROWS, Chunk
from tuning.data.batches import RowReader, Scaling
from tuning.data.splits import missing_classes, shuffled_parts, validation_parts, validation_rows
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec

SKLEARN_SETS = ("digits", "wine", "breast_cancer", "iris", "diabetes")


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
                self._scalings[validation_split] = Scaling.fit(self.x, train)
            scaling = self._scalings[validation_split]

        def reader(rows: np.ndarray) -> RowReader:
            return RowReader(self.x, self.y, rows, scaling)

        return TrialRows(reader(train), reader(val), reader(self.holdout),
                         reader(self.test) if len(self.test) else None)


def load_dataset(spec: Spec, folder: Path | None = None) -> Dataset:
    """Read the spec's source into a store at `folder` (by default a temporary one, gone
    once mapped) and open it."""
    return prepare(_in_chunks(*_read_source(spec)), spec, folder)


def _in_chunks(x: np.ndarray, y: np.ndarray) -> Iterator[Chunk]:
    """Arrays a reader returned whole (or memory-mapped), handed over a chunk at a time, so
    that checking and writing them holds one chunk, not another copy of the data."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        yield Chunk(x, y)  # refused as a whole, naming the whole's shapes
        return
    for start in range(0, max(len(x), 1), CHUNK_ROWS):
        yield Chunk(x[start:start + CHUNK_ROWS], y[start:start + CHUNK_ROWS])


def prepare(chunks: Iterable[Chunk], spec: Spec, folder: Path | None = None) -> Dataset:
    """Write the rows of `chunks` to a store at `folder` as they come, check them, encode the
    labels, shuffle and split as index sets, and return the store opened.

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
        warnings = tuple(missing_classes(y, {
            **named, "training": parts.pool[train],
            f"validation (validation_split = {smallest})": parts.pool[val]},
            np.unique(raw.reshape(len(raw)))))
    setting = spec.data.standardize
    shape = (*writer.row_shape,)
    applied = setting is True or (setting == "auto" and len(shape) == 1)
    meta = {"n_outputs": n_outputs, "stratify": stratify, "warnings": list(warnings),
            "rows": n_rows, "input_shape": list(shape), "dtype": str(writer.dtype),
            "standardize": {"setting": setting, "applied": applied},
            "preparation": preparation(setting, applied, shape, writer.dtype)}
    store.finish(folder, {"y": y, "pool": parts.pool, "holdout": parts.holdout,
                          "test": parts.test}, meta)
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
    """Check each chunk and write its features; returns the labels of every row."""
    labels, bad = [], 0
    for chunk in chunks:
        x, y = np.asarray(chunk.x), np.asarray(chunk.y)
        if x.ndim == 0 or y.ndim == 0:
            raise UserError(where, f"x and y must hold one entry per row, got shapes "
                                   f"{x.shape} and {y.shape}")
        if x.ndim < 2:
            x = x.reshape(len(x), -1)
        if len(x) != len(y):
            raise UserError(where, f"{len(x)} feature rows but {len(y)} labels")
        if x.dtype.kind not in "iuf":
            raise UserError(where, "features must be numeric")
        if x.dtype.kind == "f":
            if x.dtype.itemsize > 4:  # the model computes in float32: store no more
                with np.errstate(over="ignore"):
                    x = x.astype(np.float32)
            bad += int((~np.isfinite(x.reshape(len(x), -1))).any(axis=1).sum())
        try:
            writer.append(x)
        except ValueError as exc:
            raise UserError(where, f"the rows change shape or type part-way: {exc}") from None
        labels.append(y)
    if bad:
        raise UserError(where, f"features hold NaN or infinite values in {bad} row(s)")
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


def _read_source(spec: Spec) -> tuple[np.ndarray, np.ndarray]:
    kind, _, rest = spec.data.source.partition(":")
    if kind == "sklearn":
        return _read_sklearn(rest)
    if kind == "python":
        return sources.read_python(spec, rest)
    path = Path(rest)
    if not path.is_absolute():
        path = spec.base_dir / path
    if kind == "npy":
        return sources.read_npy_dir(path)
    if kind == "images":
        return sources.read_images(path, spec.data.image_size)
    if not path.is_file():
        raise UserError("data.source", f"{rest}: no such file (looked in {path.parent})")
    if kind == "csv":
        return _read_csv(path, spec.data.target)
    return _read_npz(path)


#: The files behind scikit-learn's loaders: (features file, target file or None, header rows).
_SKLEARN_FILES = {
    "digits": ("digits.csv.gz", None, 0),
    "wine": ("wine_data.csv", None, 1),
    "breast_cancer": ("breast_cancer.csv", None, 1),
    "iris": ("iris.csv", None, 1),
    "diabetes": ("diabetes_data_raw.csv.gz", "diabetes_target.csv.gz", 0),
}


def _read_sklearn(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A data set that ships inside scikit-learn, read from its files directly: importing
    scikit-learn costs a second and `validate` should not. Its own loader is the fallback."""
    if name not in SKLEARN_SETS:
        raise UserError("data.source", f"sklearn:{name} is not one of: {', '.join(SKLEARN_SETS)}")
    found = importlib.util.find_spec("sklearn")
    folder = Path(found.submodule_search_locations[0]) / "datasets" / "data" if found else None
    features, target, header = _SKLEARN_FILES[name]
    if folder is not None and (folder / features).is_file():
        if target is not None:  # raw features; scaling is fitted per trial anyway
            return np.loadtxt(folder / features), np.loadtxt(folder / target)
        table = np.loadtxt(folder / features, delimiter=",", skiprows=header)
        return table[:, :-1], table[:, -1].astype(int)
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


def _read_csv(path: Path, target: str) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(str(path), f"cannot read as CSV: {exc}".splitlines()[0]) from None
    if target not in frame.columns:
        raise UserError(
            "data.target",
            f"no column {target!r} in {path.name}; columns: {', '.join(map(str, frame.columns))}",
        )
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise UserError(str(path), "no feature columns besides the target")
    for column in features.columns:
        if not pd.api.types.is_numeric_dtype(features[column]):
            raise UserError(
                f"{path.name}:{column}", "non-numeric feature column; encode it as numbers first"
            )
    missing = features.columns[features.isna().any()].tolist()
    if missing:
        raise UserError(f"{path.name}:{missing[0]}", "feature column holds missing (NaN) values")
    if frame[target].isna().any():
        raise UserError(f"{path.name}:{target}", "target column holds missing values")
    return features.to_numpy(), frame[target].to_numpy()


#: What a damaged or foreign file raises inside np.load (a cut-off zip, a bad header).
_NPZ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        arrays = np.load(path, allow_pickle=False)
    except _NPZ_ERRORS as exc:
        raise UserError(str(path), f"cannot read as .npz: {exc}".splitlines()[0]) from None
    if not isinstance(arrays, np.lib.npyio.NpzFile):  # a .npy file under an .npz name
        raise UserError(str(path), "holds one array (.npy), not the arrays x and y of an .npz "
                                   "(np.savez(path, x=x, y=y))")
    with arrays:
        for key in ("x", "y"):
            if key not in arrays.files:
                raise UserError(
                    str(path), f"needs arrays named 'x' and 'y', found: {', '.join(arrays.files)}"
                )
        try:
            return _member(path, arrays, "x"), _member(path, arrays, "y")
        except ValueError as exc:
            if "allow_pickle" in str(exc):
                raise UserError(str(path), "holds Python objects (object arrays); save numbers "
                                           "or strings, not objects") from None
            raise UserError(str(path), f"cannot read as .npz: {exc}".splitlines()[0]) from None
        except _NPZ_ERRORS as exc:
            raise UserError(str(path), f"cannot read as .npz: {exc}".splitlines()[0]) from None


def _member(path: Path, arrays: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    """An array of the .npz; one stored uncompressed (what `np.savez` writes) is mapped
    where it lies in the file instead of being read through the zip module piece by piece
    into a copy, which on a large file costs a training-sized copy and most of the loading
    time. Compressed members are read by numpy."""
    info = arrays.zip.getinfo(f"{key}.npy")
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:  # 0x1: encrypted
        return arrays[key]
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        local = handle.read(30)  # the member's local header: fixed part, then name and extra
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            return arrays[key]
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        handle.seek(info.header_offset + 30 + name_length + extra_length)
        version = np.lib.format.read_magic(handle)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(handle)
        offset = handle.tell()
    if dtype.hasobject or offset + dtype.itemsize * int(np.prod(shape)) > path.stat().st_size:
        return arrays[key]  # numpy says what is wrong with it
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape,
                     order="F" if fortran else "C")

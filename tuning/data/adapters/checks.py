"""What every chunk of every source must be: numeric features of one shape, one label per
row, finite and within float32's range (the model computes in float32). Checked as the
chunks come, so a bad row is named without holding the data."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from tuning.data.adapters.chunk import Chunk
from tuning.spec.errors import UserError

FLOAT32_MAX = float(np.finfo(np.float32).max)


def warn(where: str, what: str) -> None:
    """One line on stderr, as the command line writes its warnings."""
    print(f"warning: {where}: {what}", file=sys.stderr, flush=True)


def numeric_table(frame: Any, where: str) -> np.ndarray:
    """A pandas DataFrame's values: boolean columns (pandas `get_dummies` makes them) as
    0/1, any other non-numeric column refused by name."""
    import pandas as pd

    flags = [c for c in frame.columns if pd.api.types.is_bool_dtype(frame[c])]
    if flags:
        frame = frame.astype({c: np.uint8 for c in flags})
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise UserError(f"{where}:{column}",
                            "non-numeric feature column; encode it as numbers first")
    return frame.to_numpy()


def checked(chunks: Iterator[Chunk], where: str) -> Iterator[Chunk]:
    """The chunks as arrays of rows, each checked against the first's shape and dtype."""
    shape: tuple[int, ...] | None = None  # the first chunk's row shape and dtype, not its rows
    dtype: np.dtype | None = None
    start = 0
    for chunk in chunks:
        x, y = np.asarray(chunk.x), np.asarray(chunk.y)
        if x.ndim == 0 or y.ndim == 0:
            raise UserError(where, f"x and y must hold one entry per row, got shapes "
                                   f"{x.shape} and {y.shape}")
        if x.ndim == 1:
            x = x.reshape(len(x), 1)
        if len(x) != len(y):
            raise UserError(where, f"{len(x)} feature rows but {len(y)} labels")
        if x.dtype == np.bool_:
            x = x.view(np.uint8)  # documented: booleans are the numbers 0 and 1
        if not np.issubdtype(x.dtype, np.number) or x.dtype.kind == "c":
            raise UserError(where, f"features must be numeric (real numbers), got {x.dtype}")
        if shape is None:
            shape, dtype = x.shape[1:], x.dtype
        elif x.shape[1:] != shape:
            raise UserError(where, f"rows of different shapes: {shape} first, "
                                   f"then {x.shape[1:]} from row {start}")
        elif x.dtype != dtype:
            if not np.can_cast(x.dtype, dtype, "same_kind"):
                raise UserError(where, f"features change type from {dtype} to {x.dtype} "
                                       f"at row {start}; give them one type")
            x = x.astype(dtype)
        if x.dtype.kind == "f":
            _finite(x, where, start)
        yield Chunk(x, y)
        start += len(x)


def _finite(x: np.ndarray, where: str, start: int) -> None:
    flat = x.reshape(len(x), -1)
    bad = ~np.isfinite(flat).all(axis=1)
    if bad.any():
        rows = int(bad.sum())
        raise UserError(where, f"features hold NaN or infinite values in {rows} row(s), "
                               f"the first row {start + int(bad.argmax())}")
    if x.dtype.itemsize > 4 and flat.size:
        big = (np.abs(flat) > FLOAT32_MAX).any(axis=1)
        if big.any():
            row = int(big.argmax())
            value = flat[row][np.abs(flat[row]) > FLOAT32_MAX][0]
            raise UserError(where, f"features hold {value:g} in row {start + row}: out of "
                                   f"float32's range (magnitudes up to {FLOAT32_MAX:.3g}), "
                                   "which the model computes in; rescale them")

"""`csv:<path>` with `target = "<column>"`: read `CHUNK_ROWS` lines at a time with pandas;
features become float32 (text has no dtype of its own; float32 is what the model computes
in), boolean columns (pandas `get_dummies`) 0 and 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tuning.data.adapters.checks import FLOAT32_MAX, numeric_table
from tuning.data.adapters.chunk import Chunk
from tuning.data.adapters.files import files_key, source_file
from tuning.data.adapters.kind import Adapter
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec


class CsvFile(Adapter):
    kind = "csv"
    keys = frozenset({"target"})

    def check(self, spec: Spec) -> None:
        path = source_file(spec)
        head = _read(path, nrows=1)
        if spec.data.target not in head.columns:
            raise UserError("data.target", f"no column {spec.data.target!r} in {path.name}; "
                                           f"columns: {', '.join(map(str, head.columns))}")
        if len(head.columns) < 2:
            raise UserError(str(path), "no feature columns besides the target")
        if head.empty:
            raise UserError(str(path), "holds a header but no rows")

    def content_key(self, spec: Spec) -> str | None:
        return files_key([source_file(spec)])

    def chunks(self, spec: Spec, chunk_rows: int) -> Iterator[Chunk]:
        import pandas as pd

        path, target = source_file(spec), spec.data.target
        try:
            for frame in _read(path, chunksize=chunk_rows):
                yield _rows(frame, path, target)
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise UserError(str(path), f"cannot read as CSV: {exc}".splitlines()[0]) from None


def _read(path: Path, **options):
    import pandas as pd

    try:
        return pd.read_csv(path, **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UserError(str(path), f"cannot read as CSV: {exc}".splitlines()[0]) from None


def _rows(frame, path: Path, target: str) -> Chunk:
    """One chunk of lines as float32 features and the target column as it is."""
    features = frame.drop(columns=[target])
    x = numeric_table(features, path.name)
    missing = features.columns[features.isna().any()].tolist()
    if missing:
        raise UserError(f"{path.name}:{missing[0]}", "feature column holds missing (NaN) values")
    if frame[target].isna().any():
        raise UserError(f"{path.name}:{target}", "target column holds missing values")
    if x.dtype.kind == "f" and x.dtype.itemsize > 4:
        too_big = np.abs(x) > FLOAT32_MAX
        if too_big.any():
            row, column = (int(i[0]) for i in np.nonzero(too_big))
            raise UserError(f"{path.name}:{features.columns[column]}",
                            f"{x[row, column]:g} (line {frame.index[row] + 2}) is out of "
                            f"float32's range (magnitudes up to {FLOAT32_MAX:.3g}), which the "
                            "model computes in; rescale the column")
    return Chunk(x.astype(np.float32), frame[target].to_numpy())

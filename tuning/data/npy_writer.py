"""An .npy file written a chunk of rows at a time, its row count unknown until the end:
the header is written with room to spare and rewritten with the final shape on closing."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import numpy as np

#: Bytes kept for the header (magic, length, dict, padding): room for any shape.
HEADER_BYTES = 256


class NpyWriter:
    """`append` rows of one dtype and row shape; `close` makes the file a valid .npy."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("wb")
        self._file.write(b"\0" * HEADER_BYTES)
        self._dtype: np.dtype | None = None
        self._row_shape: tuple[int, ...] = ()
        self.rows = 0

    def append(self, rows: np.ndarray) -> None:
        if self._dtype is None:
            self._dtype, self._row_shape = rows.dtype, rows.shape[1:]
        if rows.dtype != self._dtype or rows.shape[1:] != self._row_shape:
            raise ValueError(f"rows of {rows.dtype}{rows.shape[1:]} after "
                             f"{self._dtype}{self._row_shape}")
        self._file.write(memoryview(np.ascontiguousarray(rows)).cast("B"))
        self.rows += len(rows)

    def close(self) -> None:
        header = {"descr": np.lib.format.dtype_to_descr(self._dtype or np.dtype(np.float32)),
                  "fortran_order": False, "shape": (self.rows, *self._row_shape)}
        text = repr(header).encode("latin1")
        prefix = np.lib.format.magic(1, 0) + (HEADER_BYTES - 10).to_bytes(2, "little")
        self._file.seek(0)
        self._file.write(prefix + text.ljust(HEADER_BYTES - len(prefix) - 1) + b"\n")
        self._file.close()

    def __enter__(self) -> NpyWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self._file.close()

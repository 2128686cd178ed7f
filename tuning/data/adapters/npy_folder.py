"""`npy:<folder>`: `x.npy` and `y.npy`, memory-mapped and read a chunk at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tuning.data.adapters.chunk import Chunk
from tuning.data.adapters.files import files_key, sliced, source_path
from tuning.data.adapters.kind import Adapter
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec


class NpyFolder(Adapter):
    kind = "npy"

    def check(self, spec: Spec) -> None:
        read_npy_dir(source_path(spec))

    def rows(self, spec: Spec) -> int | None:
        return len(read_npy_dir(source_path(spec))[1])

    def content_key(self, spec: Spec) -> str | None:
        folder = source_path(spec)
        return files_key(folder / f"{name}.npy" for name in ("x", "y"))

    def chunks(self, spec: Spec, chunk_rows: int) -> Iterator[Chunk]:
        x, y = read_npy_dir(source_path(spec))
        return sliced(x, y, chunk_rows)


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

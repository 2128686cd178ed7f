"""The one interface between the sources and the store: a source read as `Chunk`s.

Every kind of source (`tuning.data.adapters.<kind>`) reads its rows in runs of at most
`CHUNK_ROWS`, in the dtype it holds them in, so that preparing a source never needs more
memory than a chunk: the store writes each chunk's features as it comes and keeps only the
labels. Modelled on Keras's `trainers/data_adapters/`: one adapter per kind, one interface.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from tuning.spec.schema import Spec

#: Rows per chunk: 4096 rows of 96 x 96 x 3 uint8 images are 113 MB, of 64 float32 1 MB.
CHUNK_ROWS = 4096


@dataclass(frozen=True)
class Chunk:
    """A run of rows as the source holds them."""

    x: np.ndarray  # (rows, *feature_shape), in the source's own dtype (uint8 images stay uint8)
    y: np.ndarray  # (rows,) labels/targets as the source gives them (not yet encoded)


class Adapter:
    """One kind of source: the spec keys it takes, a check that reads no rows (and imports
    no TensorFlow where the kind allows), and a reader of chunks."""

    #: The source kind, the part of `data.source` before the first colon.
    kind: ClassVar[str]
    #: The `[data]` keys only this kind takes (beyond source, holdout, test, take, sample...).
    keys: ClassVar[frozenset[str]] = frozenset()
    #: Whether checking the source needs TensorFlow (`validate` and `--help` avoid it).
    needs_tensorflow: ClassVar[bool] = False

    def check(self, spec: Spec) -> None:
        """Raise `UserError` for what can be told without reading the rows."""

    def rows(self, spec: Spec) -> int | None:
        """The number of rows when known without reading them, else None."""
        return None

    def content_key(self, spec: Spec) -> str | None:
        """A cheap identity of the content (paths, sizes, modification times), or None
        where only the bytes themselves can tell (hashed as they stream)."""
        return None

    def chunks(self, spec: Spec, chunk_rows: int) -> Iterator[Chunk]:
        """Every row once, in chunks of any size; `source_chunks` bounds them."""
        raise NotImplementedError


def source_chunks(spec: Spec, data: Any = None, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """Every row of the spec's source (or of `data`, the Python API's in-memory data), once,
    in chunks of at most `chunk_rows` rows; `data.take` / `data.sample` already applied."""
    from tuning.data.adapters.reading import bounded

    return bounded(spec, data, chunk_rows)

"""The one interface between the sources and the store: a source read as `Chunk`s.

Every kind of source (`tuning.data.adapters.<kind>`) reads its rows in runs of at most
`CHUNK_ROWS`, in the dtype it holds them in, so that preparing a source never needs more
memory than a chunk: the store writes each chunk's features as it comes and keeps only the
labels. Modelled on Keras's `trainers/data_adapters/`: one adapter per kind, one interface.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tuning.data.adapters.chunk import CHUNK_ROWS, Chunk
from tuning.data.adapters.reading import bounded
from tuning.spec.schema import Spec

__all__ = ["CHUNK_ROWS", "Chunk", "source_chunks"]


def source_chunks(spec: Spec, data: Any = None, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """Every row of the spec's source (or of `data`, the Python API's in-memory data), once,
    in chunks of at most `chunk_rows` rows; `data.take` / `data.sample` already applied."""
    return bounded(spec, data, chunk_rows)

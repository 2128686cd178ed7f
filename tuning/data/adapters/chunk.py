"""A run of rows, the unit every source is read in (see `tuning.data.adapters.base`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rows per chunk at most: 4096 rows of 64 float32 features are 1 MiB.
CHUNK_ROWS = 4096
#: Bytes of features per chunk at most: large rows make shorter chunks (96 x 96 x 3 uint8
#: images: 2,427 a chunk; 224 x 224 x 3: 445).
CHUNK_BYTES = 64 * 2**20


def rows_per_chunk(chunk_rows: int, row_bytes: int) -> int:
    """`chunk_rows`, or fewer where that many rows would pass `CHUNK_BYTES`."""
    return max(1, min(chunk_rows, CHUNK_BYTES // max(1, row_bytes)))


@dataclass(frozen=True)
class Chunk:
    """A run of rows as the source holds them."""

    x: np.ndarray  # (rows, *feature_shape), in the source's own dtype (uint8 images stay uint8)
    y: np.ndarray  # (rows,) labels/targets as the source gives them (not yet encoded)

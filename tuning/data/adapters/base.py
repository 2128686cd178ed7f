"""What every source adapter hands to preparation: runs of rows, never the whole source."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rows per chunk by default: small enough that a chunk of images stays far below the data.
CHUNK_ROWS = 4096


@dataclass(frozen=True)
class Chunk:
    """A run of rows as the source holds them."""

    x: np.ndarray   # (rows, *feature_shape), in the source's own dtype (uint8 images stay uint8)
    y: np.ndarray   # (rows,) labels/targets as the source gives them (not yet encoded)

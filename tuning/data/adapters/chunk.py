"""A run of rows, the unit every source is read in (see `tuning.data.adapters.base`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rows per chunk: 4096 rows of 96 x 96 x 3 uint8 images are 113 MB, of 64 float32 1 MB.
CHUNK_ROWS = 4096


@dataclass(frozen=True)
class Chunk:
    """A run of rows as the source holds them."""

    x: np.ndarray  # (rows, *feature_shape), in the source's own dtype (uint8 images stay uint8)
    y: np.ndarray  # (rows,) labels/targets as the source gives them (not yet encoded)

"""A trial's rows read by index from the store, batch by batch: no copy of the training set.

The store keeps x in the source's dtype, memory-mapped; a trial's training, validation,
holdout and test rows are index sets into it. Each batch is gathered from the mapped file,
converted to float32 and, where standardization applies, scaled with statistics of the
trial's training rows alone, which are computed in chunks over their indices. What a trial
holds of the data is then a few batches, whatever the data's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuning.data.store import RowSource

#: Bytes of float64 rows held at once while computing the training rows' statistics (with
#: their deviations, about three times this at the peak): small beside the data.
STATS_CHUNK_BYTES = 4 * 2**20


@dataclass(frozen=True)
class Scaling:
    """Per-feature mean and spread of a trial's training rows (constant features keep a
    spread of 1, so they are only shifted)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, rows: np.ndarray, source: RowSource | None = None) -> Scaling:
        """The statistics of `x[rows]`, read in chunks of sorted rows (sequential reads of the
        mapped file) and merged exactly (Chan et al.'s pairwise update): never a copy of the
        rows, and the same numbers as on the rows at once up to rounding."""
        rows = np.sort(np.asarray(rows))
        step = max(1, STATS_CHUNK_BYTES // max(1, 8 * int(np.prod(x.shape[1:]))))
        count, mean, m2 = 0, np.zeros(x.shape[1:]), np.zeros(x.shape[1:])
        for start in range(0, len(rows), step):
            chosen = rows[start:start + step]
            part = (source.take(chosen) if source is not None else x[chosen]).astype(np.float64)
            part_mean = part.mean(axis=0)
            part_m2 = ((part - part_mean) ** 2).sum(axis=0)
            total = count + len(part)
            delta = part_mean - mean
            mean += delta * (len(part) / total)
            m2 += part_m2 + delta**2 * (count * len(part) / total)
            count = total
        std = np.sqrt(m2 / max(count, 1))
        std[std == 0] = 1.0
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """`x` (a float32 array of its own) scaled in place."""
        x -= self.mean
        x /= self.std
        return x


@dataclass(frozen=True)
class RowReader:
    """Some rows of the store (`rows`: indices into x and y), read by position."""

    x: np.ndarray
    y: np.ndarray
    rows: np.ndarray
    scaling: Scaling | None = None
    #: How x's rows are read (a large store's with pread: `tuning.data.store.RowSource`).
    source: RowSource | None = None

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def labels(self) -> np.ndarray:
        """Every row's label, in order (labels are small)."""
        return np.asarray(self.y[self.rows])

    def read(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(features as float32, labels) of the rows at `positions`, in that order."""
        picked = self.rows[np.asarray(positions)]
        taken = self.source.take(picked) if self.source is not None else self.x[picked]
        features = np.asarray(taken).astype(np.float32, copy=False)  # its own copy
        if self.scaling is not None:
            self.scaling.apply(features)
        return features, np.asarray(self.y[picked])

"""Tables the study generates, with a known fraction of wrong labels.

A network can only overfit what it can memorise: clean, easy data (the shipped sets) gives a
validation loss that is still falling when training stops. Flipping a known share of labels
gives something to memorise, and the clean twin of the same table says what the noise did.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class NoisyTable:
    """Two classes from a fixed nonlinear rule over Gaussian features; `label_noise` of the
    rows (exactly that share) get the other label."""

    rows: int
    features: int
    label_noise: float
    seed: int = 0

    @property
    def name(self) -> str:
        return f"table-{self.rows}x{self.features}-noise{round(self.label_noise * 100)}"

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        x = rng.normal(size=(self.rows, self.features)).astype(np.float32)
        weights = rng.normal(size=self.features)
        score = x @ weights + 0.5 * np.sin(3 * x[:, 0]) * x[:, 1]
        y = (score > np.median(score)).astype(np.int64)
        flipped = rng.choice(self.rows, size=round(self.label_noise * self.rows), replace=False)
        y[flipped] = 1 - y[flipped]
        return x, y

    def write(self, folder: Path) -> Path:
        """Write `<name>.npz` (arrays x and y) once; the same table every time."""
        path = folder / f"{self.name}.npz"
        if not path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            x, y = self.arrays()
            partial = folder / f".{self.name}.partial.npz"
            np.savez(partial, x=x, y=y)
            partial.replace(path)  # an interrupted write never leaves a half table behind
        return path

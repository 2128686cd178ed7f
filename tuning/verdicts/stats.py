"""The few statistics the report rests on, kept apart so each is tested on known numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Two-sided 95% normal quantile.
Z_95 = 1.959964


def wilson(p: np.ndarray, n: np.ndarray, z: float = Z_95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for proportions `p` observed on `n` samples (NaN-safe).

    Unlike p ± z·se it stays inside [0, 1] and is honest at 100% accuracy.
    """
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        denominator = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def t_quantile(dof: int) -> float:
    """Two-sided 95% Student t quantile: with 2 or 3 seeds the normal one is far too narrow."""
    from scipy.special import stdtrit  # scipy.special: a fraction of scipy.stats' import

    return float(stdtrit(dof, 0.975))


def spearman(x: pd.Series, y: pd.Series) -> tuple[float, int]:
    """Rank correlation and the number of pairs it used; NaN when it cannot say anything.

    Ranks, not values: steps_per_epoch is searched on a log scale and the relation to the
    gap need not be linear.
    """
    pairs = pd.DataFrame({"x": pd.to_numeric(x, errors="coerce"),
                          "y": pd.to_numeric(y, errors="coerce")}).dropna()
    if len(pairs) < 3 or pairs["x"].nunique() < 2 or pairs["y"].nunique() < 2:
        return float("nan"), len(pairs)
    ranks = pairs.rank()
    return float(np.corrcoef(ranks["x"], ranks["y"])[0, 1]), len(pairs)


@dataclass(frozen=True)
class SeedSpread:
    """How much a run's score moves with its seed, measured on configurations that ran more
    than once (see `seed_spread`)."""

    #: The seeds' own variance of a run's score, net of which rows each run happens to get
    #: right (that part is already the rows' sampling error). Unbiased, so it may be < 0.
    variance: float
    dof: int
    #: The run-to-run variance it was estimated from (seeds and rows together): what sets how
    #: uncertain `variance` is.
    mean_square: float

    def added_to(self, known: float, known_dof: float, factor: float) -> tuple[float, float]:
        """`known` plus `factor` x the seeds' variance, and the Welch-Satterthwaite degrees of
        freedom of the sum. The seeds' term is as uncertain as the mean square behind it, not
        as its net size: counting the net size would make the sum look surer than it is."""
        seeds = factor * self.variance
        if not self.dof or seeds == 0 or not math.isfinite(known):
            return known, known_dof
        total = max(known + seeds, known / 2)
        uncertainty = (factor * self.mean_square) ** 2 / self.dof + (
            known ** 2 / known_dof if math.isfinite(known_dof) else 0.0)
        return total, total ** 2 / uncertainty if uncertainty > 0 else known_dof


NO_SEED_SPREAD = SeedSpread(0.0, 0, 0.0)


def seed_spread(stacks: list[np.ndarray]) -> SeedSpread:
    """The seed spread pooled over per-row values (runs x rows) of configurations that ran
    more than once. Two runs on the same rows differ by their seeds and by which rows each
    happens to get right; the second part (the rows' own run-to-run variance over the row
    count) is taken out, since `interval`'s rows part already counts it."""
    between, within, dof = 0.0, 0.0, 0
    for values in stacks:
        runs, rows = values.shape
        if runs < 2:
            continue
        scores = values.mean(axis=1)
        between += float(np.sum((scores - scores.mean()) ** 2))
        within += float(values.var(axis=0, ddof=1).mean()) / rows * (runs - 1)
        dof += runs - 1
    if not dof:
        return NO_SEED_SPREAD
    return SeedSpread((between - within) / dof, dof, between / dof)

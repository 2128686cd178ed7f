"""The few statistics the report rests on, kept apart so each is tested on known numbers."""

from __future__ import annotations

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

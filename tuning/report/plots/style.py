"""Shared looks for every plot: readable in grey scale, the same size, no surprises.

Colours come from a perceptually uniform map and every series also differs by marker or
line style, so a grey-scale print still tells them apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from tuning.verdicts.text import fmt

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Above this many distinct values a numeric axis is cut into ranges.
MAX_LEVELS = 10


def figure(width: float = 8.0, height: float = 4.8, nrows: int = 1, ncols: int = 1,
           **kwargs) -> tuple[Figure, np.ndarray]:
    """A pyplot-free figure (no global state, safe in any process) and its axes as an array."""
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def colours(n: int) -> list:
    """n colours spread over viridis, darkest first (dark stays dark in grey scale)."""
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.0, 0.85, max(n, 1))][:n]


def empty(ax: Axes, text: str) -> None:
    """Say why a plot has nothing to show instead of drawing empty axes."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def log_if_wide(ax: Axes, values: pd.Series, axis: str = "x", ratio: float = 20.0) -> None:
    """Log scale when positive values span more than `ratio`: steps and batches grow by x2."""
    values = pd.to_numeric(values, errors="coerce").dropna()
    values = values[values > 0]
    if len(values) and values.max() / values.min() > ratio:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log", base=2)
        (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(ScalarFormatter())


def levels(values: pd.Series) -> pd.Series:
    """Category labels for a heatmap axis: the values, or ranges when there are too many."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.nunique() <= MAX_LEVELS:
        order = sorted(numeric.dropna().unique())
        return pd.Categorical(numeric.map(fmt), categories=[fmt(v) for v in order], ordered=True)
    bins = pd.qcut(numeric, MAX_LEVELS, duplicates="drop")
    labels = [f"{fmt(b.left)}–{fmt(b.right)}" for b in bins.cat.categories]
    return bins.cat.rename_categories(labels)

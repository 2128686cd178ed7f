"""The objective over steps_per_epoch x validation_split, failures marked where they happened.

A cell holds the best score of its trials (other hyperparameters may vary inside it); a cell
where nothing scored is hatched and says why, so an out-of-memory corner reads as one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from tuning.records.status import Status
from tuning.records.trials import STATUS, STEPS_PER_EPOCH, VALIDATION_SPLIT
from tuning.report.plots.style import empty, figure, levels
from tuning.verdicts.text import fmt


def objective_heatmap(trials: pd.DataFrame, *, objective: str, maximise: bool) -> Figure:
    """Best objective per (steps_per_epoch, validation_split) cell, with failure counts."""
    frame = trials.dropna(subset=["steps_per_epoch", "validation_split"], how="any")
    if frame.empty:
        fig, axes = figure(6, 3)
        empty(axes[0, 0], "No trial recorded steps_per_epoch and validation_split.")
        return fig
    cols = levels(frame[STEPS_PER_EPOCH])
    rows = levels(frame[VALIDATION_SPLIT])
    grid = pd.DataFrame({"col": cols, "row": rows, "status": frame[STATUS].to_numpy(),
                         "score": pd.to_numeric(frame[objective], errors="coerce").to_numpy()})
    scored = grid[grid[STATUS].eq(Status.OK)].dropna(subset=["score"])
    best = scored.groupby(["row", "col"], observed=True)["score"]
    best = best.max() if maximise else best.min()
    row_labels = list(grid["row"].cat.categories)
    col_labels = list(grid["col"].cat.categories)
    values = best.unstack("col").reindex(index=row_labels, columns=col_labels)
    matrix = np.ma.masked_invalid(values.to_numpy(dtype=float))

    fig, axes = figure(max(6.0, 0.9 * len(col_labels) + 2.5), max(3.2, 0.55 * len(row_labels) + 2))
    ax = axes[0, 0]
    cmap = colormaps["viridis"] if maximise else colormaps["viridis_r"]
    image = ax.imshow(matrix, cmap=cmap, aspect="auto")
    if matrix.count():
        bar = fig.colorbar(image, ax=ax)
        bar.set_label(f"{objective} ({'higher' if maximise else 'lower'} is better)")
    norm = image.norm
    failed: dict[tuple[str, str], dict[str, int]] = {}
    not_ok = grid[~grid[STATUS].eq(Status.OK)].fillna({"status": "unknown"})
    counts_by_cell = not_ok.groupby(["row", "col", "status"], observed=True).size()
    for (row, col, status), n in counts_by_cell.items():
        failed.setdefault((row, col), {})[status] = int(n)
    for i, row in enumerate(row_labels):
        for j, col in enumerate(col_labels):
            counts = failed.get((row, col), {})
            score = values.iloc[i, j]
            if pd.isna(score) and not counts:
                continue
            note = ", ".join(f"{n} {status}" for status, n in counts.items())
            if pd.isna(score):
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="white",
                                       hatch=_hatch(counts), edgecolor="0.45", linewidth=0))
                ax.text(j, i, note.replace(", ", "\n"), ha="center", va="center", fontsize=7,
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
                continue
            shade = cmap(norm(score))
            ink = "black" if _luminance(shade) > 0.5 else "white"
            text = fmt(score) + (f"\n({note})" if note else "")
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=ink)
    ax.set_xticks(range(len(col_labels)), col_labels, rotation=30 if len(col_labels) > 6 else 0)
    ax.set_yticks(range(len(row_labels)), row_labels)
    ax.set_xlabel("steps_per_epoch")
    ax.set_ylabel("validation_split")
    ax.set_title(f"{objective} by steps_per_epoch and validation_split", fontsize=10)
    return fig


def _hatch(counts: dict[str, int]) -> str:
    """The hatch of the first status, in the enum's order, among a cell's failures: a cell
    with any out-of-memory trial reads as out of memory. A word no run writes reads as an
    error, as the SPEC has it for anything else."""
    present = [s for s in Status if s in counts] or [Status.ERROR]
    return next(s.hatch for s in present if s.hatch is not None)


def _luminance(rgba: tuple) -> float:
    red, green, blue = rgba[:3]
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue

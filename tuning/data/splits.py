"""The one seeded split of the rows: which rows are holdout, test, training and validation.

Every function returns row indices, never rows, so in-memory arrays, memory-mapped files and
tf.data pipelines are cut the same way. Classification is stratified: the holdout, the test
rows and each validation split keep the class proportions, and every class with at least two
rows appears on both sides of each cut (a rare class left out of the holdout is a class the
report silently cannot score). Where that forcing shifts a part's class mix materially (many
rare classes, a small part), `skewed_mix` says so. Regression keeps a plain seeded split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: A part whose class mix differs from the data's by this share of its rows (the total
#: variation distance: the share that would have to change class to match) is warned about.
MIX_TOLERANCE = 0.05
#: Classes at least this many times as common in a part as in the data are the ones named.
OVER_REPRESENTED = 1.5

@dataclass(frozen=True)
class Parts:
    """Row indices into the original rows, each part in the seeded shuffled order."""

    pool: np.ndarray       # training and validation rows
    holdout: np.ndarray    # ranks the trials; identical for every trial
    test: np.ndarray       # never used to rank or select: states the recommendation's score


def shuffled_parts(y: np.ndarray, *, holdout: float, test: float = 0.0, seed: int,
                   stratify: bool) -> Parts:
    """Shuffle the rows once with `seed`, then cut the holdout and the test rows.

    round(n * holdout) and round(n * test) rows, so the sizes do not depend on the task.
    """
    y = np.asarray(y)
    order = np.random.default_rng(seed).permutation(len(y))
    rest, held = cut(y[order], round(len(y) * holdout), stratify=stratify)
    pool, tested = cut(y[order][rest], round(len(y) * test), stratify=stratify)
    return Parts(pool=order[rest][pool], holdout=order[held], test=order[rest][tested])


def validation_rows(n_pool: int, validation_split: float) -> int:
    """Validation rows for a split: at least one, and at least one row left to train on."""
    return min(max(1, math.ceil(n_pool * validation_split)), n_pool - 1)


def validation_parts(y_pool: np.ndarray, validation_split: float, *,
                     stratify: bool) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices into the pool; the validation rows are taken from the end.

    The pool is already shuffled, so no second seed is needed, and for regression this is
    exactly the last rows.
    """
    n_val = validation_rows(len(y_pool), validation_split)
    return cut(np.asarray(y_pool), n_val, stratify=stratify, from_end=True)


def cut(y: np.ndarray, n_cut: int, *, stratify: bool,
        from_end: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(rest, cut) positions into `y`, each in the order of `y`, with len(cut) == n_cut.

    Unstratified: the first (or last) n_cut rows. Stratified: each class gives its first (or
    last) rows in proportion to its size, at least one and at most all but one when it has
    two rows or more and the cut is large enough.
    """
    n = len(y)
    n_cut = min(max(int(n_cut), 0), n)
    positions = np.arange(n)
    if not stratify:
        taken = positions[n - n_cut:] if from_end else positions[:n_cut]
    else:
        classes, codes = np.unique(y, return_inverse=True)
        quotas = _quotas(np.bincount(codes, minlength=len(classes)), n_cut)
        picks = []
        for code, quota in enumerate(quotas):
            members = positions[codes == code]
            picks.append(members[len(members) - quota:] if from_end else members[:quota])
        taken = np.sort(np.concatenate(picks)) if picks else positions[:0]
    mask = np.zeros(n, dtype=bool)
    mask[taken] = True
    return positions[~mask], positions[mask]


def _quotas(counts: np.ndarray, n_cut: int) -> np.ndarray:
    """Rows each class gives to a cut of n_cut: proportional, rounded by largest remainder,
    with every class of two rows or more on both sides whenever the sizes allow it."""
    n = int(counts.sum())
    target = counts * n_cut / n if n else counts * 0.0
    low = np.where(counts >= 2, 1, 0)
    high = np.where(counts >= 2, counts - 1, counts)
    if low.sum() > n_cut:      # too small a cut for every class: proportions alone
        low = np.zeros_like(counts)
    if high.sum() < n_cut:     # too large a cut to leave every class a row
        high = counts.copy()
    quotas = np.clip(np.floor(target).astype(int), low, high)
    while quotas.sum() < n_cut:
        room = np.where(quotas < high, target - quotas, -np.inf)
        quotas[int(np.argmax(room))] += 1
    while quotas.sum() > n_cut:
        surplus = np.where(quotas > low, quotas - target, -np.inf)
        quotas[int(np.argmax(surplus))] -= 1
    return quotas


def missing_classes(y: np.ndarray, parts: dict[str, np.ndarray], names=None) -> list[str]:
    """One warning per class absent from some of the named parts (indices into `y`).

    `names` maps the codes in `y` to the user's labels when `y` holds codes.
    """
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    warnings = []
    for label, count in zip(classes, counts):
        absent = [part for part, index in parts.items() if not np.any(y[index] == label)]
        if absent:
            name = names[int(label)] if names is not None else label
            warnings.append(
                f"class '{name}' has {count} row(s): too few to appear in every part, so it "
                f"is missing from the {', '.join(absent)} rows; its errors go unmeasured "
                "there (add rows of it, or merge it with another class)")
    return warnings


def skewed_mix(y: np.ndarray, parts: dict[str, np.ndarray], names=None) -> list[str]:
    """One warning per part whose class mix differs materially from the data's.

    Keeping a row of every class in every part lifts rare classes in a small part: 50
    classes of 2 rows among 1,000 are 10% of the data but 25% of a 200-row holdout, whose
    scores then estimate a population with far more of them. `names` maps the codes in `y`
    to the user's labels when `y` holds codes.
    """
    y = np.asarray(y)
    classes, codes = np.unique(y, return_inverse=True)
    everywhere = np.bincount(codes, minlength=len(classes)) / max(len(y), 1)
    warnings = []
    for part, index in parts.items():
        if not len(index):
            continue
        share = np.bincount(codes[index], minlength=len(classes)) / len(index)
        above = share > everywhere
        if float(np.sum(share[above] - everywhere[above])) < MIX_TOLERANCE:
            continue
        lifted = share >= OVER_REPRESENTED * everywhere
        lifted = lifted if lifted.any() else above
        labels = [str(names[int(c)]) if names is not None else str(c) for c in classes[lifted]]
        shown = ", ".join(f"'{label}'" for label in labels[:5]) + (
            f" and {len(labels) - 5} more" if len(labels) > 5 else "")
        warnings.append(
            f"the {part} rows' class mix differs from the data's: {len(labels)} class(es) "
            f"({shown}) make {share[lifted].sum():.1%} of them against "
            f"{everywhere[lifted].sum():.1%} of all rows, since every class with two rows or "
            f"more keeps a row in each part; scores on these rows count those classes "
            f"{share[lifted].sum() / everywhere[lifted].sum():.1f} times as much as the data "
            "does (add rows of them, merge them, or give the part more rows)")
    return warnings

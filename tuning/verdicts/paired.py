"""Paired tests on the rows every trial shares: can two trials be told apart?

Two trials scored on the same holdout rows are compared row by row. Two separate 95%
intervals that overlap still allow a difference of about 2.8 standard errors, and they ignore
that most rows are right (or wrong) for both trials; a paired test counts only the rows on
which the two disagree, and is much sharper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from tuning.verdicts.stats import NO_SEED_SPREAD, SeedSpread

#: Below this p a difference is called real.
ALPHA = 0.05
MCNEMAR = "McNemar's exact test"
PERMUTATION = "a paired sign-flip permutation test on per-row {what}"
SEEDED = ("a paired t test on per-row {what} with the seed-to-seed variance added (measured "
          "on {dof} degree(s) of freedom)")


@dataclass(frozen=True)
class Paired:
    """`other` against `best` on the same rows; difference = other minus best, per row."""

    difference: float
    p_value: float
    method: str
    n: int
    #: Standard error of `difference` and its degrees of freedom, for an equivalence bound.
    se: float = math.nan
    dof: float = math.nan

    @property
    def distinguishable(self) -> bool:
        return self.p_value < ALPHA

    def worst_case(self, maximise: bool) -> float:
        """How much worse than the pick `other` may be, at 95% confidence (one-sided): the
        bound of an equivalence test (TOST). NaN where the standard error is unknown."""
        from scipy.special import stdtrit

        worse = -self.difference if maximise else self.difference
        if not (math.isfinite(self.se) and self.dof > 0):
            return math.nan
        return worse + float(stdtrit(self.dof, 1 - ALPHA)) * self.se


def mcnemar_exact(best: np.ndarray, other: np.ndarray) -> tuple[float, int, int]:
    """Two-sided exact McNemar p for two 0/1 vectors; also the two discordant counts."""
    from scipy.special import bdtr  # the binomial CDF, without scipy.stats' slow import

    best, other = np.asarray(best, dtype=bool), np.asarray(other, dtype=bool)
    only_best = int(np.sum(best & ~other))
    only_other = int(np.sum(other & ~best))
    discordant = only_best + only_other
    if discordant == 0:
        return 1.0, 0, 0
    p = 2 * bdtr(min(only_best, only_other), discordant, 0.5)
    return float(min(1.0, p)), only_best, only_other


def sign_flip_p(differences: np.ndarray, n_resamples: int = 4000, seed: int = 0) -> float:
    """Two-sided p that the mean per-row difference is zero (signs flipped at random)."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) == 0 or not np.any(d):
        return 1.0
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    hits, done, chunk = 0, 0, max(1, 2_000_000 // len(d))
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        signs = rng.integers(0, 2, size=(size, len(d)), dtype=np.int8) * 2 - 1
        hits += int(np.sum(np.abs(signs @ d) / len(d) >= observed - 1e-12))
        done += size
    return (hits + 1) / (n_resamples + 1)


def compare(best: np.ndarray, other: np.ndarray, quantity: str,
            seeds: SeedSpread = NO_SEED_SPREAD) -> Paired:
    """Paired comparison of per-row values (executions x rows, or rows) of two trials.

    With a measured seed-to-seed variance (`seeds`, see `tuning.verdicts.stats.seed_spread`;
    measured even where it came out at or below zero): a paired t test on the per-row
    differences with the seeds' variance added, since the question is whether the
    configurations differ, not the two trained models: two seeds of one configuration differ
    on a large holdout too. Without it, the models are compared as they are: one run each of
    an accuracy with McNemar's exact test on the rows where exactly one is right, otherwise
    (repeats, losses, errors) a sign-flip permutation test on the per-row differences of the
    values averaged over the executions.
    """
    best, other = np.atleast_2d(best), np.atleast_2d(other)
    if best.shape[1] != other.shape[1]:
        raise ValueError("the two trials were scored on different rows")
    mean_best, mean_other = best.mean(axis=0), other.mean(axis=0)
    differences = mean_other - mean_best
    difference = float(np.mean(differences))
    what = {"accuracy": "correctness", "loss": "losses", "mae": "absolute errors",
            "mse": "squared errors"}.get(quantity, quantity)
    n = best.shape[1]
    if seeds.dof and n > 1:
        total, dof = seeds.added_to(float(differences.var(ddof=1)) / n, n - 1,
                                    1 / len(best) + 1 / len(other))
        p = (two_sided_t_p(difference / math.sqrt(total), dof) if total > 0
             else float(difference == 0))  # every row the same difference
        return Paired(difference, p, SEEDED.format(what=what, dof=seeds.dof), n,
                      math.sqrt(total), dof)
    se = float(differences.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    if quantity == "accuracy" and len(best) == 1 and len(other) == 1:
        p, _, _ = mcnemar_exact(best[0], other[0])
        return Paired(difference, p, MCNEMAR, n, se, n - 1)
    return Paired(difference, sign_flip_p(differences), PERMUTATION.format(what=what), n, se,
                  n - 1)


def two_sided_t_p(statistic: float, dof: float) -> float:
    from scipy.special import stdtr  # Student's t CDF, without scipy.stats' slow import

    return float(2 * stdtr(dof, -abs(statistic)))


def holm(paired: dict[str, Paired]) -> dict[str, Paired]:
    """Holm's step-down adjustment over a family of comparisons with the same pick: every
    trial is tested against it, so at 0.05 each, some trials would look different by chance.
    The adjusted p-values keep the chance of any false difference at 0.05."""
    order = sorted(paired, key=lambda k: paired[k].p_value)
    m = len(order)
    adjusted, running = {}, 0.0
    for i, key in enumerate(order):
        running = max(running, min(1.0, (m - i) * paired[key].p_value))
        adjusted[key] = running
    family = f", Holm-adjusted over {m} comparisons" if m > 1 else ""
    return {k: replace(p, p_value=adjusted[k], method=p.method + family)
            for k, p in paired.items()}

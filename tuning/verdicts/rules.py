"""The one place a folk rule is judged, so the report and the study give the same verdict.

A rule such as "raise steps_per_epoch and memory falls" is a trend claim. It held only when
the trend has the expected sign, is unlikely under chance (a permutation test, which respects
any n) and is larger than what the measurement itself can resolve; it did not hold only when
the data rule out every effect of the expected sign larger than that noise. Anything in
between is "cannot tell", with the reason and what would settle it. Pure numpy: no
TensorFlow, no pandas.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np

from tuning.verdicts.stats import t_quantile

HELD = "held"
DID_NOT_HOLD = "did not hold"
CANNOT_TELL = "cannot tell"
#: Significance level of the permutation test; the interval is its 1 - ALPHA counterpart.
ALPHA = 0.05
#: 95% range of the difference between two measurements of the same thing: 1.96·√2 SDs.
SPREAD_OF_A_DIFFERENCE = 1.96 * math.sqrt(2)
#: Up to this many observations, each is dropped in turn to see whether it alone decides a
#: verdict (in a larger set no single observation can).
LEAVE_ONE_OUT = 60


@dataclass(frozen=True)
class Verdict:
    verdict: str                            # HELD | DID_NOT_HOLD | CANNOT_TELL
    evidence: str                           # one sentence: effect, interval, n, test, p
    effect: float | None                    # change in y per doubling of x
    interval: tuple[float, float] | None    # 95% interval of the effect
    p_value: float | None
    n: int                                  # observations (or groups, when given) used


@dataclass(frozen=True)
class Judged:
    """A rule's verdict. When one observation alone decided it (dropping it changes it), the
    verdict is "cannot tell"; `decided_by` names it and `would_be` what all of them together
    would have said."""

    verdict: Verdict
    decided_by: str | None = None
    would_be: str | None = None


def pooled_sd(groups) -> tuple[float | None, int]:
    """The pooled standard deviation of repeated measurements of the same thing (`groups`:
    one sequence of values per thing measured) and its degrees of freedom; None where
    nothing was measured twice (unmeasured, not zero)."""
    squares, dof = 0.0, 0
    for values in groups:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if len(values) > 1:
            squares += float(np.sum((values - values.mean()) ** 2))
            dof += len(values) - 1
    return (math.sqrt(squares / dof), dof) if dof else (None, 0)


def rule_noise(sd: float, x) -> float:
    """The noise a rule is judged against, per doubling of `x`: the 95% range of the
    difference between two measurements of the same thing (1.96·√2 times their pooled
    standard deviation `sd`), spread over the searched range of `x`."""
    return noise_per_doubling(SPREAD_OF_A_DIFFERENCE * sd, x)


def judge_rule(x, y, *, expect: int, noise: float, groups, ids, what: str, unit: str = "",
               resolution: bool = False, kind: str = "trial") -> Judged:
    """The one judge of a folk rule, for the report and the study alike: `judge_trend`
    against `noise` (see `rule_noise`), `unresolved` where the noise is the measurement's
    resolution, and "cannot tell" where one observation (a `kind`, `ids` names each) alone
    decides.

    `resolution`: the noise is what the measurement can resolve, so an effect inside it is
    unresolved ("cannot tell"), not absent."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    groups = np.asarray(groups)
    grouped = groups if len(set(groups.tolist())) > 1 else None

    def judge(keep: np.ndarray, n_resamples: int) -> Verdict:
        verdict = judge_trend(x[keep], y[keep], expect=expect, noise=noise,
                              groups=None if grouped is None else grouped[keep], what=what,
                              unit=unit, n_resamples=n_resamples)
        return unresolved(verdict, noise, expect) if resolution else verdict

    everyone = np.ones(len(x), dtype=bool)
    verdict = judge(everyone, 2000)
    if verdict.verdict == CANNOT_TELL or len(x) > LEAVE_ONE_OUT:
        return Judged(verdict)
    ids = np.asarray(ids).astype(str)
    for i in range(len(x)):
        again = judge(np.arange(len(x)) != i, 400)
        if again.verdict != verdict.verdict:
            fragile = replace(verdict, verdict=CANNOT_TELL, evidence=verdict.evidence.rstrip(".")
                              + f"; that would read \"{verdict.verdict}\", but without "
                              f"{kind} {ids[i]} alone it reads \"{again.verdict}\": one "
                              f"{kind} cannot carry a verdict.")
            return Judged(fragile, ids[i], verdict.verdict)
    return Judged(verdict)


def judge_trend(x, y, *, expect: int, noise: float, groups=None, what: str, unit: str = "",
                min_n: int = 4, seed: int = 0, n_resamples: int = 2000) -> Verdict:
    """Does `y` move with `x` in the direction `expect` (+1 rises, -1 falls)?

    effect: least-squares slope of y on log2 x (per doubling); with `groups` (e.g. seeds, or
    cells equal in every other setting) the slope within groups, so group offsets are not read
    as a trend. interval: 95% t interval, over the groups' own slopes when two or more groups
    hold a comparison (see `_interval`).
    p: two-sided permutation test, permuting y within groups when given. noise: the smallest
    change per doubling the measurement can resolve, in the unit of y.
    """
    if expect not in (1, -1):
        raise ValueError(f"expect must be +1 or -1, not {expect!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be a number >= 0, not {noise!r}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    labels = np.zeros(len(x), dtype=int) if groups is None else _codes(groups)
    if not len(x) == len(y) == len(labels):
        raise ValueError("x, y and groups must have the same length")
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0)
    lx, y, labels = np.log2(x[keep]), y[keep], labels[keep]
    n_obs = len(y)
    n = n_obs if groups is None else len(np.unique(labels))
    counted = _counted(lx, labels, groups is not None)
    distinct = len(np.unique(lx))
    if n_obs < min_n or distinct < 2:
        return Verdict(CANNOT_TELL, (
            f"{what}: {counted} with {distinct} distinct value(s), too few to test a trend "
            f"(at least {min_n} observations at 2 or more values are needed)."),
            None, None, None, n)
    effect = _slope(lx, y, labels)
    if effect is None:
        return Verdict(CANNOT_TELL, (
            f"{what}: no group holds two different values of the setting ({counted}), so "
            "no comparison with everything else equal is possible; run each group at two or "
            "more values."), None, None, None, n)
    rng = np.random.default_rng(seed)
    interval = _interval(lx, y, labels, effect)
    p = _permutation_p(lx, y, labels, effect, rng, n_resamples)
    stated = (f"{what}: {effect:+.3g}{unit} per doubling (95% interval "
              f"{interval[0]:+.3g} to {interval[1]:+.3g}{unit}), {counted}, permutation test "
              f"p = {p:.3g}, measurement noise {noise:.3g}{unit} per doubling")
    if p < ALPHA and effect * expect > 0 and abs(effect) > noise and _excludes_zero(interval,
                                                                                  expect):
        return Verdict(HELD, stated + ".", effect, interval, p, n)
    if _beyond(interval, expect, noise):
        return Verdict(DID_NOT_HOLD, stated + f"; the interval excludes any effect "
                       f"{'above' if expect > 0 else 'below'} {expect * noise:+.3g}{unit}.",
                       effect, interval, p, n)
    floor = permutation_floor(2 ** lx, labels, y) if p >= ALPHA else 0.0
    why = (_never_significant(floor) if floor >= ALPHA
           else _why_not(effect, interval, p, expect, noise, unit))
    return Verdict(CANNOT_TELL, stated + "; " + why + ".", effect, interval, p, n)


def unresolved(verdict: Verdict, noise: float, expect: int) -> Verdict:
    """For a measurement whose noise is its resolution (not a size that would matter), "did
    not hold" needs an effect the measurement does resolve: an interval wholly on the wrong
    side of zero. An interval that still reaches zero says only that any effect of the
    expected sign is too small to resolve, however far it reaches on the other side: "cannot
    tell". (Judged on the interval's side of zero, a wider interval never reads stronger.)"""
    if verdict.verdict != DID_NOT_HOLD or verdict.interval is None:
        return verdict
    low, high = verdict.interval
    if max(expect * low, expect * high) < 0:
        return verdict
    evidence = verdict.evidence.rsplit(";", 1)[0] + (
        f"; the interval reaches zero, and every effect of the expected sign it allows is "
        f"within the measurement's own noise ({noise:.3g} per doubling), so the run can tell "
        "neither a trend nor its absence; a measurement with less noise (a GPU's allocator, "
        "or repeated probes) would settle it.")
    return Verdict(CANNOT_TELL, evidence, verdict.effect, verdict.interval, verdict.p_value,
                   verdict.n)


def permutation_floor(x, groups=None, y=None, limit: int = 50_000) -> float:
    """The smallest two-sided p the permutation test can give on this design.

    Permuting within groups has only so many arrangements: 4 points give 24, so no trend
    over them, however perfect, reaches p < 0.05. 0 where the arrangements are too many to
    count (above `limit`, the floor is then below 1 / limit). `y` defaults to distinct
    values (the design's best case).
    """
    lx = np.log2(np.asarray(x, dtype=float))
    labels = np.zeros(len(lx), dtype=int) if groups is None else _codes(groups)
    y = np.arange(len(lx), dtype=float) if y is None else np.asarray(y, dtype=float)
    cx = _centred(lx, labels)
    sums = np.zeros(1)
    for g in np.unique(labels):
        index = np.flatnonzero(labels == g)
        if sums.size * math.factorial(len(index)) > limit:
            return 0.0
        contributions = np.array([cx[index] @ np.array(order)
                                  for order in itertools.permutations(y[index])])
        sums = (sums[:, None] + contributions[None, :]).ravel()
    extreme = np.abs(sums)
    return float(np.mean(extreme >= extreme.max() * (1 - 1e-9)))


def noise_per_doubling(spread: float, x) -> float:
    """A measurement noise `spread` (in the unit of y) as a change per doubling of `x`.

    A trend whose whole change across the searched range of x is smaller than the noise of
    one measurement cannot be told from that noise: spread / (log2 max x - log2 min x).
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    if len(x) == 0 or x.max() == x.min():
        return float("inf")
    return float(spread) / float(np.log2(x.max()) - np.log2(x.min()))


def _codes(groups) -> np.ndarray:
    _, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    return codes


def _counted(lx: np.ndarray, labels: np.ndarray, grouped: bool) -> str:
    """The sample in words; a group at one setting only adds nothing to a within-group
    slope, so how many groups compare settings is said where some do not."""
    if not grouped:
        return f"n = {len(lx)}"
    names = np.unique(labels)
    comparing = sum(len(np.unique(lx[labels == g])) > 1 for g in names)
    text = f"n = {len(lx)} observations in {len(names)} groups"
    if comparing < len(names):
        text += f" ({comparing} of them at two or more settings, the ones that compare)"
    return text


def _slope(lx: np.ndarray, y: np.ndarray, labels: np.ndarray) -> float | None:
    """Slope of y on lx within groups (one group: the ordinary least-squares slope)."""
    cx, cy = _centred(lx, labels), _centred(y, labels)
    denominator = float(cx @ cx)
    if denominator <= 1e-12:
        return None
    return float(cx @ cy) / denominator


def _centred(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    sums = np.bincount(labels, weights=values)
    counts = np.bincount(labels)
    return values - (sums / np.maximum(counts, 1))[labels]


def _interval(lx: np.ndarray, y: np.ndarray, labels: np.ndarray,
              effect: float) -> tuple[float, float]:
    """95% t interval around the within-group slope `effect`.

    With two or more groups that each hold two or more values of the setting, the groups are
    the replicates: the spread of their own slopes, weighted as the pooled slope weighs them,
    with g - 1 degrees of freedom (a cluster-robust interval; with equal weights it is the
    plain t interval on the group slopes). A bootstrap over whole groups would cover only
    71% with 3 groups: it never reaches beyond the range of the groups' slopes. Otherwise the
    ordinary least-squares interval from the residuals, with n - 2 degrees of freedom.
    """
    cx = _centred(lx, labels)
    sxx = np.bincount(labels, weights=cx * cx)
    usable = np.flatnonzero(sxx > 1e-12)
    if len(usable) >= 2:
        sxy = np.bincount(labels, weights=cx * _centred(y, labels))
        slopes = sxy[usable] / sxx[usable]
        weights = sxx[usable] / sxx[usable].sum()
        g = len(usable)
        se = float(np.sqrt(g / (g - 1) * np.sum(weights ** 2 * (slopes - effect) ** 2)))
        dof = g - 1
    else:
        rows = np.isin(labels, usable)
        residual = _centred(y, labels)[rows] - effect * cx[rows]
        dof = int(rows.sum()) - 2
        if dof < 1:
            return float("nan"), float("nan")
        se = float(np.sqrt(residual @ residual / dof / sxx[usable].sum()))
    half = t_quantile(dof) * se
    return effect - half, effect + half


def _permutation_p(lx, y, labels, effect, rng, n_resamples) -> float:
    """Two-sided p: how often y shuffled within groups gives a slope at least as steep."""
    cx = _centred(lx, labels)
    denominator = float(cx @ cx)
    members = [np.flatnonzero(labels == g) for g in np.unique(labels)]
    hits = 0
    shuffled = y.copy()
    for _ in range(n_resamples):
        for index in members:
            shuffled[index] = y[rng.permutation(index)]
        slope = float(cx @ _centred(shuffled, labels)) / denominator
        hits += abs(slope) >= abs(effect) - 1e-12
    return (hits + 1) / (n_resamples + 1)


def _beyond(interval: tuple[float, float], expect: int, noise: float) -> bool:
    low, high = interval
    if not (np.isfinite(low) and np.isfinite(high)):
        return False
    return high < noise if expect > 0 else low > -noise


def _excludes_zero(interval: tuple[float, float], expect: int) -> bool:
    """The whole interval on the expected side of zero: the test and the interval agree."""
    return expect * interval[0] > 0 and expect * interval[1] > 0


def _never_significant(floor: float) -> str:
    return (f"this design can never reach p < {ALPHA}: shuffling its values gives so few "
            f"arrangements that the smallest possible p is {floor:.3g}; more values of the "
            "setting, or more groups (seeds), would settle it")


def _why_not(effect, interval, p, expect, noise, unit) -> str:
    if effect * expect > 0 and abs(effect) <= noise:
        return ("the effect has the expected sign but is within the measurement noise; a "
                "wider range of the setting or a less noisy measurement would settle it")
    if p >= ALPHA:
        return ("the data are compatible both with no trend and with a trend of the expected "
                "sign larger than the noise; more trials (or repeats) would settle it")
    if effect * expect > 0:
        return ("the permutation test finds a trend of the expected sign, but its interval "
                "still reaches zero; more trials (or repeats) would settle it")
    return ("the trend runs against the expected sign but the interval still allows an "
            f"effect beyond {expect * noise:+.3g}{unit}; more trials would settle it")

"""The one place a folk rule is judged, so the report and the study give the same verdict.

A rule such as "raise steps_per_epoch and memory falls" is a trend claim. It held only when
the trend has the expected sign, is unlikely under chance (a permutation test, which respects
any n) and is larger than what the measurement itself can resolve; it did not hold only when
the data rule out every effect of the expected sign larger than that noise. Anything in
between is "cannot tell", with the reason and what would settle it. Pure numpy: no
TensorFlow, no pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HELD = "held"
DID_NOT_HOLD = "did not hold"
CANNOT_TELL = "cannot tell"
#: Significance level of the permutation test; the interval is its 1 - ALPHA counterpart.
ALPHA = 0.05


@dataclass(frozen=True)
class Verdict:
    verdict: str                            # HELD | DID_NOT_HOLD | CANNOT_TELL
    evidence: str                           # one sentence: effect, interval, n, test, p
    effect: float | None                    # change in y per doubling of x
    interval: tuple[float, float] | None    # 95% interval of the effect
    p_value: float | None
    n: int                                  # observations (or groups, when given) used


def judge_trend(x, y, *, expect: int, noise: float, groups=None, what: str, unit: str = "",
                min_n: int = 4, seed: int = 0, n_resamples: int = 2000) -> Verdict:
    """Does `y` move with `x` in the direction `expect` (+1 rises, -1 falls)?

    effect: least-squares slope of y on log2 x (per doubling); with `groups` (e.g. seeds, or
    cells equal in every other setting) the slope within groups, so group offsets are not read
    as a trend. interval: bootstrap 95% interval, resampling whole groups when given.
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
    counted = _counted(n_obs, n, groups is not None)
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
    interval = _bootstrap(lx, y, labels, rng, n_resamples)
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
    return Verdict(CANNOT_TELL, stated + "; " + _why_not(effect, interval, p, expect, noise,
                                                        unit) + ".", effect, interval, p, n)


def unresolved(verdict: Verdict, noise: float) -> Verdict:
    """For a measurement whose noise is its resolution (not a size that would matter), an
    interval that stays within ±noise shows an effect too small to resolve, not an absent
    one: "cannot tell" instead of "did not hold". An interval beyond the noise on the wrong
    side still did not hold."""
    if verdict.verdict != DID_NOT_HOLD or verdict.interval is None:
        return verdict
    low, high = verdict.interval
    if low < -noise or high > noise:
        return verdict
    evidence = verdict.evidence.rsplit(";", 1)[0] + (
        "; the whole interval lies within the measurement's own noise, so any change is too "
        "small for this measurement to resolve; a measurement with less noise (a GPU's "
        "allocator, or repeated probes) would settle it.")
    return Verdict(CANNOT_TELL, evidence, verdict.effect, verdict.interval, verdict.p_value,
                   verdict.n)


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


def _counted(n_obs: int, n_groups: int, grouped: bool) -> str:
    return f"n = {n_obs} observations in {n_groups} groups" if grouped else f"n = {n_obs}"


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


def _bootstrap(lx, y, labels, rng, n_resamples) -> tuple[float, float]:
    """Percentile interval of the slope, resampling observations (or whole groups)."""
    unique = np.unique(labels)
    grouped = len(unique) > 1
    members = [np.flatnonzero(labels == g) for g in unique]
    slopes = []
    for _ in range(n_resamples):
        if grouped:
            picked = rng.choice(len(unique), size=len(unique))
            index = np.concatenate([members[g] for g in picked])
            relabel = np.concatenate([np.full(len(members[g]), i) for i, g in enumerate(picked)])
        else:
            index = rng.integers(0, len(y), size=len(y))
            relabel = np.zeros(len(y), dtype=int)
        slope = _slope(lx[index], y[index], relabel)
        if slope is not None:
            slopes.append(slope)
    if not slopes:
        return float("nan"), float("nan")
    low, high = np.quantile(slopes, [ALPHA / 2, 1 - ALPHA / 2])
    return float(low), float(high)


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

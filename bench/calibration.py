"""Calibration: do the tool's intervals and verdicts mean what they say? Pure numpy, no training.

Each case draws data where the truth is known, runs the tool's own statistics on it many
times and counts: how often a "95%" interval covers the truth, how often a rule reads "held"
when there is no effect, or "did not hold" when the claimed effect is real, how biased the
stated score is, and how often two seeds of one configuration are told apart.

Goals: every 95% interval covers 93 to 97% of the time; a false "held" at most 5%; the
stated score's bias below a tenth of its own standard error.
"""

from __future__ import annotations

import time

import numpy as np

from bench.common import write_csv
from tuning.verdicts.paired import compare
from tuning.verdicts.pick import interval, split_fresh
from tuning.verdicts.rules import DID_NOT_HOLD, HELD, judge_trend
from tuning.verdicts.stats import seed_spread

LEVELS = np.array([2, 4, 8, 16, 32])


def _grouped_trend(rng: np.random.Generator, groups: int, slope: float, group_sd: float,
                   noise_sd: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`groups` seeds, each measured at every level, each with its own slope around `slope`."""
    x = np.tile(LEVELS, groups)
    labels = np.repeat(np.arange(groups), len(LEVELS))
    own = slope + rng.normal(0, group_sd, groups)
    y = rng.normal(0, 1, groups)[labels] + own[labels] * np.log2(x) + rng.normal(
        0, noise_sd, len(x))
    return x, y, labels


def rule_cases(sims: int, seed: int = 0) -> list[dict]:
    """Coverage of the rule interval, false "held" and false "did not hold", by group count."""
    rows = []
    for groups in (3, 5, 10):
        rng = np.random.default_rng(seed + groups)
        covered = held_null = refuted_real = 0
        for _ in range(sims):
            x, y, labels = _grouped_trend(rng, groups, -1.0, 0.5, 0.5)
            verdict = judge_trend(x, y, expect=-1, noise=0.0, groups=labels, what="m",
                                  n_resamples=199, seed=int(rng.integers(1 << 30)))
            covered += verdict.interval[0] <= -1.0 <= verdict.interval[1]
            x, y, labels = _grouped_trend(rng, groups, 0.0, 0.5, 0.5)
            held_null += judge_trend(x, y, expect=-1, noise=0.0, groups=labels, what="m",
                                     n_resamples=199,
                                     seed=int(rng.integers(1 << 30))).verdict == HELD
            # The claimed fall is real and twice the noise the rule is told about.
            x, y, labels = _grouped_trend(rng, groups, -1.0, 0.5, 0.5)
            refuted_real += judge_trend(x, y, expect=-1, noise=0.5, groups=labels, what="m",
                                        n_resamples=199,
                                        seed=int(rng.integers(1 << 30))).verdict == DID_NOT_HOLD
        rows.append({"case": "rule", "groups": groups, "sims": sims,
                     "interval_coverage": covered / sims, "false_held": held_null / sims,
                     "false_did_not_hold": refuted_real / sims})
    return rows


def stated_score_cases(sims: int, seed: int = 0, configs: int = 3, seed_sd: float = 0.01,
                       holdout: int = 360, test: int = 360) -> list[dict]:
    """Bias and coverage of the stated score: `configs` equally good configurations, each
    with its own run and k fresh runs; the tool chooses and states as `tuning.verdicts.pick`
    does, and, for comparison, as it did when the same runs chose and stated."""
    rows = []
    truth = _true_accuracy(seed_sd)
    for fresh in (2, 5):
        rng = np.random.default_rng(seed + fresh)
        errors = {"split": [], "same runs": []}
        covered = {"split": 0, "same runs": 0}
        for _ in range(sims):
            hard_h = rng.beta(9, 1, holdout)
            hard_t = rng.beta(9, 1, test)
            runs = []  # per configuration: (holdout rows, test rows) of own + fresh runs
            for _ in range(configs):
                seeds = [rng.normal(0, seed_sd) for _ in range(fresh + 1)]
                runs.append([(_shifted(rng, s, hard_h), _shifted(rng, s, hard_t))
                             for s in seeds])
            for way in ("split", "same runs"):
                if way == "split":
                    chose = [split_fresh(list(range(1, fresh + 1))) for _ in runs]
                    choose_on = [[0, *c[0]] for c in chose]
                    state_on = [c[1] for c in chose]
                else:
                    choose_on = [list(range(fresh + 1)) for _ in runs]
                    state_on = [list(range(1, fresh + 1)) for _ in runs]
                means = [np.mean([config[i][0].mean() for i in on])
                         for config, on in zip(runs, choose_on)]
                best = int(np.argmax(means))
                values = np.vstack([runs[best][i][1] for i in state_on[best]])
                seeds = seed_spread(
                    # As `pick._seed_spread`: each configuration's choosing and stating runs
                    # as two groups ("same runs": the earlier tool, all its fresh runs).
                    [np.vstack([config[i][1] for i in on]) for config, chose, stated
                     in zip(runs, choose_on, state_on) for on in (chose, stated)]
                    if way == "split" else [np.vstack([t for _, t in config[1:]])
                                            for config in runs])
                score, low, high = interval(values, "accuracy", seeds)
                errors[way].append(score - truth)
                covered[way] += low <= truth <= high
        for way in errors:
            e = np.array(errors[way])
            se = float(e.std(ddof=1))
            rows.append({"case": "stated score", "fresh_runs": fresh, "choice": way,
                         "sims": sims, "bias": float(e.mean()),
                         "bias_over_se": float(e.mean()) / se if se else float("nan"),
                         "interval_coverage": covered[way] / sims})
    return rows


def _shifted(rng, shift: float, difficulty: np.ndarray) -> np.ndarray:
    """One run's per-row correctness: each row has its own chance (its difficulty, drawn
    from the population of rows), which the run's seed shifts a little."""
    chance = np.clip(difficulty + shift, 0, 1)
    return (rng.random(len(difficulty)) < chance).astype(float)


def _true_accuracy(seed_sd: float, draws: int = 2_000_000) -> float:
    """A configuration's expected accuracy over rows and seeds: the many-draw mean."""
    rng = np.random.default_rng(12345)
    return float(np.clip(rng.beta(9, 1, draws) + rng.normal(0, seed_sd, draws), 0, 1).mean())


def tie_cases(sims: int, seed: int = 0, configs: int = 3, seed_sd: float = 0.01) -> list[dict]:
    """How often two seeds of ONE configuration are told apart (equal in truth: every
    'different' is a false alarm): as fixed models (McNemar's test), and as the tool tests
    them once re-runs have measured the seed spread (`configs` other configurations, each
    with its own run and one fresh run on the same holdout rows)."""
    rows = []
    for holdout in (360, 2000):
        rng = np.random.default_rng(seed + holdout)
        apart = {"fixed models": 0, "with the seed spread": 0}
        for _ in range(sims):
            hard = rng.beta(9, 1, holdout)
            stacks = [np.vstack([_shifted(rng, rng.normal(0, seed_sd), hard) for _ in range(2)])
                      for _ in range(configs + 1)]
            a, b = stacks[0]
            apart["fixed models"] += compare(a, b, "accuracy").distinguishable
            apart["with the seed spread"] += compare(a, b, "accuracy",
                                                     seed_spread(stacks[1:])).distinguishable
        for way, count in apart.items():
            rows.append({"case": "two seeds, one configuration", "holdout_rows": holdout,
                         "test": way, "sims": sims, "told_apart": count / sims})
    return rows


def run(sims: int = 2000) -> list[dict]:
    started = time.perf_counter()
    rows = rule_cases(sims // 4) + stated_score_cases(sims) + tie_cases(sims)
    write_csv("calibration", rows)
    print("\ncalibration (goals: coverage 0.93 to 0.97, false held <= 0.05, |bias| < 0.1 SE)")
    for row in rows:
        print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in row.items()))
    print(f"calibration: {time.perf_counter() - started:.0f} s")
    return rows

"""The recommendation's verdicts on hand-made run directories: paired ties, the honest score,
the cheaper runner-up, equal budgets, the folk rules and the warnings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report_data import run_spec

from tuning.records import predictions
from tuning.records.confirmations import record_name
from tuning.records.trials import atomic_write
from tuning.report import build_report
from tuning.verdicts.paired import compare, mcnemar_exact, sign_flip_p
from tuning.verdicts.ranking import load_run
from tuning.verdicts.rules import CANNOT_TELL, DID_NOT_HOLD, HELD
from tuning.verdicts.summary import verdicts

N_HOLDOUT = 359
N_TEST = 300


def _correct(n: int, errors: int, order: np.ndarray) -> np.ndarray:
    """Right on every row but the first `errors` of a shared order: errors are nested, as
    those of similar models mostly are."""
    right = np.ones(n, dtype=bool)
    right[order[:errors]] = False
    return right


def write_run(root: Path, trials: list[dict], *, search: dict | None = None, confirm=None,
              curves=None, test: bool = True, seed: int = 0,
              n_holdout: int = N_HOLDOUT) -> Path:
    """A run directory whose predictions say what each trial got right.

    Each trial dict holds its table row plus `errors` (holdout errors) and optionally
    `test_errors`; `confirm` maps a trial id to a list of (holdout errors, test errors, peak)
    and optionally the re-run's curves.
    """
    rng = np.random.default_rng(seed)
    run_dir = root / "run"
    (run_dir / "records").mkdir(parents=True)
    steps = sorted({t["steps_per_epoch"] for t in trials})
    splits = sorted({t.get("validation_split", 0.1) for t in trials})
    (run_dir / "spec.toml").write_text(run_spec("hand", steps=steps, splits=splits,
                                                search=search))
    (run_dir / "run.json").write_text(json.dumps({"n_holdout": n_holdout, "n_pool": 1000,
                                                  "state": "finished"}))
    y_hold = rng.integers(0, 10, n_holdout)
    y_test = rng.integers(0, 10, N_TEST)
    predictions.save_labels(run_dir, y_hold, y_test if test else None)
    hold_order, test_order = rng.permutation(n_holdout), rng.permutation(N_TEST)

    def arrays(errors: int, test_errors: int) -> dict:
        hold = np.where(_correct(n_holdout, errors, hold_order), y_hold, (y_hold + 1) % 10)
        out = {"holdout_pred": hold[None, :].astype(np.int16)}
        if test:
            tst = np.where(_correct(N_TEST, test_errors, test_order), y_test, (y_test + 1) % 10)
            out["test_pred"] = tst[None, :].astype(np.int16)
        return out

    rows = []
    for trial in trials:
        row = {"status": "ok", "validation_split": 0.1, "epochs_run": 4, "best_epoch": 3,
               "updates": 4 * trial["steps_per_epoch"], "wall_s": 1.0 + trial["steps_per_epoch"],
               "peak_memory_mb": 50.0, "batch_size": 1000 // trial["steps_per_epoch"],
               "effective_steps_per_epoch": trial["steps_per_epoch"], "executions": 1,
               "message": "", **{k: v for k, v in trial.items()
                                 if k not in ("errors", "test_errors")}}
        if row["status"] == "ok":
            row["holdout_accuracy"] = 1 - trial["errors"] / n_holdout
            predictions.save(run_dir, f"trial_{row['trial_id']}",
                             arrays(trial["errors"], trial.get("test_errors", trial["errors"])))
        rows.append(row)
    pd.DataFrame(rows).to_csv(run_dir / "trials.csv", index=False)
    pd.DataFrame(curves or [], columns=["trial_id", "execution", "epoch", "updates",
                                        "samples_seen", "loss", "val_loss",
                                        "train_loss_end"]).to_csv(
        run_dir / "curves.csv", index=False)
    for trial_id, runs in (confirm or {}).items():
        for j, (errors, test_errors, peak, *its_curves) in enumerate(runs):
            name = record_name(trial_id, j)
            row = {"trial_id": name, "status": "ok", "peak_memory_mb": peak,
                   "holdout_accuracy": 1 - errors / n_holdout}
            atomic_write(run_dir / "records" / f"{name}.json",
                         json.dumps({"row": row, "curves": its_curves[0] if its_curves else []}))
            predictions.save(run_dir, name, arrays(errors, test_errors))
    return run_dir


def _trial(tid: str, steps: int, errors: int, **extra) -> dict:
    return {"trial_id": tid, "steps_per_epoch": steps, "errors": errors, **extra}


def test_mcnemar_exact_and_sign_flip_on_known_numbers():
    best = np.ones(100, dtype=bool)
    other = best.copy()
    other[:10] = False  # ten rows only the best gets right
    p, only_best, only_other = mcnemar_exact(best, other)
    assert (only_best, only_other) == (10, 0)
    assert p == pytest.approx(2 * 0.5**10)
    assert mcnemar_exact(best, best)[0] == 1.0
    assert sign_flip_p(np.zeros(20)) == 1.0
    assert sign_flip_p(np.full(20, 0.5), n_resamples=999) == pytest.approx(0.002, abs=0.001)
    paired = compare(np.array([[1.0, 2.0, 3.0] * 20]), np.array([[1.5, 2.5, 3.5] * 20]), "mae")
    assert paired.difference == pytest.approx(0.5) and paired.distinguishable
    assert "absolute errors" in paired.method


def test_a_trial_with_twice_the_errors_is_no_tie_though_the_intervals_overlap(tmp_path):
    # The best: 9 errors (0.9749); trial 12: 21 errors (0.9415), the same rows and 12 more.
    run_dir = write_run(tmp_path, [_trial("21", 128, 9), _trial("12", 16, 21),
                                   _trial("05", 4, 10), _trial("03", 2, 40)])
    run = load_run(run_dir)
    by_id = run.trials.set_index("trial_id")
    assert by_id.loc["12", "low"] < by_id.loc["21", "high"]  # Wilson intervals overlap
    choice = run.choice
    assert choice.trial_id == "21"
    assert choice.tied == ("05",)
    assert choice.paired["12"].p_value < 0.001 and choice.paired["12"].method.startswith(
        "McNemar")
    assert bool(by_id.loc["05", "tied"]) and not bool(by_id.loc["12", "tied"])


def test_the_stated_score_comes_from_fresh_runs_on_the_test_rows(tmp_path):
    # Trial 21 won on a lucky holdout (9 errors); its fresh runs make 15 and 17 test errors.
    # The first fresh run joins the choice, so only the second states the score.
    run_dir = write_run(tmp_path, [_trial("21", 128, 9, test_errors=14), _trial("12", 16, 30)],
                        confirm={"21": [(12, 15, 50.0), (13, 17, 51.0)]})
    stated = load_run(run_dir).choice.statement
    assert stated.score == pytest.approx(1 - 17 / N_TEST)
    assert stated.low < stated.score < stated.high
    assert stated.honest and stated.runs == 1 and stated.rows == N_TEST
    assert "1 fresh training run(s)" in stated.measured_on
    assert "none of them used to choose it" in stated.measured_on
    assert "test rows, which no trial was ranked or selected on" in stated.measured_on
    assert "seed-to-seed spread" in stated.measured_on


def test_without_test_rows_or_fresh_runs_the_score_says_what_it_carries(tmp_path):
    run_dir = write_run(tmp_path, [_trial("21", 128, 9), _trial("12", 16, 30)], test=False)
    stated = load_run(run_dir).choice.statement
    assert not stated.honest
    assert stated.score == pytest.approx(1 - 9 / N_HOLDOUT)
    assert "carries the selection's luck" in stated.measured_on


def test_a_score_before_its_fresh_runs_says_they_are_still_to_come(tmp_path):
    # The live report of a search whose re-runs (search.confirm_runs = 2) have not run yet.
    run_dir = write_run(tmp_path, [_trial("21", 128, 9), _trial("12", 16, 30)])
    stated = load_run(run_dir).choice.statement
    assert "no fresh runs: they have not finished yet" in stated.measured_on
    assert "confirm_runs = 0" not in stated.measured_on


def test_fresh_runs_can_move_the_pick_to_a_tied_configuration(tmp_path):
    run_dir = write_run(tmp_path, [_trial("21", 128, 9), _trial("18", 64, 10)],
                        confirm={"21": [(16, 16, 50.0), (17, 17, 50.0)],
                                 "18": [(10, 10, 50.0), (11, 11, 50.0)]})
    choice = load_run(run_dir).choice
    assert choice.trial_id == "18"
    assert "trial 21 ranked first on its own run" in choice.reason
    # Each chosen on its own run and its first fresh run; the second is kept for the score.
    assert dict((c[0], c[2]) for c in choice.candidates) == {"21": 2, "18": 2}


def test_two_seeds_of_one_configuration_tie_once_the_seed_spread_is_measured(tmp_path):
    """Trial 18 is trial 21's configuration under another seed that happened to get 25 rows
    fewer right on a large holdout: McNemar's test on the two fixed models tells them apart;
    with the seed-to-seed spread the re-runs measured, they tie."""
    trials = [_trial("21", 64, 100), _trial("18", 64, 125)]
    alone = load_run(write_run(tmp_path / "alone", trials, n_holdout=2000)).choice
    rerun = load_run(write_run(tmp_path / "rerun", trials, n_holdout=2000, confirm={
        "21": [(110, 20, 50.0), (95, 20, 50.0)], "18": [(105, 20, 50.0), (128, 20, 50.0)]})).choice
    assert alone.paired["18"].distinguishable and alone.tied == ()
    assert "seed-to-seed variance" in rerun.paired["18"].method
    assert rerun.trial_id == "21" and rerun.tied == ("18",)


def test_a_measured_seed_spread_below_zero_still_counts_the_seeds():
    """Re-runs that measured a small (net negative) seed spread measured it: the two models
    are still compared as configurations, not as fixed models by McNemar's test."""
    from tuning.verdicts.stats import SeedSpread
    best = np.ones(2000)
    other = best.copy()
    other[:25] = 0
    small = SeedSpread(variance=-1e-6, dof=3, mean_square=4e-5)
    paired = compare(best[None, :], other[None, :], "accuracy", small)
    assert "seed-to-seed variance" in paired.method and paired.dof < 2000
    assert not paired.method.startswith("McNemar")


def test_a_seed_spread_of_identical_runs_adds_no_uncertainty():
    from tuning.verdicts.stats import SeedSpread
    # The rows' part known exactly (a Wilson interval's), the runs' scores all equal.
    total, dof = SeedSpread(variance=-1e-6, dof=3, mean_square=0.0).added_to(1e-4, math.inf,
                                                                             1.0)
    assert total == pytest.approx(1e-4 - 1e-6) and dof == math.inf


def test_the_runs_beside_the_stated_ones_never_widen_the_stated_interval(tmp_path):
    """Trial 21's own run and the fresh run that chose it score alike on the test rows, close
    to its stated run in one directory and far from it in the other: the stated interval is
    the same. The seeds' spread is measured within the runs that chose and within those that
    state, never across them: a stated run far from the run beside it would otherwise widen
    its own interval, which would then cover more often than 95%."""
    stated = []
    for chooser_test_errors in (16, 60):
        run_dir = write_run(tmp_path / str(chooser_test_errors),
                            [_trial("21", 128, 9, test_errors=chooser_test_errors - 1),
                             _trial("18", 64, 12)],
                            confirm={"21": [(9, chooser_test_errors, 50.0), (10, 17, 50.0)],
                                     "18": [(12, 14, 50.0), (13, 19, 50.0)]})
        stated.append(load_run(run_dir).choice.statement)
    assert stated[0].score == stated[1].score == pytest.approx(1 - 17 / N_TEST)
    assert "seed-to-seed spread" in stated[0].measured_on
    assert (stated[0].low, stated[0].high) == pytest.approx((stated[1].low, stated[1].high))


def test_holm_keeps_the_family_of_comparisons_at_its_level():
    from tuning.verdicts.paired import Paired, holm
    raw = {k: Paired(0.01, p, "m", 100) for k, p in
           {"a": 0.01, "b": 0.02, "c": 0.04, "d": 0.5}.items()}
    adjusted = holm(raw)
    assert [round(adjusted[k].p_value, 3) for k in "abcd"] == [0.04, 0.06, 0.08, 0.5]
    assert [adjusted[k].distinguishable for k in "abcd"] == [True, False, False, False]
    assert adjusted["a"].method.endswith("Holm-adjusted over 4 comparisons")
    assert holm({"a": raw["a"]})["a"] == raw["a"]


def test_the_runs_that_state_the_score_never_choose_the_pick(tmp_path):
    """Trial 18's second fresh run is its best, but it only states: 21 stays the pick."""
    run_dir = write_run(tmp_path, [_trial("21", 128, 9), _trial("18", 64, 10)],
                        confirm={"21": [(9, 9, 50.0), (30, 30, 50.0)],
                                 "18": [(10, 10, 50.0), (0, 0, 50.0)]})
    choice = load_run(run_dir).choice
    assert choice.trial_id == "21" and choice.reason == ""
    assert choice.statement.score == pytest.approx(1 - 30 / N_TEST)


def test_a_cheaper_runner_up_needs_a_tie_and_an_equivalence_bound_within_the_margin(tmp_path):
    trials = [_trial("00", 128, 9), _trial("01", 2, 10), _trial("02", 4, 11)]
    # 01 gives up 1/359 = 0.0028 and is fastest, but on 359 rows the one-sided 95% bound of
    # what it gives up is 0.0074: not shown to be within the default margin of 0.005.
    default = load_run(write_run(tmp_path / "default", trials))
    assert default.choice.margin == 0.005 and default.choice.runner_up is None
    wide = load_run(write_run(tmp_path / "a", trials, search={"margin": 0.01}))
    runner = wide.choice.runner_up
    assert runner.trial_id == "01" and 1 / 359 < runner.worst_case <= 0.01
    strict = load_run(write_run(tmp_path / "b", trials, search={"margin": 0.001}))
    assert strict.choice.runner_up is None and strict.choice.margin == 0.001


def test_lower_hyperband_rounds_stay_out_of_the_choice_and_the_ties(tmp_path):
    trials = [_trial("00", 8, 5, tuner_epochs=1), _trial("01", 8, 9, tuner_epochs=3),
              _trial("02", 16, 12, tuner_epochs=9), _trial("03", 32, 13, tuner_epochs=9)]
    run = load_run(write_run(tmp_path, trials))
    assert run.choice.trial_id == "02"  # the best of the final round, not the 1-epoch "best"
    assert run.choice.tied == ("03",)
    assert list(run.trials["trial_id"]) == ["02", "03", "01", "00"]
    assert not run.trials.set_index("trial_id").loc["00", "tied"]


def test_memory_judged_against_its_measured_noise(tmp_path):
    rng = np.random.default_rng(3)
    steps = [2, 4, 8, 16, 32, 64] * 2
    noisy = [_trial(f"{i:02d}", s, 10 + i, peak_memory_mb=float(rng.uniform(3, 18)),
                    validation_split=[0.1, 0.2][i // 6]) for i, s in enumerate(steps)]
    repeats = {"00": [(10, 10, 4.0), (10, 10, 16.0)], "01": [(11, 11, 6.0), (11, 11, 15.0)]}
    run = load_run(write_run(tmp_path / "noisy", noisy, confirm=repeats))
    assert verdicts(run).rules["memory"].verdict.verdict == CANNOT_TELL
    # 30 MiB less per doubling in both cells: the same fall whichever trial is left out.
    clear = [{**t, "peak_memory_mb": 300.0 - 30 * np.log2(t["steps_per_epoch"])}
             for t in noisy]
    steady = {"00": [(10, 10, 240.0), (10, 10, 240.5)]}
    judged = verdicts(load_run(write_run(tmp_path / "clear", clear, confirm=steady)))
    memory = judged.rules["memory"].verdict
    assert memory.verdict == HELD and memory.effect < 0
    assert "permutation test" in memory.evidence and "n = 12 observations" in memory.evidence


def test_memory_without_any_repeat_cannot_tell(tmp_path):
    trials = [_trial(f"{i:02d}", s, 10, peak_memory_mb=100.0 / s, batch_size=1000 // s + i)
              for i, s in enumerate([2, 4, 8, 16])]
    memory = verdicts(load_run(write_run(tmp_path, trials))).rules["memory"].verdict
    assert memory.verdict == CANNOT_TELL and "not measured" in memory.evidence


def _curve(tid: str, steps: int, epochs: int, turn_at: int | None, rise: float) -> list[dict]:
    """Training loss falls; validation loss falls until `turn_at`, then rises by `rise`."""
    rows = []
    for e in range(1, epochs + 1):
        loss = 1.0 / e
        val = 1.0 / e + 0.05 if turn_at is None or e <= turn_at else (
            1.0 / turn_at + 0.05 + rise * (e - turn_at))
        rows.append({"trial_id": tid, "execution": 0, "epoch": e, "updates": e * steps,
                     "samples_seen": 900 * e, "loss": loss, "val_loss": val})
    return rows


def test_overfitting_cannot_tell_while_validation_loss_never_turned(tmp_path):
    trials = [_trial(f"{i:02d}", s, 10, best_epoch=4) for i, s in enumerate([2, 8, 32, 128])]
    curves = [r for t in trials for r in _curve(t["trial_id"], t["steps_per_epoch"], 4, None, 0)]
    judged = verdicts(load_run(write_run(tmp_path, trials, curves=curves)))
    overfitting = judged.rules["overfitting"].verdict
    assert overfitting.verdict == CANNOT_TELL
    assert "4 of 4 trials" in overfitting.evidence and "12 epochs" in overfitting.evidence
    assert any(w.startswith("still improving") for w in judged.warnings)


def test_overfitting_compared_at_equal_samples(tmp_path):
    steps = [2, 4, 8, 16, 32, 64] * 2
    trials, curves = [], []
    for i, s in enumerate(steps):
        tid = f"{i:02d}"
        trials.append(_trial(tid, s, 10, best_epoch=2, validation_split=[0.1, 0.2][i // 6]))
        curves += _curve(tid, s, 6, 2, 0.02 * math.log2(s) * (1 + 0.05 * (i // 6)))
    unmeasured = verdicts(load_run(write_run(tmp_path / "once", trials, curves=curves))).rules[
        "overfitting"].verdict
    assert unmeasured.verdict == CANNOT_TELL and unmeasured.effect > 0
    assert "noise was not measured" in unmeasured.evidence
    again = [_curve("00", 2, 6, 2, 0.02 * (1 + 0.01 * j)) for j in range(2)]
    overfitting = verdicts(load_run(write_run(tmp_path, trials, curves=curves, confirm={
        "00": [(10, 10, 50.0, c) for c in again]}))).rules["overfitting"].verdict
    assert overfitting.verdict == HELD and overfitting.effect > 0
    assert "equal samples seen" in overfitting.evidence
    flat = [{**c, "val_loss": c["loss"] + 0.05} for c in curves]
    judged = verdicts(load_run(write_run(tmp_path / "flat", trials, curves=flat)))
    assert judged.rules["overfitting"].verdict.verdict in (DID_NOT_HOLD, CANNOT_TELL)


def test_warnings_edge_of_grid_cut_short_and_one_trial_deciding(tmp_path):
    trials = [_trial("00", 2, 30), _trial("01", 8, 20), _trial("02", 128, 9,
                                                                effective_steps_per_epoch=40,
                                                                batch_size=1)]
    found = verdicts(load_run(write_run(tmp_path, trials))).warnings
    assert any("steps_per_epoch: the recommended value 128 is the largest searched" in w
               and "e.g. to 2048" in w for w in found)
    assert any("steps_per_epoch = 128 was cut short by the data" in w for w in found)


def test_build_report_writes_summary_json_and_the_first_section(tmp_path):
    run_dir = write_run(tmp_path, [_trial("21", 128, 9, test_errors=14), _trial("12", 16, 21),
                                   _trial("05", 4, 10)],
                        confirm={"21": [(12, 15, 50.0), (13, 17, 51.0)]})
    build_report(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["objective"] == "holdout_accuracy" and summary["direction"] == "max"
    recommended = summary["recommended"]
    assert recommended["trial_id"] == "21" and recommended["hyperparameters"] == {
        "steps_per_epoch": 128, "validation_split": 0.1}
    low, high = recommended["interval"]
    assert low < recommended["score"] < high and "test rows" in recommended["measured_on"]
    # Trial 21 ran three times, so the seeds' variance joins the test of every difference.
    assert summary["tied"] == ["05"] and summary["tie_test"].startswith(
        "a paired t test on per-row correctness with the seed-to-seed variance added")
    assert summary["tie_test"].endswith("Holm-adjusted over 2 comparisons")
    assert set(summary["rules"]) == {"memory", "overfitting"}
    assert all(r["verdict"] in (HELD, DID_NOT_HOLD, CANNOT_TELL)
               for r in summary["rules"].values())
    markdown = (run_dir / "report.md").read_text()
    answer = markdown[markdown.index("## Answer"):markdown.index("## How the pick was made")]
    assert f"{recommended['score']:.3g}" in answer and "steps\\_per\\_epoch = 128" in answer
    assert "test rows nothing was ranked on" in answer and "p = " not in answer


def test_per_row_values_for_every_objective_and_stacked_executions():
    labels = {"holdout": np.array([1.0, 2.0, 4.0])}
    runs = [{"holdout_pred": np.array([1.0, 3.0, 4.0]), "holdout_loss": np.array([0.1, 1, 0])},
            {"holdout_pred": np.array([2.0, 2.0, 2.0]), "holdout_loss": np.array([1, 0, 4.0])}]
    arrays = predictions.stack(runs)
    assert arrays["holdout_pred"].shape == (2, 3)
    np.testing.assert_array_equal(predictions.per_row(arrays, labels, "holdout_mae"),
                                  [[0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(predictions.per_row(arrays, labels, "val_mse"),
                                  [[0, 1, 0], [1, 0, 4]])
    np.testing.assert_array_equal(predictions.per_row(arrays, labels, "holdout_loss"),
                                  [[0.1, 1, 0], [1, 0, 4]])
    np.testing.assert_array_equal(predictions.per_row(arrays, labels, "holdout_accuracy"),
                                  [[1, 0, 1], [0, 1, 0]])
    assert predictions.per_row(arrays, labels, "holdout_mae", part="test") is None
    assert predictions.stack([{}, {}]) == {}


def test_a_verdict_one_trial_alone_decides_reads_cannot_tell_with_a_warning(tmp_path):
    # A weak fall of memory, significant on all eight trials but not without one of them.
    peaks = [57.0, 56.8, 57.9, 55.6, 56.3, 55.8, 51.5, 54.3]
    trials = [_trial(f"{i:02d}", 2 ** (i + 1), 10 + i, peak_memory_mb=p)
              for i, p in enumerate(peaks)]
    run = load_run(write_run(tmp_path, trials, confirm={"00": [(10, 10, 56.0), (10, 10, 57.5)]}))
    judged = verdicts(run)
    memory = judged.rules["memory"]
    assert memory.verdict.verdict == CANNOT_TELL
    decided_by = memory.decided_by
    assert memory.would_be == HELD and decided_by in {t["trial_id"] for t in trials}
    assert f"without trial {decided_by} alone" in memory.verdict.evidence
    assert any('would read "held"' in w and f"trial {decided_by} alone decides" in w
               for w in judged.warnings)


def test_a_workers_first_trial_stays_out_of_the_memory_rule(tmp_path):
    """A worker's first training pays TensorFlow's first-use memory; in grid order that is
    the largest batch, so counting it reads as "more steps, less memory"."""
    rng = np.random.default_rng(5)
    steps = [2, 4, 8, 16, 32, 64] * 2
    trials = [_trial(f"{i:02d}", s, 10 + i, validation_split=[0.1, 0.2][i // 6],
                     peak_memory_mb=float(5 + rng.normal(0, 0.3)), worker=i % 2,
                     worker_trial=i // 2 + 1) for i, s in enumerate(steps)]
    for first in trials[:2]:  # each worker's first: steps 2 and 4, the largest batches
        first["peak_memory_mb"] = 25.0
    repeats = {"05": [(10, 10, 5.2), (10, 10, 4.9)], "06": [(11, 11, 5.1), (11, 11, 4.8)]}
    memory = verdicts(load_run(write_run(tmp_path, trials, confirm=repeats))).rules["memory"]
    assert memory.verdict.verdict != HELD
    assert "2 trial(s) left out, each its worker's first" in memory.verdict.evidence
    assert "n = 10 observations" in memory.verdict.evidence


def test_memory_noise_never_counts_a_change_of_steps_per_epoch_as_noise(tmp_path):
    """One batch size for every trial (as under stream semantics) and memory that rises with
    steps_per_epoch: the repeat of trial 00 and the same steps under another validation_split
    measure noise (none but the repeat's 0.5 MiB), the trend over steps_per_epoch is not."""
    from tuning.verdicts.folk import memory_noise
    trials = [_trial(f"{i:02d}", s, 10, batch_size=32, peak_memory_mb=100.0 + 10 * math.log2(s),
                     validation_split=[0.1, 0.2][i // 4])
              for i, s in enumerate([2, 4, 8, 16] * 2)]
    run = load_run(write_run(tmp_path, trials, confirm={"00": [(10, 10, 110.5)]}))
    sd, repeats = memory_noise(run)
    assert repeats == 10 and sd == pytest.approx(math.sqrt(0.125 / 5))


def test_a_gap_is_never_extrapolated_before_a_curve_begins(tmp_path):
    """Trial 01's first epoch already saw more samples than trial 00 saw in all: it has no
    gap at 00's end, where a flat extrapolation would have made one up."""
    from tuning.verdicts.folk import gap_at_equal_samples
    curves = _curve("00", 2, 3, None, 0.0) + [
        {**row, "samples_seen": row["samples_seen"] * 100} for row in _curve("01", 2, 3, 1, 0.1)]
    run = load_run(write_run(tmp_path, [_trial("00", 2, 10), _trial("01", 2, 10)],
                             curves=curves))
    gaps, common = gap_at_equal_samples(run, run.ok)
    assert common == max(r["samples_seen"] for r in curves if r["trial_id"] == "00")
    assert math.isfinite(gaps.iloc[0]) and math.isnan(gaps.iloc[1])


def test_the_gap_uses_the_training_loss_at_the_epochs_end_where_it_was_measured(tmp_path):
    """Keras's `loss` is the epoch's mean, taken while the model still learned (here 0.3
    above the loss at the epoch's end): the gap is measured against `train_loss_end`; a curve
    recorded without it (an older run) falls back to `loss`."""
    from tuning.verdicts.folk import gap_at_equal_samples
    measured = [{**row, "loss": row["loss"] + 0.3, "train_loss_end": row["loss"]}
                for row in _curve("00", 2, 3, None, 0.0)]
    older = _curve("01", 2, 3, None, 0.0)
    run = load_run(write_run(tmp_path, [_trial("00", 2, 10), _trial("01", 2, 10)],
                             curves=measured + older))
    gaps, _ = gap_at_equal_samples(run, run.ok)
    assert gaps.tolist() == pytest.approx([0.05, 0.05])

"""The recommendation says what the numbers say, and nothing it did not compute."""

from __future__ import annotations

from pathlib import Path

from test_report_data import make_run, make_spec, ranked

from tuning.report.recommendation import recommend
from tuning.verdicts.pick import choose
from tuning.verdicts.ranking import Run, load_run
from tuning.verdicts.summary import verdicts


def _run(rows: list[dict], spec=None, info=None, where: Path = Path("/nonexistent")) -> Run:
    """A Run from hand-made rows, with no predictions or re-runs kept beside them."""
    spec = spec or make_spec()
    info = info if info is not None else {"n_holdout": 200, "n_pool": 800}
    table = ranked(rows, spec, info)
    return Run(where, spec, info, table, table[[]], choose(table, where, spec, info))


def _text(run: Run) -> str:
    return " ".join(recommend(run, verdicts(run)))


def _row(tid: str, steps: int, split: float, score: float, peak: float, gap: float,
         wall: float, best_epoch: int = 3, status: str = "ok") -> dict:
    return {"trial_id": tid, "status": status, "steps_per_epoch": steps,
            "validation_split": split, "batch_size": 800 // steps, "holdout_accuracy": score,
            "peak_memory_mb": peak, "gap": gap, "wall_s": wall, "best_epoch": best_epoch,
            "message": ""}


def test_memory_rule_and_overfitting_rule_from_the_numbers() -> None:
    rows = [_row("00", 2, 0.1, 0.90, 200, 0.01, 4.0, 5),
            _row("01", 8, 0.1, 0.91, 100, 0.05, 6.0, 3),
            _row("02", 32, 0.1, 0.92, 50, 0.09, 9.0, 1),
            _row("03", 2, 0.2, 0.89, 180, 0.02, 4.0, 5),
            _row("04", 32, 0.2, 0.80, 45, 0.10, 9.0, 1),
            {**_row("05", 1, 0.1, 0, 0, 0, 0), "status": "oom", "holdout_accuracy": None,
             "peak_memory_mb": None, "gap": None, "wall_s": None,
             "message": "out of memory at batch size 800"}]
    text = _text(_run(rows))
    assert text.startswith("Use steps_per_epoch = 32, validation_split = 0.1, batch size 25 "
                           "(trial 02)")
    assert "Its score: 0.92 (95% interval [" in text
    assert "trial 02's own holdout_accuracy" in text and "carries the selection's luck" in text
    assert "the run kept no predictions for a sharper paired test" in text
    assert "1 trial(s) ran out of memory" in text
    assert "from batch size 800 up; the largest batch that trained was 400" in text
    assert "smallest steps_per_epoch that fit in memory was 2" in text
    # Trials 00 and 03 (and 02 and 04) ran the same batch of the same model: their peaks
    # measure the noise; five trials in two groups cannot show a trend beyond it.
    assert ('The rule "out of memory? raise steps_per_epoch": cannot tell. Peak memory (noise: '
            "SD 10 MiB over 4 repeated measurements)" in text)
    assert "n = 5 observations in 2 groups, permutation test p = " in text
    assert 'The rule "overfitting? lower steps_per_epoch": cannot tell.' in text


def test_rules_that_did_not_hold_are_said_so() -> None:
    rows = [_row("00", 2, 0.1, 0.90, 100, 0.09, 4.0), _row("01", 8, 0.1, 0.60, 101, 0.05, 6.0),
            _row("02", 32, 0.1, 0.50, 100, 0.01, 9.0)]
    text = _text(_run(rows))
    assert "No other trial's 95% interval reaches its own: the lead is clear." in text
    assert "ran out of memory" not in text


def test_loss_objective_without_repeats_says_there_is_no_interval() -> None:
    rows = [{**_row("00", 2, 0.1, 0.9, 100, 0.1, 1.0), "val_loss": 0.3},
            {**_row("01", 8, 0.2, 0.9, 100, 0.1, 1.0), "val_loss": 0.4}]
    text = _text(_run(rows, make_spec(objective="val_loss")))
    assert "no predictions and no interval to compare trials with" in text
    assert "measures on a different validation set" in text
    assert "too few to test a trend" in text


def test_nothing_scored(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, n_trials=3, statuses={0: "oom", 1: "oom", 2: "error"})
    run = load_run(run_dir)
    (paragraph,) = recommend(run, verdicts(run))
    assert paragraph.startswith("No trial produced a score (1 error, 2 oom)")
    assert "The first failure says: out of memory at batch size" in paragraph
    assert "Every trial ran out of memory" not in paragraph


def test_all_out_of_memory_says_where_to_search(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, n_trials=3, statuses={0: "oom", 1: "oom", 2: "skipped_oom"})
    run = load_run(run_dir)
    (paragraph,) = recommend(run, verdicts(run))
    assert ("Every trial ran out of memory, down to batch size 324 at steps_per_epoch = 4"
            in paragraph)


def test_repeats_show_mean_and_spread(tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path, n_trials=12, executions=3))
    assert "± 0.01 (mean ± std of 3 runs)" in recommend(run, verdicts(run))[0]

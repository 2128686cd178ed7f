"""Pruning at equal samples seen: the ladder, the two rules, and which trial stops at which
rung, decided from hand-made records of finished and running trials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuning.records.epochs import epoch_note, progress_file
from tuning.records.rows import trial_row
from tuning.records.status import Status
from tuning.records.trials import write_trial
from tuning.training.pruning import (
    ETA,
    Curve,
    Judge,
    Point,
    Pruned,
    curve_of,
    judge,
    peer_value,
    rungs_between,
    value_at,
)

COLUMN = "val_accuracy"


def rows(values: list[float], per_epoch: int) -> list[dict]:
    """Curve rows of a trial that sees `per_epoch` samples an epoch."""
    return [{"epoch": i + 1, "samples_seen": per_epoch * (i + 1), COLUMN: v}
            for i, v in enumerate(values)]


def finished(run_dir: Path, trial_id: str, values: list[float], per_epoch: int,
             status: Status = Status.OK) -> None:
    write_trial(run_dir, trial_row({"trial_id": trial_id}, status, ""),
                [{"trial_id": trial_id, "execution": 0, **r} for r in rows(values, per_epoch)])


def test_the_ladder_is_the_powers_of_two_within_bounds():
    assert ETA == 4
    assert rungs_between(1, 100) == [2, 4, 8, 16, 32, 64]
    assert rungs_between(10, 64) == [16, 32, 64]
    assert rungs_between(65, 127) == []


def test_a_value_at_a_rung_is_the_best_reached_by_then_and_none_before_the_first_epoch():
    curve = Curve("1", (Point(100, 0.5), Point(200, 0.7), Point(300, 0.6)))
    assert value_at(curve, 99, maximise=True) is None
    assert value_at(curve, 250, maximise=True) == 0.7
    assert value_at(curve, 300, maximise=False) == 0.5
    assert value_at(Curve("2", (Point(10, float("nan")),)), 20, maximise=True) is None


def test_a_peer_short_of_the_rung_counts_only_when_it_finished_its_budget():
    points = (Point(10, 0.4), Point(20, 0.9), Point(30, 0.7))
    assert peer_value(Curve("1", points, complete=True), 64, maximise=True) == 0.9
    assert peer_value(Curve("2", points, complete=False), 64, maximise=True) is None
    assert peer_value(Curve("3", points, complete=False), 16, maximise=True) == 0.4


def test_median_needs_enough_peers_and_stops_only_the_strictly_worse():
    assert judge("median", 27, 0.1, [0.5, 0.6, 0.7], True, COLUMN) is None
    stop = judge("median", 27, 0.5, [0.4, 0.6, 0.7, 0.8], True, COLUMN)
    assert stop.prune and stop.bar == pytest.approx(0.65) and stop.peers == 4
    assert not judge("median", 27, 0.65, [0.4, 0.6, 0.7, 0.8], True, COLUMN).prune
    assert not judge("median", 27, 0.3, [0.4, 0.6, 0.7, 0.8], False, COLUMN).prune  # a loss


def test_asha_stops_what_falls_below_the_cut_of_the_best_quarter_of_its_peers():
    assert judge("asha", 9, 0.1, [], True, COLUMN) is None  # no peer: nothing to compare
    assert judge("asha", 9, 0.5, [0.6], True, COLUMN).prune  # one peer is its own cut
    peers = [0.9, 0.8, 0.7, 0.6, 0.5]  # the 75th percentile: 0.8
    assert not judge("asha", 9, 0.8, peers, True, COLUMN).prune
    stop = judge("asha", 9, 0.75, peers, True, COLUMN)
    assert stop.prune and stop.bar == pytest.approx(0.8)
    assert "the cut of the best 1/4 of 5 other trial(s)" in stop.message
    # A loss: the 25th percentile; and another ratio: the best third (the 1/3 quantile).
    assert judge("asha", 9, 0.65, peers, False, COLUMN).prune
    assert not judge("asha", 9, 0.6, peers, False, COLUMN).prune
    assert judge("asha", 9, 0.75, peers, True, COLUMN, eta=3).bar == pytest.approx(0.7667,
                                                                                   abs=1e-4)


def test_curves_of_repeated_trials_are_their_last_execution():
    many = [{"execution": 0, "epoch": 1, "samples_seen": 10, COLUMN: 0.9},
            {"execution": 1, "epoch": 1, "samples_seen": 10, COLUMN: 0.2},
            {"execution": 1, "epoch": 2, "samples_seen": 20, COLUMN: 0.3}]
    assert curve_of("5", many, COLUMN).points == (Point(10, 0.2), Point(20, 0.3))


def test_which_trial_stops_at_which_rung(tmp_path):
    """Four finished peers at 100 samples an epoch, and one pruned at 300 samples. A trial
    of 300 samples an epoch and 2,700 in all is judged from 300 samples on (its warm-up):
    first at rung 512, after its second epoch, with its first epoch's value."""
    for trial_id, values in (("1", [0.5, 0.6, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]),
                             ("2", [0.4, 0.5, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]),
                             ("3", [0.6, 0.7, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]),
                             ("4", [0.3, 0.4, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6])):
        finished(tmp_path, trial_id, values, per_epoch=100)
    finished(tmp_path, "5", [0.1, 0.1, 0.1], per_epoch=100, status=Status.PRUNED)
    good = Judge("median", tmp_path, "9", budget=2700, column=COLUMN, maximise=True)
    for epoch in range(1, 6):  # judged at 512, then at 1,024 against the peers' best
        good(rows([0.9, 0.95, 0.95, 0.95, 0.95][:epoch], per_epoch=300))
    bad = Judge("median", tmp_path, "10", budget=2700, column=COLUMN, maximise=True)
    bad(rows([0.2], per_epoch=300))  # 300 samples: rung 256 is inside the warm-up
    with pytest.raises(Pruned) as stopped:
        bad(rows([0.2, 0.3], per_epoch=300))
    decision = stopped.value.decision
    # The peers' value at 512 is their 5th epoch: 0.8, 0.7, 0.9, 0.6; trial 5 stopped
    # before the rung without finishing, so it is no peer there.
    assert (decision.rung, decision.peers, decision.value) == (512, 4, 0.2)
    assert decision.bar == pytest.approx(0.75)
    assert "pruned at 512 samples seen" in decision.message


def test_peers_are_compared_at_equal_samples_not_equal_epochs(tmp_path):
    """Four peers of 10 samples an epoch reach 0.9 by their 9th epoch (90 samples). A trial
    of 64 samples an epoch has 0.5 after its first: at equal epochs it leads every peer
    (their first epoch is 0.1), at equal samples (rung 64) it trails them all."""
    for trial_id in "1234":
        finished(tmp_path, trial_id, [0.1 * (i + 1) for i in range(9)], per_epoch=10)
    with pytest.raises(Pruned) as stopped:
        Judge("median", tmp_path, "9", budget=576, column=COLUMN,
              maximise=True)(rows([0.5], per_epoch=64))
    assert stopped.value.decision.rung == 64 and stopped.value.decision.bar == pytest.approx(0.6)


def test_running_trials_count_and_re_runs_do_not(tmp_path):
    for worker, trial_id in enumerate("1234"):
        note = epoch_note(progress_file(tmp_path, worker), trial_id, 9, prunable=True)
        note(rows([0.8, 0.8, 0.8], per_epoch=8))
    epoch_note(progress_file(tmp_path, 7), "confirm_1_0", 9, prunable=False)(
        rows([0.0, 0.0, 0.0], per_epoch=8))
    judged = Judge("median", tmp_path, "9", budget=72, column=COLUMN, maximise=True)
    with pytest.raises(Pruned) as stopped:
        judged(rows([0.5], per_epoch=8))  # rung 8: 4 running peers, not the re-run
    assert stopped.value.decision.peers == 4


def test_a_finished_record_wins_over_its_stale_running_curve(tmp_path):
    finished(tmp_path, "1", [0.9] * 9, per_epoch=10)
    epoch_note(progress_file(tmp_path, 0), "1", 9, prunable=True)(rows([0.0], per_epoch=10))
    peers = Judge("median", tmp_path, "9", 90, COLUMN, True).peers()
    assert [(c.trial_id, c.points[0].value) for c in peers] == [("1", 0.9)]


def test_no_judgement_in_the_last_epoch_or_without_a_curve_by_the_rung(tmp_path):
    for trial_id in "1234":
        finished(tmp_path, trial_id, [0.9] * 9, per_epoch=10)
    at_end = Judge("median", tmp_path, "9", budget=30, column=COLUMN, maximise=True)
    at_end(rows([0.0, 0.0, 0.0], per_epoch=10))  # its budget is spent: nothing to save
    late = Judge("median", tmp_path, "10", budget=2000, column=COLUMN, maximise=True)
    late(rows([0.0], per_epoch=1000))  # rung 512 passed, but no epoch had ended by then
    assert json.loads((tmp_path / "records" / "trial_1.json").read_text())["row"]["status"] == "ok"


def test_the_benchmark_replays_the_tools_rule_on_either_clock():
    """Five good trials of 10 samples an epoch, then a bad one of 81: on the samples clock
    it is judged at rung 128 (its second epoch) against the others' best and stopped; on the
    epoch clock it leads them at epochs 2 and 4 and is stopped only at epoch 8."""
    from bench.pruning import replay

    def trial(trial_id: str, values: list[float], per_epoch: int) -> dict:
        curve = [{**r, "epoch": i + 1} for i, r in enumerate(rows(values, per_epoch))]
        return {"row": {"trial_id": trial_id, "status": "ok", "holdout_accuracy": values[-1]},
                "curves": curve}

    good = [trial(str(i), [0.1 * (k + 1) for k in range(9)], 10) for i in range(5)]
    bad = trial("9", [0.35, 0.4, 0.45, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 81)
    full = replay([*good, bad], "none", "samples_seen")
    assert full["pruned"] == [] and full["samples"] == 5 * 90 + 729
    on_samples = replay([*good, bad], "median", "samples_seen")
    assert on_samples["pruned"] == ["9"] and on_samples["samples"] == 5 * 90 + 2 * 81
    on_epochs = replay([*good, bad], "median", "epoch")
    assert on_epochs["pruned"] == ["9"] and on_epochs["samples"] == 5 * 90 + 8 * 81


def test_the_benchmarks_floor_stops_every_trial_but_the_leaders_at_its_first_judgement():
    """The floor's replay: a trial behind the leader at its first judgement (rung 16, its
    second epoch of 10 samples) stops there; one ahead at every rung trains to its end."""
    from bench.pruning import FLOOR, replay

    def trial(trial_id: str, values: list[float]) -> dict:
        curve = [{**r, "epoch": i + 1} for i, r in enumerate(rows(values, 10))]
        return {"row": {"trial_id": trial_id, "status": "ok", "holdout_accuracy": values[-1]},
                "curves": curve}

    steady = [0.1 * (k + 1) for k in range(9)]
    first = trial("A", steady)
    behind = trial("B", [v - 0.05 for v in steady])
    ahead = trial("C", [v + 0.05 for v in steady])
    floor = replay([first, behind, ahead], FLOOR, "samples_seen")
    assert floor["pruned"] == ["B"] and floor["samples"] == 90 + 20 + 90
    assert floor["pick"]["trial_id"] == "C"

"""Pruning: what stopping hopeless trials early saves, and what it costs the answer.

A 24-configuration grid and a 24-trial random search (the same ranges, continuous) over
`steps_per_epoch`, the learning rate and the width of an MLP on digits (stream semantics, so
an epoch of 64 steps is 16 times the work of one of 4), run once unpruned through the command
line. Every pruning rule is then
replayed on the unpruned run's own curves, in the order its trials ran: with one worker and
a seed per trial, a pruned trial's curve is the unpruned one cut short, so the replay is what
the tool would have done (checked below against a real pruned search). Each rule is replayed
on two clocks: samples seen (what the tool does) and epochs (what Optuna, Ray Tune and
KerasTuner compare at). The picked configuration's true score is the mean holdout accuracy of
`truth_seeds` fresh trainings of it. Beside the rules, a floor (`FLOOR`): the samples any
rule that never stops the trial leading at a checkpoint must train on the same draw, which
says whether the samples goal can be met at all.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.common import print_table, run_cli, write_csv
from tuning.records import trials as records
from tuning.spec.tomlwrite import to_toml
from tuning.training.pruning import (
    ETA,
    Curve,
    curve_of,
    decide,
    due_rung,
    peer_value,
    value_at,
)

SPACE = {"steps_per_epoch": [4, 16, 64], "validation_split": [0.2],
         "learning_rate": [3e-5, 3e-4, 3e-3, 3e-2], "units": [8, 64]}
#: The random search draws from the same ranges, continuous where the grid lists values.
RANDOM_SPACE = {**SPACE, "learning_rate": {"min": 3e-5, "max": 3e-2, "sampling": "log"},
                "units": {"min": 8, "max": 64, "sampling": "log"}}
EPOCHS = 9
BATCH = 32
COLUMN = "val_accuracy"
OBJECTIVE = "holdout_accuracy"
#: Goals: the pick's true score within this of the unpruned search's, at most this share of
#: its samples seen.
SCORE_GOAL, SAMPLES_GOAL = 0.005, 0.40
#: Not a rule: every trial stopped at its first judgement unless it leads the trials before
#: it there. What any rule that never stops the leading trial trains at least, on the same
#: checkpoints: whether the samples goal can be met on a search's own draw.
FLOOR = "floor: only leaders go on"


def write_spec(folder: Path, name: str, tuner: str = "grid", prune: str = "none",
               space: dict[str, list] | None = None, repeats: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    search: dict[str, Any] = {"tuner": tuner, "objective": OBJECTIVE, "confirm_runs": 0,
                              "prune": prune, "repeats": repeats}
    if tuner == "random":
        search["max_trials"] = 24
    search["space"] = space or (RANDOM_SPACE if tuner == "random" else SPACE)
    path = folder / f"{name}.toml"
    path.write_text(to_toml({
        "experiment": {"name": name, "seed": 11},
        "data": {"source": "sklearn:digits", "holdout": 0.2, "test": 0},
        "model": {"builder": "tuning.models:mlp", "task": "classification",
                  "metric": "accuracy"},
        "budget": {"semantics": "stream", "epochs": EPOCHS, "batch_size": BATCH},
        "search": search,
        "resources": {"device": "cpu", "workers": 1},
    }))
    return path


def replay(trials: list[dict[str, Any]], rule: str, clock: str,
           eta: int = ETA) -> dict[str, Any]:
    """Which trials `rule` stops on `clock` ("samples_seen" or "epoch"), walking the
    unpruned run's trials in the order they ran; their samples seen, and the pick. `eta`:
    ASHA's ratio."""
    seen_before: list[Curve] = []
    samples, kept, pruned = 0, [], []
    for trial in trials:
        row, rows = trial["row"], trial["curves"]
        if row["status"] != "ok":
            continue
        budget = int(rows[-1][clock])
        judged, stop = 0, None
        for end in range(1, len(rows) + 1 if rule != "none" else 1):
            own = curve_of(row["trial_id"], rows[:end], COLUMN, clock=clock)
            rung = due_rung(budget, judged, own.reached)
            if rung is None:
                continue
            judged = rung
            if _stops(rule, own, rung, seen_before, eta):
                stop = end
                break
        cut = rows if stop is None else rows[:stop]
        seen_before.append(curve_of(row["trial_id"], cut, COLUMN, stop is None, clock))
        samples += int(cut[-1]["samples_seen"])
        (kept if stop is None else pruned).append(row)
    pick = max(kept, key=lambda r: r[OBJECTIVE])
    return {"samples": samples, "pruned": [str(r["trial_id"]) for r in pruned], "pick": pick}


def _stops(rule: str, own: Curve, rung: int, peers: list[Curve], eta: int) -> bool:
    """Whether `rule` stops the trial at `rung`. `FLOOR` stops every trial that is not
    leading its peers there: no rule that spares the leader can train fewer samples."""
    if rule == FLOOR:
        value = value_at(own, rung, True)
        values = [v for v in (peer_value(c, rung, True) for c in peers) if v is not None]
        return value is not None and bool(values) and value < max(values)
    decision = decide(rule, own, rung, peers, True, COLUMN, eta)
    return decision is not None and decision.prune


def true_score(work: Path, row: dict[str, Any], seeds: int, cache: dict) -> float:
    """Mean holdout accuracy of `seeds` fresh trainings of the trial's configuration."""
    key = tuple((name, row[name]) for name in SPACE)
    if key not in cache:
        name = f"truth{len(cache)}"
        spec = write_spec(work, name, space={n: [v] for n, v in key}, repeats=seeds)
        run_cli(spec, work / name / "run")
        cache[key] = float(records.read_trials(work / name / "run")[0]["row"][OBJECTIVE])
    return cache[key]


def run(truth_seeds: int = 5, folder: Path | None = None,
        results: Path | None = None) -> list[dict[str, Any]]:
    """Both searches unpruned, every rule replayed on both clocks, one real pruned search
    to check the replay; write and print the table."""
    work = Path(folder or tempfile.mkdtemp(prefix="bench-pruning-"))
    truths: dict = {}
    summary = []
    for tuner in ("grid", "random"):
        spec = write_spec(work, f"{tuner}-unpruned", tuner)
        wall = run_cli(spec, work / f"{tuner}-unpruned" / "run")
        trials = records.read_trials(work / f"{tuner}-unpruned" / "run")
        full = replay(trials, "none", "samples_seen")
        base = true_score(work, full["pick"], truth_seeds, truths)
        summary.append(_row(tuner, "none", "-", full, full, base, base, wall, len(trials)))
        for rule, eta in (("median", ETA), ("asha", ETA), ("asha", 3), (FLOOR, ETA)):
            for clock in ("samples_seen", "epoch"):
                got = replay(trials, rule, clock, eta)
                score = true_score(work, got["pick"], truth_seeds, truths)
                name = rule if eta == ETA or rule != "asha" else f"asha (ratio {eta})"
                summary.append(_row(tuner, name, clock, got, full, score, base, None,
                                    len(trials)))
        real = write_spec(work, f"{tuner}-median", tuner, prune="median")
        real_wall = run_cli(real, work / f"{tuner}-median" / "run")
        rows = [t["row"] for t in records.read_trials(work / f"{tuner}-median" / "run")]
        replayed = replay(trials, "median", "samples_seen")
        summary.append({
            "search": tuner, "rule": "median (real run)", "clock": "samples_seen",
            "pruned": sum(r["status"] == "pruned" for r in rows),
            "samples_share": sum(int(r.get("samples_seen") or 0) for r in rows) / full["samples"],
            "end_to_end_s": real_wall, "wall_share": real_wall / wall,
            "replay_agrees": sorted(str(r["trial_id"]) for r in rows
                                    if r["status"] == "pruned") == sorted(replayed["pruned"]),
        })
        print(f"pruning: {tuner} done", flush=True)
    write_csv("pruning", summary, *([results] if results else []))
    print_table(f"Pruning: the pick's true score ({truth_seeds} seeds) and samples seen against "
                f"the unpruned search (goals: within {SCORE_GOAL}, at most "
                f"{SAMPLES_GOAL:.0%} of the samples)", summary)
    return summary


def _row(tuner: str, rule: str, clock: str, got: dict, full: dict, score: float, base: float,
         wall: float | None, n: int) -> dict[str, Any]:
    pick = got["pick"]
    return {
        "search": tuner, "rule": rule, "clock": clock, "trials": n,
        "pruned": len(got["pruned"]),
        "samples_share": got["samples"] / full["samples"],
        "pick": "/".join(f"{pick[name]:.3g}" for name in SPACE if name != "validation_split"),
        "pick_true_score": score, "true_score_loss": base - score,
        "meets_goals": (base - score <= SCORE_GOAL
                        and got["samples"] / full["samples"] <= SAMPLES_GOAL)
        if rule != "none" else None,
        "end_to_end_s": wall,
    }

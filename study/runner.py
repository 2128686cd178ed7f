"""Running the study's searches through the tool, with an estimate first and progress after.

Each run is `python -m tuning run SPEC --out DIR` in its own process (a fresh TensorFlow, the
tool's own workers and budgets). A run directory that holds a finished search is kept as it
is, and an interrupted one resumes where it stopped, so `make study` can be stopped and
started again at no cost beyond the trial that was running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from study.design import Design, Experiment, source_for
from tuning.records.rundir import is_finished
from tuning.records.trials import atomic_write

#: Seconds each run took, summed over the study's invocations (a resumed run adds to it).
TIMINGS = "timings.json"

#: Seconds a run spends before its first trial (TensorFlow imports, workers starting).
RUN_OVERHEAD_S = 20.0
#: One trial's cost on one of 2 busy cores, measured on the machine the grids were sized on:
#: building the model, each epoch (its validation pass and callbacks), each update, and
#: arithmetic (multiply-adds of forward and backward passes, per second).
TRIAL_S, EPOCH_S, UPDATE_S, FLOPS = 1.5, 0.13, 0.0023, 1e10


@dataclass(frozen=True)
class RunPlan:
    """One search of the study: which experiment, its spec and its run directory."""

    experiment: Experiment
    spec: Path
    run_dir: Path

    @property
    def name(self) -> str:
        return self.experiment.key

    def estimate_s(self) -> float:
        """About how long the run takes from scratch on 2 cores."""
        e = self.experiment
        val_rows = e.rows - round(e.rows * e.holdout) - e.n_train
        costs = [
            TRIAL_S + EPOCH_S * p.epochs + UPDATE_S * p.updates
            + 6 * e.params * (p.updates * p.batch_size + val_rows * p.epochs) / FLOPS
            for p in e.trials()
        ]
        return RUN_OVERHEAD_S + max(sum(costs) / e.workers, max(costs))


def plan_runs(design: Design, results: Path) -> list[RunPlan]:
    """Write each run's spec (and the tables it reads) under `results`; nothing runs yet."""
    spec_dir, data_dir = results / "specs", results / "data"
    spec_dir.mkdir(parents=True, exist_ok=True)
    plans = []
    for experiment in design.experiments:
        spec = spec_dir / f"{experiment.key}.toml"
        text = experiment.spec_text(source_for(experiment, data_dir, spec_dir))
        if not spec.is_file() or spec.read_text(encoding="utf-8") != text:
            spec.write_text(text, encoding="utf-8")
        plans.append(RunPlan(experiment, spec, results / experiment.key))
    return plans


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def run_all(plans: list[RunPlan], fresh: bool = False) -> None:
    """Run every unfinished search, saying first how long it should take, then how it goes."""
    todo = [p for p in plans if fresh or not is_finished(p.run_dir)]
    if not todo:
        print(f"study: all {len(plans)} runs finished already (--fresh runs them again)",
              flush=True)
        return
    estimates = {p.name: p.estimate_s() for p in todo}
    total = sum(estimates.values())
    print(f"study: {len(plans)} runs, {len(plans) - len(todo)} finished already; the other "
          f"{len(todo)} should take about {_clock(total)} on 2 otherwise idle cores.", flush=True)
    started = time.perf_counter()
    spent_estimate = 0.0
    for index, plan in enumerate(todo, 1):
        elapsed = time.perf_counter() - started
        pace = elapsed / spent_estimate if spent_estimate else 1.0
        left = (total - spent_estimate) * pace
        print(f"\nstudy: [{index}/{len(todo)}] {plan.name} (about {_clock(estimates[plan.name])}"
              f"); {_clock(elapsed)} so far, about {_clock(left)} left", flush=True)
        run_started = time.perf_counter()
        run_one(plan, fresh)
        record_time(plan, time.perf_counter() - run_started)
        spent_estimate += estimates[plan.name]
    print(f"\nstudy: the runs took {_clock(time.perf_counter() - started)}", flush=True)


def record_time(plan: RunPlan, seconds: float) -> None:
    """Add to the run's time in `timings.json`, with the load the machine carried."""
    path = plan.run_dir.parent / TIMINGS
    timings = json.loads(path.read_text()) if path.is_file() else {}
    entry = timings.get(plan.name, {"seconds": 0.0, "load": []})
    entry["seconds"] = round(entry["seconds"] + seconds, 1)
    entry["load"] = [*entry["load"], round(os.getloadavg()[0], 1)]
    timings[plan.name] = entry
    atomic_write(path, json.dumps(timings, indent=1, sort_keys=True))


def read_timings(results: Path) -> dict[str, dict]:
    path = results / TIMINGS
    return json.loads(path.read_text()) if path.is_file() else {}


def run_one(plan: RunPlan, fresh: bool) -> None:
    """One search through the command line; its progress lines are shown indented.

    A run that exits non-zero but wrote its tables is used with a warning; one that wrote
    none stops the study."""
    args = [sys.executable, "-m", "tuning", "run", str(plan.spec), "--out", str(plan.run_dir)]
    if fresh:
        args.append("--fresh")
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(f"    {line.rstrip()}", flush=True)
    if proc.returncode == 0:
        return
    command = " ".join(args[1:])
    if not (plan.run_dir / "trials.csv").is_file():
        raise SystemExit(f"study: `python {command}` exited {proc.returncode} "
                         "and wrote no trials.csv")
    print(f"study: warning: `python {command}` exited {proc.returncode}; using the "
          "trials it recorded", file=sys.stderr, flush=True)

"""After the search: the recommended configuration and those tied with it, trained again.

Each re-run is the trial's own code path (a `TrialTask` through the same worker pool) with a
fresh seed and its own record name (`confirm_<trial>_<n>`, see `tuning.records.confirmations`), so a
resumed run keeps the re-runs already made and the search's tables never see them.
"""

from __future__ import annotations

from tuning.execution.messages import TrialTask
from tuning.execution.pool import Job, WorkerPool
from tuning.execution.search import SearchContext, trial_seed
from tuning.records import predictions
from tuning.records.confirmations import read_confirm_rows, record_name, write_confirmation
from tuning.records.rows import planned_row
from tuning.records.trials import TRIAL_ID


def candidates(run, limit: int) -> list[str]:
    """The first-ranked trial of the final budget and those a paired test cannot tell from
    it, closest first, at most `limit`."""
    if run.choice is None:
        return []
    top = run.trials[run.trials["rank"].notna() & run.trials["top"].astype(bool)]
    tied = set(run.choice.tied)
    ordered = [str(t) for t in top[TRIAL_ID] if str(t) in tied]
    return [run.choice.trial_id, *ordered][:limit]


def run_confirmations(ctx: SearchContext, pool: WorkerPool) -> None:
    """Train the candidates `search.confirm_runs` times each with fresh seeds (what is not
    already recorded), through the search's pool."""
    from tuning.verdicts.ranking import load_run

    spec = ctx.spec
    runs = spec.search.confirm_runs
    if runs < 1:
        return
    ids = candidates(load_run(ctx.run_dir), spec.search.confirm_configs)
    done = {row["record"] for row in read_confirm_rows(ctx.run_dir)}
    pending = [(t, j) for t in ids for j in range(runs) if record_name(t, j) not in done]
    if not pending:
        return
    print(f"re-running {len(ids)} configuration(s) (trial {', '.join(ids)}) with {runs} fresh "
          "seed(s) each, to state the score without the search's luck ...", flush=True)
    objective = spec.search.objective
    while pending or pool.busy():
        for worker in pool.idle():
            if not pending:
                break
            trial_id, run = pending.pop(0)
            hp = ctx.oracle.get_trial(trial_id).hyperparameters
            name = record_name(trial_id, run)
            task = TrialTask(name, hp.get_config(), trial_seed(spec, name), prunable=False)
            pool.submit(worker, Job(task, planned_row(name, ctx.hypermodel, hp)))
        for job, outcome in pool.wait(timeout=5.0):
            if outcome.predictions:
                predictions.save(ctx.run_dir, job.task_id, outcome.predictions)
            write_confirmation(ctx.run_dir, outcome.row, outcome.curves)
            score = outcome.row.get(objective)
            shown = f" {objective}={score:.4g}" if isinstance(score, float) else ""
            print(f"  {job.task_id}: {outcome.row['status']}{shown} in "
                  f"{outcome.row.get('wall_s', 0):.1f} s", flush=True)

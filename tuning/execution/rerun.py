"""The recommended configuration and those tied with it, trained again with fresh seeds.

Each re-run is the trial's own code path (a `TrialTask` through the same worker pool) with a
fresh seed and its own record name (`confirm_<trial>_<n>`, see `tuning.records.confirmations`), so a
resumed run keeps the re-runs already made and the search's tables never see them.

Re-runs do not wait for the search to end: once the Oracle has no new trial to hand out, a
worker left idle while the last trials run re-trains the configurations that lead so far.
When the search is over, the final candidates' missing re-runs run on every worker at once.
A configuration that stops leading keeps its re-runs: they are fresh runs of it all the same,
and only ever count for it.
"""

from __future__ import annotations

from tuning.execution.messages import Outcome, TrialTask
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


class ReRuns:
    """The fresh-seed re-runs of one search: which are due, started on idle workers, and
    their outcomes written as they come back."""

    def __init__(self, ctx: SearchContext) -> None:
        self.ctx = ctx
        self.runs = ctx.spec.search.confirm_runs
        self._running: set[str] = set()
        self._announced = False
        self._judged_at = -1  # trials finished when the leaders were last worked out
        self._pending: list[tuple[str, int]] = []

    def due(self) -> list[tuple[str, int]]:
        """(trial, run) pairs of the leading configurations not yet recorded or running."""
        from tuning.verdicts.ranking import load_run

        if self.runs < 1:
            return []
        ids = candidates(load_run(self.ctx.run_dir), self.ctx.spec.search.confirm_configs)
        done = {row["record"] for row in read_confirm_rows(self.ctx.run_dir)}
        return [(t, j) for t in ids for j in range(self.runs)
                if record_name(t, j) not in done | self._running]

    def start_early(self, pool: WorkerPool, finished: int) -> None:
        """Give idle workers re-runs of the leaders so far (worked out again only after
        another trial has finished)."""
        if self.runs < 1 or not pool.idle():
            return
        if finished != self._judged_at:
            self._judged_at = finished
            self._pending = self.due()
        self._fill(pool)

    def finish(self, pool: WorkerPool) -> None:
        """After the search: every re-run the final leaders still lack, on all workers."""
        pending = self.due()
        if not pending and not self._running:
            return
        ids = list(dict.fromkeys(t for t, _ in pending))
        if ids:
            self._announce(ids)
        self._pending = pending
        while self._pending or pool.busy():
            self._fill(pool)
            for job, outcome in pool.wait(timeout=5.0):
                self.take(job, outcome)

    def take(self, job: Job, outcome: Outcome) -> bool:
        """Write a re-run's outcome; False when the job was not a re-run."""
        if job.task_id not in self._running:
            return False
        self._running.discard(job.task_id)
        if outcome.predictions:
            predictions.save(self.ctx.run_dir, job.task_id, outcome.predictions)
        write_confirmation(self.ctx.run_dir, outcome.row, outcome.curves)
        score = outcome.row.get(self.ctx.spec.search.objective)
        shown = f" {self.ctx.spec.search.objective}={score:.4g}" if isinstance(score, float) else ""
        print(f"  {job.task_id}: {outcome.row['status']}{shown} in "
              f"{outcome.row.get('wall_s', 0):.1f} s", flush=True)
        return True

    def _fill(self, pool: WorkerPool) -> None:
        for worker in pool.idle():
            if not self._pending:
                return
            trial_id, run = self._pending.pop(0)
            if not self._announced:
                self._announce([trial_id])
            hp = self.ctx.oracle.get_trial(trial_id).hyperparameters
            name = record_name(trial_id, run)
            task = TrialTask(name, hp.get_config(), trial_seed(self.ctx.spec, name),
                             prunable=False)
            self._running.add(name)
            pool.submit(worker, Job(task, planned_row(name, self.ctx.planner, hp)))

    def _announce(self, ids: list[str]) -> None:
        self._announced = True
        print(f"re-running trial {', '.join(ids)} with {self.runs} fresh seed(s) each, to "
              "state the score without the search's luck ...", flush=True)

"""A pool of worker processes that always knows which worker holds which task.

A worker that dies mid-trial (out of memory, a crash, a kill, a time limit) is noticed through
its process sentinel: its trial gets a status and a message, and a fresh worker takes its
place. Nothing a worker does can take the search down with it.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field, replace
from multiprocessing.connection import wait
from typing import Any

from tuning.execution import memory
from tuning.execution.failures import classify_death
from tuning.execution.messages import (
    Begin,
    CheckModel,
    ModelChecked,
    Outcome,
    Ready,
    StartFailed,
    Stop,
    Task,
)
from tuning.execution.worker import WorkerConfig, main
from tuning.records.rows import trial_row
from tuning.records.status import Status
from tuning.spec.builders import BUILDER_KEY
from tuning.spec.errors import UserError
from tuning.spec.sizes import mib
from tuning.spec.space import ModelSpace

_START_TIMEOUT_S = 300
#: How much longer than the builder's own limit a model check may take before its worker
#: is taken for stuck (the limit is enforced in the worker; this is for code that ignores it).
_CHECK_MARGIN_S = 60
#: Under a CPU budget every thread's stack counts against it, and glibc gives each new thread
#: 8 MiB by default; TensorFlow starts threads in every trial, so workers get smaller stacks.
THREAD_STACK = 2 * 2**20


class WorkerStartError(RuntimeError):
    """A worker could not start at all (TensorFlow missing, no GPU where one was required)."""


def threads_per_worker(workers: int) -> int:
    """Each worker gets its share of the cores, so parallel workers do not fight."""
    return max(1, (os.cpu_count() or 1) // workers)


@dataclass
class Job:
    """A task handed to a worker, with the row known before it ran (`planned`): if the
    worker dies, that row is the trial's record."""

    task: Task
    planned: dict[str, Any]
    started: float = field(default_factory=time.monotonic)

    @property
    def task_id(self) -> str:
        return self.task.task_id


@dataclass(eq=False)
class Worker:
    index: int
    process: Any = None
    conn: Any = None
    job: Job | None = None
    ready: Ready | None = None
    begun: bool = False  # sent `Begin`
    stopped: bool = False  # sent `Stop`


class WorkerPool:
    """`size` long-lived workers; `submit` a task to an idle one, `wait` for outcomes.

    The memory budget and the per-trial time limit are the spec's (`config.spec.resources`).
    """

    def __init__(self, config: WorkerConfig, size: int):
        self.config = config
        self.size = size
        self.budget = config.spec.resources.memory_budget
        self.trial_timeout_s = config.spec.resources.trial_timeout_s
        self.workers = [Worker(index=i) for i in range(size)]
        self._ctx = mp.get_context("spawn")

    def start(self) -> None:
        self.spawn()
        self.await_ready()

    def spawn(self, begin: bool = True) -> None:
        """Start the processes; they import TensorFlow, then wait for `begin` (sent now
        unless `begin` is False) to open their log and the data and to warm up."""
        for worker in self.workers:
            if worker.process is None:
                self._spawn(worker)
        if begin:
            self.begin()

    def begin(self) -> None:
        """The run directory and its data are ready: the workers may start for real."""
        for worker in self.workers:
            if worker.process is not None and not worker.begun:
                with contextlib.suppress(OSError):  # a dead worker shows in `await_ready`
                    worker.conn.send(Begin())
                worker.begun = True

    def await_ready(self) -> list[Ready]:
        """Wait until every worker has started; returns what each said on start-up."""
        for worker in self.workers:
            if worker.ready is None:
                self._await_ready(worker)
        return [w.ready for w in self.workers]

    def _spawn(self, worker: Worker) -> None:
        parent, child = self._ctx.Pipe()
        config = replace(self.config, index=worker.index)
        worker.process = self._ctx.Process(
            target=main, args=(config, child), name=f"steps-tuner-worker-{worker.index}",
            daemon=True,
        )
        with memory.thread_stacks(THREAD_STACK if self.budget else None):
            worker.process.start()
        child.close()
        worker.conn = parent
        worker.job = None
        worker.ready = None
        worker.begun = False
        worker.stopped = False

    def _await_ready(self, worker: Worker) -> None:
        if not worker.conn.poll(_START_TIMEOUT_S):
            raise WorkerStartError(f"worker {worker.index} did not start in {_START_TIMEOUT_S} s")
        try:
            reply = worker.conn.recv()
        except EOFError:
            raise WorkerStartError(
                f"worker {worker.index} died while starting (exit code {worker.process.exitcode})"
            ) from None
        if isinstance(reply, StartFailed):
            where = f" (traceback in {reply.log})" if reply.log else ""
            if reply.key:
                raise UserError(reply.key, f"{reply.reason}{where}")
            raise WorkerStartError(f"{reply.reason}{where}")
        if not isinstance(reply, Ready):
            raise WorkerStartError(f"worker {worker.index} sent {type(reply).__name__} at start")
        worker.ready = reply

    def check_model(self, limit_s: float) -> ModelSpace:
        """Have the first worker build the model once (`CheckModel`); raises UserError when
        the builder fails, or when building kills the worker or outlasts `limit_s`."""
        worker = self.workers[0]
        if worker.ready is None:
            self._await_ready(worker)
        worker.conn.send(CheckModel())
        reply = None
        try:
            if worker.conn.poll(limit_s + _CHECK_MARGIN_S):
                reply = worker.conn.recv()
        except (EOFError, OSError):
            pass
        if isinstance(reply, ModelChecked):
            if reply.space is None:
                raise UserError(reply.key, reply.problem)
            return reply.space
        stuck = worker.process.is_alive()
        worker.process.kill()
        worker.process.join(5)
        how = (f"still running after {limit_s + _CHECK_MARGIN_S:g} s" if stuck else
               classify_death(worker.process.exitcode, self.budget is not None)[1])
        raise UserError(BUILDER_KEY, f"building the model once to check it: {how} "
                                     f"(see {worker.ready.log})")

    def _replace(self, worker: Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        self._spawn(worker)
        self.begin()
        self._await_ready(worker)

    def idle(self) -> list[Worker]:
        return [w for w in self.workers if w.job is None]

    def busy(self) -> list[Worker]:
        return [w for w in self.workers if w.job is not None]

    def submit(self, worker: Worker, job: Job) -> None:
        worker.job = job
        worker.conn.send(job.task)

    def wait(self, timeout: float | None = None) -> list[tuple[Job, Outcome]]:
        """Block until at least one busy worker reports (or dies); returns (job, outcome)."""
        busy = self.busy()
        if not busy:
            return []
        deadline = self._next_deadline(busy)
        if deadline is not None:
            left = max(0.0, deadline - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
        handles = {w.conn: w for w in busy} | {w.process.sentinel: w for w in busy}
        ready = wait(list(handles), timeout)
        done: list[tuple[Job, Outcome]] = []
        for worker in dict.fromkeys(handles[h] for h in ready):
            done.append(self._collect(worker))
        for worker in self.busy():
            if self._overdue(worker):
                done.append(self._fail(worker, Status.TIMEOUT,
                                       f"passed the per-trial limit of {self.trial_timeout_s:g} s"))
        return done

    def _collect(self, worker: Worker) -> tuple[Job, Outcome]:
        job = worker.job
        try:
            if worker.conn.poll():
                reply = worker.conn.recv()
                if not isinstance(reply, Outcome):
                    raise TypeError(f"worker {worker.index} answered {type(reply).__name__}")
                worker.job = None
                if reply.worker_exits or not worker.process.is_alive():
                    worker.process.join(10)
                    self._replace(worker)
                return job, reply
        except (EOFError, OSError):
            pass
        worker.process.join(5)
        status, message = classify_death(worker.process.exitcode,
                                         under_budget=self.budget is not None)
        if status == Status.OOM:
            message = f"{message} at batch size {job.planned.get('batch_size')}"
        if worker.ready is not None:
            message = f"{message} (see {worker.ready.log})"
        return self._fail(worker, status, message)

    def _fail(self, worker: Worker, status: Status, message: str) -> tuple[Job, Outcome]:
        job = worker.job
        row = trial_row(job.planned, status, message, worker=worker.index,
                        memory_budget_mb=mib(self.budget),
                        wall_s=round(time.monotonic() - job.started, 3))
        self._replace(worker)
        return job, Outcome(job.task_id, row)

    def _next_deadline(self, busy: list[Worker]) -> float | None:
        if self.trial_timeout_s is None:
            return None
        return min(w.job.started for w in busy) + self.trial_timeout_s

    def _overdue(self, worker: Worker) -> bool:
        return (
            self.trial_timeout_s is not None
            and time.monotonic() - worker.job.started > self.trial_timeout_s
        )

    def stop(self) -> None:
        """Tell every idle worker to exit, without waiting: they wind TensorFlow down while
        this process goes on (with the report); `close` then finds them gone."""
        for worker in self.workers:
            if worker.process is None or worker.job is not None or worker.stopped:
                continue
            with contextlib.suppress(OSError):
                worker.conn.send(Stop())
            worker.stopped = True

    def close(self) -> None:
        """Stop the workers and wait for them; one still busy, or not yet ready (it has
        done nothing but start), is killed."""
        self.stop()
        for worker in self.workers:
            if worker.process is None:
                continue
            worker.process.join(2 if worker.job is None and worker.ready is not None else 0)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(5)

"""A pool of worker processes that always knows which worker holds which trial.

A worker that dies mid-trial (out of memory, a crash, a kill, a time limit) is noticed through
its process sentinel: its trial gets a status and a message, and a fresh worker takes its
place. Nothing a worker does can take the search down with it.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass, field, replace
from multiprocessing.connection import wait
from typing import Any

from tuning.execution import memory
from tuning.execution.failures import classify_death
from tuning.execution.worker import WorkerConfig, main

_START_TIMEOUT_S = 300
#: Under a CPU budget every thread's stack counts against it, and glibc gives each new thread
#: 8 MiB by default; TensorFlow starts threads in every trial, so workers get smaller stacks.
THREAD_STACK = 2 * 2**20


class WorkerStartError(RuntimeError):
    """A worker could not start at all (TensorFlow missing, no GPU where one was required)."""


@dataclass
class Task:
    """One piece of work for a worker: `message` is what it receives (a trial or a probe)."""

    trial_id: str
    message: tuple
    row: dict[str, Any]  # what is known before training, for a record if the worker dies
    started: float = field(default_factory=time.monotonic)


@dataclass(eq=False)
class Worker:
    index: int
    process: Any = None
    conn: Any = None
    task: Task | None = None
    ready: bool = False


class WorkerPool:
    """`size` long-lived workers; `submit` a task to an idle one, `wait` for results."""

    def __init__(self, config: WorkerConfig, size: int, trial_timeout_s: float | None = None):
        self.config = config
        self.size = size
        self.trial_timeout_s = trial_timeout_s
        self.workers = [Worker(index=i) for i in range(size)]
        self._ctx = mp.get_context("spawn")

    def start(self) -> None:
        self.spawn()
        self.await_ready()

    def spawn(self) -> None:
        """Start the processes; they import TensorFlow and warm up on their own."""
        for worker in self.workers:
            if worker.process is None:
                self._spawn(worker)

    def await_ready(self) -> None:
        for worker in self.workers:
            if not worker.ready:
                self._await_ready(worker)

    def _spawn(self, worker: Worker) -> None:
        parent, child = self._ctx.Pipe()
        config = replace(self.config, index=worker.index)
        worker.process = self._ctx.Process(
            target=main, args=(config, child), name=f"steps-tuner-worker-{worker.index}",
            daemon=True,
        )
        with memory.thread_stacks(THREAD_STACK if self.config.memory_budget else None):
            worker.process.start()
        child.close()
        worker.conn = parent
        worker.task = None
        worker.ready = False

    def _await_ready(self, worker: Worker) -> None:
        if not worker.conn.poll(_START_TIMEOUT_S):
            raise WorkerStartError(f"worker {worker.index} did not start in {_START_TIMEOUT_S} s")
        try:
            kind, payload = worker.conn.recv()
        except EOFError:
            raise WorkerStartError(
                f"worker {worker.index} died while starting (exit code {worker.process.exitcode})"
            ) from None
        if kind != "ready":
            raise WorkerStartError(str(payload))
        worker.ready = True

    def _replace(self, worker: Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        self._spawn(worker)
        self._await_ready(worker)

    def idle(self) -> list[Worker]:
        return [w for w in self.workers if w.task is None]

    def busy(self) -> list[Worker]:
        return [w for w in self.workers if w.task is not None]

    def submit(self, worker: Worker, task: Task) -> None:
        worker.task = task
        worker.conn.send(task.message)

    def wait(self, timeout: float | None = None) -> list[tuple[Task, dict[str, Any]]]:
        """Block until at least one busy worker reports (or dies); returns (task, result)."""
        busy = self.busy()
        if not busy:
            return []
        deadline = self._next_deadline(busy)
        if deadline is not None:
            left = max(0.0, deadline - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
        handles = {w.conn: w for w in busy} | {w.process.sentinel: w for w in busy}
        ready = wait(list(handles), timeout)
        done: list[tuple[Task, dict[str, Any]]] = []
        for worker in dict.fromkeys(handles[h] for h in ready):
            done.append(self._collect(worker))
        for worker in self.busy():
            if self._overdue(worker):
                done.append(self._fail(worker, "timeout",
                                       f"passed the per-trial limit of {self.trial_timeout_s:g} s"))
        return done

    def _collect(self, worker: Worker) -> tuple[Task, dict[str, Any]]:
        task = worker.task
        try:
            if worker.conn.poll():
                kind, result = worker.conn.recv()
                worker.task = None
                if result.pop("worker_exits", False) or not worker.process.is_alive():
                    worker.process.join(10)
                    self._replace(worker)
                return task, result
        except (EOFError, OSError):
            pass
        worker.process.join(5)
        status, message = classify_death(
            worker.process.exitcode, under_budget=self.config.memory_budget is not None
        )
        if status == "oom":
            message = f"{message} at batch size {task.row.get('batch_size')}"
        return self._fail(worker, status, message)

    def _fail(self, worker: Worker, status: str, message: str) -> tuple[Task, dict[str, Any]]:
        task = worker.task
        wall = round(time.monotonic() - task.started, 3)
        row = {**task.row, "status": status, "message": message, "wall_s": wall,
               "worker": worker.index}
        self._replace(worker)
        return task, {"row": row, "curves": []}

    def _next_deadline(self, busy: list[Worker]) -> float | None:
        if self.trial_timeout_s is None:
            return None
        return min(w.task.started for w in busy) + self.trial_timeout_s

    def _overdue(self, worker: Worker) -> bool:
        return (
            self.trial_timeout_s is not None
            and time.monotonic() - worker.task.started > self.trial_timeout_s
        )

    def close(self) -> None:
        for worker in self.workers:
            if worker.process is None:
                continue
            try:
                if worker.task is None:
                    worker.conn.send(("stop",))
            except OSError:
                pass
        for worker in self.workers:
            if worker.process is None:
                continue
            worker.process.join(2 if worker.task is None else 0)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(5)

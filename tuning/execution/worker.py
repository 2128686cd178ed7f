"""A long-lived worker process: TensorFlow is imported once, then trials arrive over a pipe.

Importing TensorFlow costs seconds, so a process per trial is too dear for small trials; but
after an out-of-memory failure a TensorFlow process is not reliably clean, so a worker exits
after one and the pool starts a fresh one.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import sys
import tempfile
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tuning.execution import memory
from tuning.execution.device import DevicePlan, apply, plan_device
from tuning.execution.memory import anonymous, main_thread_stack
from tuning.execution.messages import (
    Begin,
    CheckModel,
    ModelChecked,
    Outcome,
    ProbeTask,
    Ready,
    StartFailed,
    Stop,
    TrialTask,
)
from tuning.records.status import Status
from tuning.records.trials import MESSAGE, STATUS
from tuning.spec import tensorflow_import
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec
from tuning.spec.usercode import keep_traceback

log = logging.getLogger("tuning.worker")


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker process is started with; its budget, device and time limit are the
    spec's (`spec.resources`), the one place resources are read from."""

    spec: Spec
    index: int
    threads: int
    run_dir: str | None = None
    builder: bytes | None = None  # cloudpickled by the Python API; else the spec's reference
    data_dir: str | None = None  # the search's prepared rows, to map instead of loading


def configure_environment(config: WorkerConfig) -> None:
    """Environment that must be set before TensorFlow is imported."""
    if config.spec.resources.memory_budget is not None:
        # oneDNN's kernels turn an allocation failure into an AbortedError or a crash;
        # without them the same batch gives a clean ResourceExhaustedError.
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    if config.spec.resources.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ[name] = str(config.threads)


def start_tensorflow(config: WorkerConfig) -> tuple[Any, DevicePlan]:
    """Import and configure TensorFlow; returns (tf, the device plan it follows)."""
    tensorflow_import.quiet()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(config.threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(2, config.threads))
    resources = config.spec.resources
    plan = plan_device(resources.device, len(tf.config.list_physical_devices("GPU")),
                       resources.memory_budget, resources.mixed_precision)
    apply(tf, plan)
    return tf, plan


def warm_up(tf, charged: bool) -> None:
    """Train a throwaway model once before the first trial, where `charged`: under a CPU
    budget or on a GPU. Then freeze the objects alive now out of the garbage collector.

    TensorFlow creates its thread pools (and their stacks, which count against a data
    limit) on first use, Keras's first `fit` allocates what every later one reuses, and a
    GPU's first use sets up its libraries for seconds; a warm-up keeps all of that out of
    the first trial's budget, peak memory and wall time. Elsewhere the first use costs the
    first trial a fraction of a second and a few MiB (which the memory rule leaves out),
    while a throwaway fit costs every run about a second before training starts: there, only
    the freeze. TensorFlow's and Keras's own objects number hundreds of thousands, and every
    full collection would walk them again: about half a second per trial, during `fit` and
    after it.
    """
    if charged:
        import keras

        x = tf.zeros((8, 2))
        data = tf.data.Dataset.from_tensor_slices((x, tf.zeros((8,)))).batch(4).repeat()
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(data, steps_per_epoch=2, epochs=1, validation_data=(x, tf.zeros((8,))),
                  shuffle=False, verbose=0)
        model.evaluate(x, tf.zeros((8,)), verbose=0)
        del model, data
        keras.backend.clear_session()
        gc.collect()
    gc.freeze()


def _die_with_parent() -> None:
    """Ask Linux to kill this worker if the search process dies (even by SIGKILL), so no
    orphan goes on training for nobody."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _log_to_file(run_dir: str | None, index: int) -> str:
    """Send the worker's own output (TensorFlow's C++ messages, a crash's stack trace, the
    traceback of every failed trial) to `logs/worker-N.log` in the run directory (or the
    temporary folder, for probes, or when the run directory cannot be written: the search
    then stops on its own write with the cause). The terminal shows one line per trial.
    Returns the log's path as messages name it."""
    name = Path("logs") / f"worker-{index}.log"
    try:
        root = Path(run_dir) if run_dir is not None else None
        handle = _open_log(root / name) if root is not None else None
    except OSError:
        root = handle = None
    if handle is None:
        handle = _open_log(Path(tempfile.gettempdir()) / name)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    os.close(handle)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format=f"%(asctime)s worker-{index} %(levelname)s %(message)s")
    # The log is appended to by every start of the search in this directory (a resume, or
    # --fresh, whose workers open it before the earlier results are known to be discarded):
    # a line marks where each start's output begins.
    log.info("---- worker %d started, process %d ----", index, os.getpid())
    return str(name if root is not None else Path(tempfile.gettempdir()) / name)


def _open_log(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)


#: Keras keeps a few MB per model built and fitted in a long-lived process (a bare `fit` loop
#: shows the same); a worker whose own memory has grown this much since its first trial is
#: replaced. The first trial is the baseline, not the start: it fills TensorFlow's caches and
#: allocator once, by as much as the data is large, and that is not growth. Anonymous memory
#: is what counts: the pages of the mapped data are the operating system's to drop.
RECYCLE_AFTER_MB = 256


def _grown(settled: int | None, now: int | None) -> bool:
    limit = float(os.environ.get("STEPS_TUNER_RECYCLE_MB", RECYCLE_AFTER_MB)) * 2**20
    return settled is not None and now is not None and now - settled > limit


def _dataset(config: WorkerConfig):
    """The search's prepared rows, memory-mapped where the search wrote them; loaded from
    the spec's source where there are none (probes, keras-tuner's chief/worker mode)."""
    from tuning.data.dataset import load_dataset, open_prepared

    if config.data_dir is not None:
        return open_prepared(Path(config.data_dir))
    return load_dataset(config.spec)


def main(config: WorkerConfig, conn) -> None:
    """Entry point of the process: start, say `Ready`, then answer tasks until told to stop
    or the pipe closes. Anything that stops it from starting is sent as `StartFailed`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the search's to handle
    config = _absolute(config)
    main_thread_stack()
    _die_with_parent()
    configure_environment(config)
    with contextlib.suppress(Exception):  # a failure comes back below, where it is reported
        tensorflow_import.quiet()
    if not isinstance(_receive(conn), Begin):
        return  # the search ended before it began: bad input, or a run held elsewhere
    try:
        log_path = _log_to_file(config.run_dir, config.index)
    except OSError as exc:
        conn.send(StartFailed(f"cannot write the worker's log: {exc}", log=""))
        return
    try:
        tf, device = start_tensorflow(config)
        import keras_tuner as kt

        from tuning.execution.trial import Context, run_probe, run_trial
        from tuning.spec.builders import builder_from
        from tuning.training.hypermodel import StepsHyperModel

        budget = config.spec.resources.memory_budget
        hypermodel = StepsHyperModel(config.spec, _dataset(config),
                                     builder_from(config.spec, config.builder))
        ctx = Context(tf, device.use_gpu, budget, config.index, log_path,
                      None if config.run_dir is None else Path(config.run_dir))
        warm_up(tf, charged=budget is not None or device.use_gpu)
    except UserError as exc:  # the builder's module: the user's to fix, said as such
        log.error("start-up failed:\n%s", traceback.format_exc())
        # Refused input leaves no run directory behind, so the traceback goes where it stays.
        kept = keep_traceback(exc, "importing the builder's module")
        conn.send(StartFailed(exc.what, str(kept), key=exc.where))
        return
    except Exception as exc:  # reported to the search, which stops with the reason
        log.error("start-up failed:\n%s", traceback.format_exc())
        conn.send(StartFailed(f"{type(exc).__name__}: {exc}".splitlines()[0], log_path))
        return
    settled: int | None = None  # anonymous memory after the first trial
    enforced = budget is None or device.use_gpu or memory.data_footprint() is not None
    conn.send(Ready(os.getpid(), device.note, enforced, log_path))
    while True:
        match _receive(conn):
            case None:
                return
            case Stop():
                gc.freeze()  # exit in a blink, not after a second of tearing TensorFlow down
                return
            case TrialTask() as message:
                hp = kt.HyperParameters.from_config(message.hp_config)
                log.info("trial %s: %s", message.trial_id, hp.values)
                repeats = config.spec.search.executions_per_trial
                outcome = run_trial(hypermodel, hp, message, repeats, ctx)
                if config.run_dir is not None and outcome.row[STATUS] == Status.OK:
                    _tensorboard(config.run_dir, outcome, hp.values)
            case ProbeTask() as message:
                hp = kt.HyperParameters.from_config(message.hp_config)
                outcome = run_probe(hypermodel, hp, message, ctx)
            case CheckModel():
                conn.send(_checked(hypermodel))
                continue
            case other:
                raise TypeError(f"a worker cannot handle {type(other).__name__}")
        log.info("%s: %s %s", outcome.task_id, outcome.row[STATUS], outcome.row[MESSAGE])
        now = anonymous()
        exits = outcome.row[STATUS] == Status.OOM or _grown(settled, now)
        if settled is None:  # what the first trial left alive is Keras's, for good
            gc.freeze()
            settled = now
        conn.send(replace(outcome, worker_exits=exits))
        if exits:
            return


def _checked(hypermodel) -> ModelChecked:
    from tuning.training.model_check import check_model

    try:
        return ModelChecked(check_model(hypermodel))
    except UserError as exc:
        log.info("the model check failed: %s", exc)
        return ModelChecked(None, exc.where, exc.what)


def _absolute(config: WorkerConfig) -> WorkerConfig:
    """The run directory and the data as absolute paths: whatever directory the user's code
    moves to, every file of the trial lands in the one run directory. The data's path is not
    resolved: it is a link into the cache that the search points at this start's store only
    after the worker has started, and the worker must map that one, not the last start's."""
    run_dir = None if config.run_dir is None else str(Path(config.run_dir).resolve())
    data_dir = None if config.data_dir is None else str(Path(config.data_dir).absolute())
    return replace(config, run_dir=run_dir, data_dir=data_dir)


def _receive(conn) -> Any:
    """The next message, or None once the search has closed the pipe."""
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


def _tensorboard(run_dir: str, outcome: Outcome, hp_values: dict) -> None:
    """TensorBoard's copy of the trial is a convenience: failing to write it is logged,
    never a reason to lose the trial."""
    from tuning.training.tensorboard_log import log_trial

    try:
        log_trial(Path(run_dir), outcome.row, outcome.curves, hp_values)
    except Exception:  # the record itself is written by the search process
        log.warning("TensorBoard events for trial %s not written:\n%s", outcome.task_id,
                    traceback.format_exc())

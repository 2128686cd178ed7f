"""A long-lived worker process: TensorFlow is imported once, then trials arrive over a pipe.

Importing TensorFlow costs seconds, so a process per trial is too dear for small trials; but
after an out-of-memory failure a TensorFlow process is not reliably clean, so a worker exits
after one and the pool starts a fresh one.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tuning.execution.memory import main_thread_stack, resident
from tuning.spec import Spec


@dataclass(frozen=True)
class WorkerConfig:
    spec: Spec
    index: int
    threads: int
    memory_budget: int | None
    run_dir: str | None = None
    builder: bytes | None = None  # cloudpickled by the Python API; else the spec's reference


def quiet_tensorflow() -> None:
    """Import TensorFlow without its start-up chatter on stderr (absl and oneDNN notices
    written from C++, which no Python logging setting reaches)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def configure_environment(config: WorkerConfig) -> None:
    """Environment that must be set before TensorFlow is imported."""
    if config.memory_budget is not None:
        # oneDNN's kernels turn an allocation failure into an AbortedError or a crash;
        # without them the same batch gives a clean ResourceExhaustedError.
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    if config.spec.resources.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ[name] = str(config.threads)


def start_tensorflow(config: WorkerConfig):
    """Import and configure TensorFlow; returns (tf, on_gpu)."""
    quiet_tensorflow()
    import tensorflow as tf

    from tuning.execution.device import apply, plan_device

    tf.config.threading.set_intra_op_parallelism_threads(config.threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(2, config.threads))
    resources = config.spec.resources
    plan = plan_device(resources.device, len(tf.config.list_physical_devices("GPU")),
                       config.memory_budget, resources.mixed_precision)
    apply(tf, plan)
    return tf, plan.use_gpu


def warm_up(tf) -> None:
    """Train a throwaway model once before any budget applies.

    TensorFlow creates its thread pools (and their stacks, which count against a data
    limit) on first use; doing that here keeps them out of the first trial's budget and
    its wall time. Then the objects alive now (TensorFlow's and Keras's own, hundreds of
    thousands) are frozen out of the garbage collector: every full collection would walk
    them again, which cost about half a second per trial here, during `fit` and after it.
    """
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


def _log_to_file(run_dir: str | None, index: int) -> None:
    """Send the worker's own output (TensorFlow's C++ messages, a crash's stack trace) to
    `logs/worker-N.log` in the run directory (or the temporary folder, for probes): the
    terminal shows one line per trial."""
    folder = Path(run_dir if run_dir is not None else tempfile.gettempdir()) / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder / f"worker-{index}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    os.close(handle)


#: Keras keeps a few MB per model built and fitted in a long-lived process (a bare `fit` loop
#: shows the same); a worker that has grown this much since it started is replaced.
RECYCLE_AFTER_MB = 256


def _grown(fresh_rss: int | None) -> bool:
    limit = float(os.environ.get("STEPS_TUNER_RECYCLE_MB", RECYCLE_AFTER_MB)) * 2**20
    now = resident()
    return fresh_rss is not None and now is not None and now - fresh_rss > limit


def main(config: WorkerConfig, conn) -> None:
    """Entry point of the process: answer tasks until told to stop or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the search's to handle
    main_thread_stack()
    _die_with_parent()
    _log_to_file(config.run_dir, config.index)
    configure_environment(config)
    try:
        tf, on_gpu = start_tensorflow(config)
        import keras_tuner as kt

        from tuning.builders import builder_from
        from tuning.data import load_dataset
        from tuning.execution.probe import probe_batch
        from tuning.execution.trial import Context, run_trial
        from tuning.hypermodel import StepsHyperModel
        from tuning.tensorboard_log import log_trial

        hypermodel = StepsHyperModel(config.spec, load_dataset(config.spec),
                                     builder_from(config.spec, config.builder))
        ctx = Context(tf, on_gpu, config.memory_budget, config.index)
    except Exception as exc:  # reported to the search, which stops with the reason
        conn.send(("fatal", f"{type(exc).__name__}: {exc}"))
        return
    warm_up(tf)
    fresh_rss = resident()
    conn.send(("ready", {"pid": os.getpid(), "gpu": on_gpu}))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task[0] == "stop":
            return
        kind, task_id, hp_config, argument = task
        hp = kt.HyperParameters.from_config(hp_config)
        if kind == "probe":
            result = probe_batch(hypermodel, hp, task_id, argument, ctx)
        else:
            repeats = config.spec.search.executions_per_trial
            result = run_trial(hypermodel, hp, task_id, argument, repeats, ctx)
            if config.run_dir is not None and result["row"]["status"] == "ok":
                log_trial(Path(config.run_dir), result["row"], result["curves"], hp.values)
        result["worker_exits"] = result["row"]["status"] == "oom" or _grown(fresh_rss)
        conn.send(("result", result))
        if result["worker_exits"]:
            return


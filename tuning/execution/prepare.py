"""What every command that trains does first: check the inputs, load the model's search
space, and make the tuner and the worker pool.

Everything a user can get wrong (spec, data, builder, the model's output size) is checked
here, before a run directory is created or touched, and raised as a `UserError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tuning.data import cache
from tuning.data.dataset import Dataset, load_dataset
from tuning.execution.capacity import worker_count
from tuning.execution.pool import WorkerPool, threads_per_worker
from tuning.execution.worker import WorkerConfig
from tuning.spec import tensorflow_import
from tuning.spec.builders import builder_from, check_builder
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec
from tuning.spec.usercode import LeftUserCode, UserCodeTimeout, contained, keep_traceback

TUNER_DIR = "tuner"
#: How long the builder may take to build the model once, when the spec sets no per-trial
#: limit (`resources.trial_timeout_s`, which it obeys otherwise): far beyond any model
#: built from code, short enough that a builder that waits on something never comes back.
CHECK_BUILD_LIMIT_S = 120.0


@dataclass
class Prepared:
    """What every process of a search loads first: data, HyperModel, searched names."""

    spec: Spec
    dataset: Dataset
    hypermodel: Any
    hp_names: list[str]


def check_inputs(spec: Spec, builder_given: bool = False, folder: Path | None = None) -> Dataset:
    """What can be checked without TensorFlow: the data (the cached store where the same
    content was prepared before, else prepared into a store at `folder`, a temporary one by
    default) and the builder's reference (unless the Python API handed over the builder)."""
    dataset = cache.open_cached(spec) or load_dataset(spec, folder)  # a source is read once
    if not builder_given:
        check_builder(spec)
    return dataset


def prepare(spec: Spec, dataset: Dataset | None = None,
            builder: bytes | None = None) -> Prepared:
    """Load the data and the model's search space, build the model once; raises
    UserError, writes nothing. `builder` is one the Python API pickled, else the spec's."""
    dataset = dataset if dataset is not None else check_inputs(spec)
    print(f"{spec.name}: {len(dataset.pool)} training/validation rows, "
          f"{len(dataset.holdout)} holdout rows; loading TensorFlow ...", flush=True)
    for warning in dataset.warnings:
        print(f"warning: {warning}", flush=True)
    tensorflow_import.wait()  # the search's own, started in the background
    tensorflow_import.quiet()
    from tuning.execution.oracles import make_oracle
    from tuning.training.hypermodel import StepsHyperModel

    limit = spec.resources.trial_timeout_s or CHECK_BUILD_LIMIT_S
    try:
        with contained("the builder", limit):
            hypermodel = StepsHyperModel(spec, dataset, builder_from(spec, builder))
            hp = make_oracle(spec).get_space()
            hypermodel.declare_hyperparameters(hp)
            model = hypermodel.build(hp)
            shape = output_shape(model, np.asarray(dataset.x[dataset.pool[:2]], np.float32))
    except UserError:
        raise
    except UserCodeTimeout as exc:
        raise UserError("model.builder", f"{exc} building the model once to check it (the "
                                         "limit is resources.trial_timeout_s, else "
                                         f"{CHECK_BUILD_LIMIT_S:g} s)") from None
    except Exception as exc:  # the user's builder failing is a user error, named as such
        log = keep_traceback(exc, f"building the model of {spec.path}")
        what = str(exc) if isinstance(exc, LeftUserCode) else f"{type(exc).__name__}: {exc}"
        raise UserError("model.builder", f"building the model failed: {what}".splitlines()[0]
                                         + f" (traceback in {log})") from exc
    check_outputs(spec, model, shape, dataset.n_outputs)
    return Prepared(spec, dataset, hypermodel, [h.name for h in hp.space])


def output_shape(model, sample) -> tuple | list | None:
    """The model's output shape; a model with no symbolic output (subclassed, or
    Sequential without an Input) is called once on a sample batch to learn it."""
    try:
        return model.output_shape
    except (AttributeError, ValueError):
        pass
    import tensorflow as tf

    out = model(tf.constant(sample), training=False)
    if isinstance(out, list | tuple | dict):
        return [tuple(o.shape) for o in (out.values() if isinstance(out, dict) else out)]
    return tuple(out.shape)


def check_outputs(spec: Spec, model, shape: tuple | list | None, n_outputs: int) -> None:
    """The model's last layer must match the data: one unit per class (or one for a
    regression). A mismatch otherwise fails every trial with a TensorFlow node name, or,
    with more units than classes, trains silently on a wrong head."""
    if isinstance(shape, list) or not isinstance(shape, tuple):
        raise UserError("model.builder", f"the model has {len(shape or ())} outputs; give it one")
    units = shape[-1]
    if units is None or units == n_outputs:
        return
    # One sigmoid unit for two classes, compiled by the user with a binary loss, is fine.
    if units == 1 and n_outputs == 2 and model.loss != "sparse_categorical_crossentropy":
        return
    what = f"{n_outputs} classes" if spec.model.task == "classification" else "one target"
    raise UserError("model.builder", f"the model ends in {units} unit(s) but the data has "
                                     f"{what}; end it with {n_outputs} (the builder's n_outputs)")


def make_tuner(prepared: Prepared, run_dir: Path, max_trials: int | None, fresh: bool):
    """keras-tuner's BaseTuner over the spec's Oracle: it owns the project directory and
    reloads the Oracle on resume; under chief/worker environment variables its Oracle is
    the chief's, reached over gRPC."""
    from keras_tuner.engine.base_tuner import BaseTuner

    from tuning.execution.oracles import make_oracle

    oracle = make_oracle(prepared.spec, max_trials)
    oracle.verbose = 0
    try:  # keras-tuner builds the model again, once per branch of the conditions
        with contained("the builder"):
            return BaseTuner(oracle=oracle, hypermodel=prepared.hypermodel,
                             directory=str(run_dir), project_name=TUNER_DIR, overwrite=fresh)
    except LeftUserCode as exc:
        raise UserError("model.builder", str(exc)) from exc


def make_pool(spec: Spec, run_dir: Path | None, threads: int | None = None,
              size: int | None = None, builder: bytes | None = None,
              data_dir: str | None = None) -> WorkerPool:
    """`size` workers (the spec's `resources.workers` by default), each with its share of
    the cores unless `threads` says otherwise; with `data_dir`, they map the search's
    prepared rows there instead of loading the source."""
    size = size or worker_count(spec).count
    config = WorkerConfig(spec=spec, index=0, threads=threads or threads_per_worker(size),
                          run_dir=None if run_dir is None else str(run_dir), builder=builder,
                          data_dir=data_dir)
    return WorkerPool(config, size)

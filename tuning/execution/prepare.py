"""What every command that trains does first: check the inputs, load the model's search
space, and make the tuner and the worker pool.

Everything a user can get wrong (spec, data, builder, the model's output size) is checked
here, before the search starts, and raised as a `UserError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tuning.data import cache
from tuning.data.dataset import Dataset, load_dataset
from tuning.execution.capacity import worker_count
from tuning.execution.pool import WorkerPool, threads_per_worker
from tuning.execution.worker import WorkerConfig
from tuning.spec import tensorflow_import
from tuning.spec.builders import builder_from, check_builder
from tuning.spec.schema import Spec
from tuning.spec.space import ModelSpace
from tuning.spec.usercode import check_limit
from tuning.training.budget import TrialPlanner

TUNER_DIR = "tuner"


@dataclass
class Prepared:
    """What every process of a search loads first: the data, the search space, and what
    plans each trial."""

    spec: Spec
    dataset: Dataset
    space: ModelSpace

    @property
    def planner(self) -> TrialPlanner:
        return TrialPlanner(self.spec, self.dataset)

    @property
    def hp_names(self) -> list[str]:
        return self.space.names


def check_inputs(spec: Spec, builder_given: bool = False, folder: Path | None = None) -> Dataset:
    """What can be checked without TensorFlow: the data (the cached store where the same
    content was prepared before, else prepared into a store at `folder`, a temporary one by
    default) and the builder's reference (unless the Python API handed over the builder)."""
    dataset = cache.open_cached(spec) or load_dataset(spec, folder)  # a source is read once
    if not builder_given:
        check_builder(spec)
    return dataset


def prepare(spec: Spec, dataset: Dataset | None = None, builder: bytes | None = None,
            pool: WorkerPool | None = None) -> Prepared:
    """Load the data, build the model once to check it and learn its search space; raises
    UserError, writes nothing. The model is built by the first worker of `pool` (begun:
    this process then never imports Keras), else here. `builder` is one the Python API
    pickled, else the spec's."""
    dataset = dataset if dataset is not None else check_inputs(spec)
    where = "in a worker" if pool is not None else "loading TensorFlow"
    print(f"{spec.name}: {len(dataset.pool)} training/validation rows, "
          f"{len(dataset.holdout)} holdout rows; building the model once ({where}) ...",
          flush=True)
    for warning in dataset.warnings:
        print(f"warning: {warning}", flush=True)
    if pool is not None:
        space = pool.check_model(check_limit(spec))
    else:
        space = _check_here(spec, dataset, builder)
    return Prepared(spec, dataset, space)


def _check_here(spec: Spec, dataset: Dataset, builder: bytes | None) -> ModelSpace:
    """The check in this process (keras-tuner's chief, which has no workers)."""
    tensorflow_import.quiet()
    from tuning.training.hypermodel import StepsHyperModel
    from tuning.training.model_check import check_model

    return check_model(StepsHyperModel(spec, dataset, builder_from(spec, builder)))


def make_tuner(prepared: Prepared, run_dir: Path, max_trials: int | None, fresh: bool):
    """keras-tuner's BaseTuner over the spec's Oracle, whose space is the checked one: it
    owns the project directory and reloads the Oracle on resume; under chief/worker
    environment variables its Oracle is the chief's, reached over gRPC. It has no
    HyperModel: nothing is built in this process."""
    import keras_tuner as kt
    from keras_tuner.engine.base_tuner import BaseTuner

    from tuning.execution.oracles import make_oracle

    oracle = make_oracle(prepared.spec, max_trials)
    oracle.verbose = 0
    oracle.update_space(kt.HyperParameters.from_config(prepared.space.config))
    return BaseTuner(oracle=oracle, directory=str(run_dir), project_name=TUNER_DIR,
                     overwrite=fresh)


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

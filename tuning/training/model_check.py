"""Building the model once before a search: its output against the data, and the search
space its builder declares (where it runs: a worker, or the process of keras-tuner's chief).

Everything the user's builder can get wrong is raised as a `UserError` naming
`model.builder`; the traceback goes to a log file that the message names.
"""

from __future__ import annotations

import types

import keras_tuner as kt
import numpy as np
from keras_tuner.engine.base_tuner import BaseTuner

from tuning.spec.builders import BUILDER_KEY
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec
from tuning.spec.space import ModelSpace
from tuning.spec.usercode import (
    CHECK_BUILD_LIMIT_S,
    LeftUserCode,
    UserCodeTimeout,
    check_limit,
    contained,
    keep_traceback,
)
from tuning.training.hypermodel import StepsHyperModel


def check_model(hypermodel: StepsHyperModel) -> ModelSpace:
    """Build the model once (within `check_limit`) and check its output; then build it
    once per conditional branch of the builder's own hyperparameters, as keras-tuner's
    tuner does, to learn them all. Raises UserError."""
    spec, dataset = hypermodel.spec, hypermodel.dataset
    limit = check_limit(spec)
    try:
        with contained("the builder", limit):
            hp = kt.HyperParameters()
            hypermodel.declare_hyperparameters(hp)
            model = hypermodel.build(hp)
            names = [h.name for h in hp.space]
            shape = output_shape(model, np.asarray(dataset.x[dataset.pool[:2]], np.float32))
            check_outputs(spec, model, shape, dataset.n_outputs)
            space = every_branch(hypermodel)
    except UserError:
        raise
    except UserCodeTimeout as exc:
        raise UserError(BUILDER_KEY, f"{exc} building the model once to check it (the limit is "
                             "resources.trial_timeout_s, else "
                             f"{CHECK_BUILD_LIMIT_S:g} s)") from None
    except Exception as exc:  # the user's builder failing is a user error, named as such
        log = keep_traceback(exc, f"building the model of {spec.path}")
        what = str(exc) if isinstance(exc, LeftUserCode) else f"{type(exc).__name__}: {exc}"
        raise UserError(BUILDER_KEY, f"building the model failed: {what}".splitlines()[0]
                             + f" (traceback in {log})") from exc
    return ModelSpace(space.get_config(), names)


def every_branch(hypermodel: StepsHyperModel) -> kt.HyperParameters:
    """The whole space, through keras-tuner's own walk over the conditional scopes (which
    builds the model again for each branch it has not seen active)."""
    oracle = kt.Oracle(objective=kt.Objective("loss", "min"), max_trials=1)
    hp = oracle.get_space()
    hypermodel.declare_hyperparameters(hp)
    oracle.update_space(hp)
    BaseTuner._activate_all_conditions(types.SimpleNamespace(oracle=oracle,
                                                             hypermodel=hypermodel))
    return oracle.get_space()


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
        raise UserError(BUILDER_KEY, f"the model has {len(shape or ())} outputs; give it one")
    units = shape[-1]
    if units is None or units == n_outputs:
        return
    # One sigmoid unit for two classes, compiled by the user with a binary loss, is fine.
    if units == 1 and n_outputs == 2 and model.loss != "sparse_categorical_crossentropy":
        return
    what = f"{n_outputs} classes" if spec.model.task == "classification" else "one target"
    raise UserError(BUILDER_KEY, f"the model ends in {units} unit(s) but the data has "
                         f"{what}; end it with {n_outputs} (the builder's n_outputs)")

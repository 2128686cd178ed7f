"""keras-tuner in a process that trains nothing, without TensorFlow.

The search process uses keras-tuner only for its Oracles (what to try next), its
HyperParameters and its project files; the models are built and trained in the workers.
keras-tuner 1.4.8 imports Keras at its top, though, and Keras imports its backend: about
250 MiB of private memory and seconds of a core in a process that never runs an op, on a
machine whose cores the workers want. `install` puts a stand-in `keras` module in its place
that gives keras-tuner what its Oracles touch: a version (Keras 3), a backend name other than
TensorFlow (so that its file functions use `os`, not `tf.io.gfile`: the same files), the
legacy `{"class_name", "config"}` serialization of its hyperparameters (what real Keras
writes, so the workers read the same configs), the metric names it infers a direction from,
and the base classes its modules subclass when they are imported. A process that has
imported Keras already keeps the real one.

Only processes of the tool's own install it (the command line's search), never a user's
process (the Python API), where a later `import keras` must be the real one.
"""

from __future__ import annotations

import sys
import types
from importlib import metadata
from typing import Any

#: What the stand-in says its backend is: anything but "tensorflow".
BACKEND = "none"


def install() -> bool:
    """Stand in for Keras, unless Keras or keras-tuner is imported already; True if it did."""
    if "keras" in sys.modules or "keras_tuner" in sys.modules:
        return False
    modules = _modules()
    sys.modules.update(modules)
    return True


def active() -> bool:
    """Whether this process's `keras` is the stand-in."""
    return getattr(sys.modules.get("keras"), "STAND_IN", False)


#: The Keras modules keras-tuner names (`from keras import *` takes these).
_NAMED = ("applications", "backend", "callbacks", "layers", "losses", "metrics", "models",
          "optimizers", "saving", "utils")


def _modules() -> dict[str, types.ModuleType]:
    keras = _Lenient("keras", "A stand-in for Keras: see tuning.execution.keras_stand_in")
    keras.STAND_IN = True
    keras.__version__ = _version()
    keras.version = lambda: keras.__version__
    keras.__all__ = list(_NAMED)
    modules = {"keras": keras}
    for name in (*_NAMED, "config", "random", "src", "src.ops", "utils.legacy"):
        parent, _, leaf = f"keras.{name}".rpartition(".")
        module = modules[f"keras.{name}"] = _Lenient(f"keras.{name}")
        setattr(modules[parent], leaf, module)
    keras.config.backend = lambda: BACKEND
    keras.utils.legacy.serialize_keras_object = _serialize
    keras.utils.legacy.deserialize_keras_object = _deserialize
    keras.saving.register_keras_serializable = lambda **kwargs: _unchanged
    keras.backend.clear_session = lambda *args, **kwargs: None
    # keras-tuner infers a reported metric's direction from the object Keras makes of its
    # name: the stand-in hands back the name of the class or function Keras would make.
    keras.metrics.deserialize = _canonical
    keras.losses.deserialize = _canonical
    return modules


class _Lenient(types.ModuleType):
    """A module that names a stand-in class for any capitalised name asked of it (a layer or
    callback keras-tuner subclasses or lists at import, never used here), a stand-in module
    for any other."""

    __path__: list[str] = []  # a package: its submodules import

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = type(name, (), {}) if name[:1].isupper() else _Lenient(f"{self.__name__}.{name}")
        setattr(self, name, value)
        return value


def _canonical(name: str) -> str:
    """One of keras-tuner's names of metrics to maximise where `name` is one spelled
    another way ("auc": "AUC", as Keras makes `keras.metrics.AUC` of it), else `name`,
    which it takes to be minimised (real Keras knows more names, all of them minimised
    here too, and refuses the rest, which keras-tuner then minimises)."""
    from keras_tuner.src.engine import metrics_tracking

    def key(text: str) -> str:
        return text.replace("_", "").lower()

    known = (*metrics_tracking._MAX_METRIC_FNS, *metrics_tracking._MAX_METRICS)
    return next((known_name for known_name in known if key(known_name) == key(name)), name)


def _unchanged(cls: type) -> type:
    return cls


def _version() -> str:
    try:
        return metadata.version("keras")
    except metadata.PackageNotFoundError:
        return "3.0.0"


def _serialize(obj: Any) -> dict[str, Any]:
    """Keras's legacy form of an object with a config."""
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def _deserialize(config: dict[str, Any], custom_objects: dict | None = None,
                 module_objects: dict | None = None) -> Any:
    """The inverse, among the classes keras-tuner names (its hyperparameters, conditions)."""
    known = {**(module_objects or {}), **(custom_objects or {})}
    cls = known.get(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown class {config['class_name']!r}")
    return cls.from_config(config["config"])

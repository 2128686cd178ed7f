"""steps-tuner: find the right steps_per_epoch and validation_split for a Keras model.

`tuning.search(...)` runs a search from Python, `tuning.load(run_dir)` reads a finished one,
`tuning.SpecError` is what bad input raises. They are imported on first use, so
`import tuning` stays instant and loads no TensorFlow.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Result", "SpecError", "load", "search"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tuning import api

        return getattr(api, name)
    raise AttributeError(f"module 'tuning' has no attribute {name!r}")

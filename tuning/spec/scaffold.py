"""`new NAME`: a starting spec that already validates, every key explained in a comment.

A new search space is a new TOML file; starting from one that runs as written, with the
choices spelled out beside each key, makes that a matter of editing values, not reading docs.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from tuning.spec.errors import UserError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

_TEMPLATE = Template("""\
# $name: a search over steps_per_epoch and validation_split (and anything else you add).
# Check it:  python -m tuning validate $path
# Run it:    python -m tuning run $path

[experiment]
# The name also names the run directory: results/$name/
name = "$name"
seed = 0                            # one seed for the shuffle, the splits and the weights
description = ""                    # optional, shown in the report

[data]
source = "sklearn:digits"           # sklearn:digits|wine|breast_cancer|iris|diabetes,
                                    # "csv:data/my.csv" (then target = "label column") or
                                    # "npz:my.npz" (arrays x and y); paths are relative to this file
holdout = 0.2                       # the fixed test set every trial is ranked on, never trained on

[model]
builder = "tuning.models:mlp"       # "module:function"; shipped: tuning.models:mlp, :cnn,
                                    # :regression_mlp; your own module may sit beside this file
                                    # (see experiments/my_builders.py)
task = "classification"             # or "regression"
metric = "accuracy"                 # classification: accuracy; regression: mae or mse

[budget]
# "partition": batch = training rows / steps_per_epoch, and an epoch is one pass.
# "stream": a fixed batch_size, and an epoch is steps_per_epoch batches of a shuffled,
# repeating stream (an epoch is then a checkpoint, not a pass).
semantics = "partition"
epochs = 10
# max_steps = 2000                  # optional: stop at whichever of epochs or max_steps ends first
# batch_size = 32                   # stream semantics only (it may also be searched below)

[search]
tuner = "grid"                      # grid | random | bayesian | hyperband
# max_trials = 20                   # the most trials to run (random, bayesian: default 20)
objective = "holdout_accuracy"      # holdout_<metric>, holdout_loss, val_<metric> or val_loss

[search.space]
# A list of values, or a range { min = 1, max = 256, sampling = "log" } (ranges need
# tuner = "random" or "bayesian", or a step for the grid).
steps_per_epoch = [4, 16, 64]
validation_split = [0.1, 0.2]
# Every other name reaches the builder (read it with hp.values.get("units", 64)); batch_size
# and shuffle go to training, learning_rate to the Adam optimizer the tool compiles with:
# learning_rate = [1e-3, 1e-2]
# units = [32, 128]
# A conditional name is searched only while another one has a given value:
# activation = ["relu", "tanh"]
# dropout = { values = [0.1, 0.3], when = { activation = "relu" } }

[resources]
device = "auto"                     # auto | gpu | cpu
# memory_budget = "2GiB"            # per-trial cap, enforced: a trial over it is recorded as oom
workers = "auto"                    # trials at once: "auto" (by cores, memory, GPUs) or a number
""")


def write_spec(name: str, directory: Path) -> Path:
    """Write `directory/NAME.toml`; refuses a name that cannot be a file or run directory,
    and never overwrites a spec that is already there."""
    if not _NAME.fullmatch(name):
        raise UserError(
            name, "not a usable name: use letters, digits, '-' and '_', starting with a letter "
            "or digit (it names the spec file and the run directory)"
        )
    path = Path(directory) / f"{name}.toml"
    if path.exists():
        raise UserError(str(path), "already exists; pick another name or edit that file")
    for folder in (path.parent, *path.parent.parents):
        if folder.exists() and not folder.is_dir():
            raise UserError("--dir", f"{folder} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_TEMPLATE.substitute(name=name, path=path), encoding="utf-8")
    except OSError as exc:
        raise UserError("--dir", f"cannot write {path}: {exc.strerror or exc}") from exc
    return path

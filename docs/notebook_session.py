# %% [markdown]
# # steps-tuner from a notebook
#
# A notebook session, one `# %%` cell at a time: your own data and your own model, defined
# right here, searched by `tuning.search`, results back as pandas DataFrames. Run it whole
# with `python docs/notebook_session.py` (it writes into `results/` under the current folder).
# A script needs no `if __name__ == "__main__":` guard for the worker processes.

# %%
import numpy as np

import tuning

# %% [markdown]
# Data already in memory: any `(x, y)` arrays.

# %%
rng = np.random.default_rng(0)
x = rng.normal(size=(600, 8)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("int64")

# %% [markdown]
# A builder is any function `build(hp, input_shape, n_outputs) -> keras.Model`; one defined
# in the notebook reaches the worker processes pickled (cloudpickle). Returned uncompiled, it
# is compiled with the task's loss, the spec's metric and Adam.

# %%
import keras  # noqa: E402


def build(hp, input_shape, n_outputs):
    units = int(hp.values.get("units", 16))
    return keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Flatten(),
        keras.layers.Dense(units, activation="relu"),
        keras.layers.Dense(n_outputs, activation="softmax"),
    ])


# %% [markdown]
# The spec is a dict of the TOML file's tables (or a path to such a file). With `data=`
# there is no `[data] source`; the holdout is still cut by the tool, seeded and stratified.

# %%
spec = {
    "experiment": {"name": "notebook", "seed": 0},
    "data": {"holdout": 0.2},
    "budget": {"epochs": 2},
    "search": {"tuner": "grid",
               "space": {"steps_per_epoch": [4, 16], "validation_split": [0.2]}},
}
result = tuning.search(spec, builder=build, data=(x, y), out="results/notebook-arrays",
                       workers=1)
print(result.trials[["trial_id", "status", "steps_per_epoch", "batch_size",
                     "holdout_accuracy"]].to_string(index=False))
print(result.curves.groupby("trial_id").val_loss.min())
print("report:", result.report)

# %% [markdown]
# A `tf.data` pipeline: Keras refuses `validation_split` on one; here it is read once, to its
# end, and the holdout and each trial's validation split are taken from it like arrays. It
# must be finite (no `.repeat()`); batched or not, as you like.

# %%
import tensorflow as tf  # noqa: E402

pipeline = (tf.data.Dataset.from_tensor_slices((x, y))
            .map(lambda features, label: (features * 2.0, label))
            .batch(64))
result = tuning.search(spec, builder=build, data=pipeline, out="results/notebook-pipeline",
                       workers=2)
print(result.trials[["trial_id", "status", "worker", "holdout_accuracy"]].to_string(index=False))

# %% [markdown]
# An image folder: one subfolder per class, read by Keras's own directory loader at the
# spec's `image_size`. (This cell first writes a small folder of dark and light pictures.)

# %%
from pathlib import Path  # noqa: E402

from matplotlib.image import imsave  # noqa: E402

for name, level in (("dark", 0.2), ("light", 0.8)):
    folder = Path("pictures") / name
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(30):
        imsave(folder / f"{i}.png", np.clip(level + rng.normal(0, 0.1, (20, 20, 3)), 0, 1))

image_spec = {**spec, "data": {"source": "images:pictures", "image_size": [16, 16],
                               "holdout": 0.2}}
result = tuning.search(image_spec, builder=build, out="results/notebook-images")
print(result.trials[["trial_id", "status", "holdout_accuracy"]].to_string(index=False))

# %% [markdown]
# Later, in another session: the same results, without TensorFlow.

# %%
again = tuning.load("results/notebook-arrays")
print(f"{len(again.trials)} trials, {len(again.curves)} curve rows, summary: {again.summary}")

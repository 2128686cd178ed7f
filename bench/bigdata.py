"""An image folder larger than a search reads in one pass, against a bare Keras loop.

The case: a folder of PNG files the benchmark writes (96 x 96 x 3, two class subfolders, a
label a small CNN can learn: how bright the picture is), four trials of the same small CNN
under stream semantics (a fixed batch, `steps_per_epoch` batches an epoch, far fewer than one
pass over the training rows). Contenders, each a fresh process tree timed from start to exit,
preparation included:

- `bare_fit`: one process reads the folder with `keras.utils.image_dataset_from_directory`
  (the holdout as its validation subset), and per configuration fits on the repeating
  training set with the same `steps_per_epoch`, epochs and batch, validating each epoch on as
  many rows as the search does, then scores the holdout: what a user's own loop does;
- `steps_tuner`: `python -m tuning run` with one worker on the same files, with a cache of
  its own, so every run decodes the folder into its store as a first run does;
- `steps_tuner_doubled`: the same search on a folder twice as large (the first folder's files
  and as many more), which a bounded footprint keeps at the same peak.

Memory is sampled every half second over the whole process tree (`bench.data.measure`):
`footprint_mb` adds the processes' proportional set sizes, memory-mapped files' resident
pages included (the store's, and the files a bare loop reads), `private_mb` only what no file
backs. Goals: a peak footprint of at most 1.5 GiB, changing by less than 10% when the folder
doubles; wall time at most 1.10 times the bare loop's.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import ROOT, print_table, write_csv
from bench.data import measure
from tuning.spec.tomlwrite import to_toml

IMAGES = 60_000
SIDE = 96
STEPS = (20, 40, 60, 80)
BATCH = 32
EPOCHS = 2
HOLDOUT = 0.2
SPLIT = 0.1
SEED = 7
CLASSES = ("bright", "dark")


def small_cnn(hp: Any, input_shape: tuple[int, ...], n_outputs: int):
    """The builder both contenders train: pixels scaled by Keras, two strided convolutions."""
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(n_outputs, activation="softmax")(x))


def write_folder(folder: Path, images: int, start: int = 0) -> Path:
    """`images` PNG files numbered from `start`, each a seeded smooth picture whose mean
    brightness says its class; written on every core (files already there are kept: the
    same number makes the same picture)."""
    for name in CLASSES:
        (folder / name).mkdir(parents=True, exist_ok=True)
    parts = np.array_split(np.arange(start, start + images), os.cpu_count() or 1)
    # Spawned, not forked: a fork of a process that has loaded gRPC or TensorFlow (a test's)
    # may crash on its way out.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(parts), mp_context=spawn) as pool:
        list(pool.map(_write_pngs, [str(folder)] * len(parts), [p.tolist() for p in parts]))
    return folder


def _write_pngs(folder: str, numbers: list[int]) -> None:
    from PIL import Image

    ramp = np.linspace(0, 60, SIDE, dtype=np.float32)
    for number in numbers:
        rng = np.random.default_rng((SEED, number))
        level = rng.uniform(40, 200)
        tint = ramp[None, :, None] * rng.uniform(-1, 1, 3)
        picture = level + tint + rng.normal(0, 4, (SIDE, SIDE, 3))
        pixels = np.clip(picture, 0, 255).astype(np.uint8)
        path = Path(folder) / (CLASSES[0] if level > 120 else CLASSES[1]) / f"{number:07d}.png"
        if not path.is_file():
            Image.fromarray(pixels).save(path, compress_level=1)


def bare(folder: str, steps: tuple[int, ...] = STEPS, epochs: int = EPOCHS) -> None:
    """The bare loop, run in its own process (`python -c`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    train, holdout = keras.utils.image_dataset_from_directory(
        folder, image_size=(SIDE, SIDE), batch_size=BATCH, validation_split=HOLDOUT,
        subset="both", seed=SEED, verbose=False)
    val_batches = max(1, round(SPLIT * len(train)))
    validation, train = train.take(val_batches), train.skip(val_batches).repeat()
    for trial, steps_per_epoch in enumerate(steps):
        keras.utils.set_random_seed(trial)
        model = small_cnn(None, (SIDE, SIDE, 3), len(CLASSES))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(train, steps_per_epoch=steps_per_epoch, epochs=epochs,
                  validation_data=validation, verbose=0)
        model.evaluate(holdout, verbose=0)
        keras.backend.clear_session()


def spec_for(folder: Path) -> dict[str, Any]:
    return {
        "experiment": {"name": "bigdata-bench", "seed": SEED},
        "data": {"source": f"images:{folder}", "image_size": [SIDE, SIDE],
                 "holdout": HOLDOUT, "test": 0},
        "model": {"builder": "bench.bigdata:small_cnn"},
        "budget": {"semantics": "stream", "epochs": EPOCHS, "batch_size": BATCH},
        "search": {"tuner": "grid", "confirm_runs": 0,
                   "space": {"steps_per_epoch": list(STEPS), "validation_split": [SPLIT]}},
        "resources": {"device": "cpu", "workers": 1},
    }


def run(images: int = IMAGES, repeats: int = 1, folder: Path | None = None,
        results: Path | None = None) -> list[dict[str, Any]]:
    """Write the folder (and its double), then `repeats` rounds of bare loop, search, search
    on the doubled folder, bare loop; writes bigdata.csv and prints the rounds."""
    work = Path(folder or tempfile.mkdtemp(prefix="bench-bigdata-"))
    work.mkdir(parents=True, exist_ok=True)
    single, double = work / "images", work / "images2"
    print(f"bigdata: writing {images:,} and {2 * images:,} PNG files ...", flush=True)
    write_folder(single, images)
    shutil.copytree(single, double, dirs_exist_ok=True)
    write_folder(double, images, start=images)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    bare_command = [sys.executable, "-c",
                    f"from bench.bigdata import bare; bare({str(single)!r})"]
    order: list[tuple[str, int, list[str]]] = [("bare_fit_1", images, bare_command)]
    for name, source, rows in (("steps_tuner", single, images),
                               ("steps_tuner_doubled", double, 2 * images)):
        spec = work / f"{name}.toml"
        spec.write_text(to_toml(spec_for(source)))
        order.append((name, rows, [sys.executable, "-m", "tuning", "run", str(spec),
                                   "--out", str(work / "runs" / name), "--fresh"]))
    order.append(("bare_fit_2", images, bare_command))
    rows_out: list[dict[str, Any]] = []
    for round_ in range(1, repeats + 1):
        measured = []
        for name, rows, command in order:
            print(f"bigdata: round {round_}/{repeats}: {name} ...", flush=True)
            cache = work / "cache"
            shutil.rmtree(cache, ignore_errors=True)  # every search prepares its store
            measured.append({"round": round_, "contender": name, "images": rows,
                             **measure(command, {**env, "STEPS_TUNER_CACHE": str(cache)})})
        rows_out += ratios(measured)
    write_csv("bigdata", rows_out, *([results] if results else []))
    print_table(f"{images:,} PNG files of {SIDE} x {SIDE} x 3, {len(STEPS)} trials of a small "
                f"CNN (stream, batch {BATCH}, steps {', '.join(map(str, STEPS))}, {EPOCHS} "
                "epochs), one worker (goals: peak footprint <= 1,536 MiB, < 10% more on the "
                "doubled folder, wall <= 1.10x the mean of the bare loops)", rows_out)
    return rows_out


def ratios(measured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A round's figures against its bare loops' mean wall time, and the doubled folder's
    peak against the single one's."""
    bares = [row["wall_s"] for row in measured if row["contender"].startswith("bare_fit")]
    reference = sum(bares) / len(bares)
    single = next(row for row in measured if row["contender"] == "steps_tuner")
    for row in measured:
        row["wall_ratio"] = row["wall_s"] / reference
        row["footprint_vs_single"] = row["footprint_mb"] / single["footprint_mb"]
    return measured

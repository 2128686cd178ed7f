"""A search on a 100 MiB array against a bare Keras loop doing the same work.

The case: 400,000 x 64 float32 features in an .npz (about 98 MiB), four trials of the same
small MLP. Contenders, each a fresh process tree timed from start to exit:

- `bare_fit`: one process loads the .npz, shuffles once, cuts the holdout and, per
  configuration, cuts the validation rows, scales on the training rows, fits with the
  trial's batch size and scores the holdout: what a careful hand-written loop does;
- `steps_tuner_wN`: `python -m tuning run` with N workers on the same grid.

A round runs the bare loop before, between and after the searches (`bare_fit_1`, a search,
`bare_fit_2`, ...), and each search's ratios are against the mean of the two bare runs on
either side of it: the machine's speed drifts by a fifth within minutes, and a reference
taken on one side only moves a ratio by as much. Each bare run gets the same treatment
against the bare runs beside it, which shows how far a ratio moves with no tool involved.

Memory is sampled every half second over the whole process tree and reported two ways:
`rss_sum_mb`, every process's resident set added up (a library page that two processes map
counts twice), and `footprint_mb`, what the machine really spends: the processes'
proportional set sizes added up (`Pss` in `/proc/PID/smaps_rollup`: a page that n processes
map counts 1/n in each, so TensorFlow's libraries and a memory-mapped data file count once).
Reading the rollup costs the machine a quarter of what reading every mapping did, so the
sampling slows the contenders less. The goal is <= 1.3 in memory and <= 1.10 in time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import ROOT, print_table, write_csv
from tuning.spec.tomlwrite import to_toml

ROWS, FEATURES = 400_000, 64
STEPS = (16, 32, 64, 128)
SPLIT = 0.2
EPOCHS = 2
SEED = 7

def write_case(folder: Path, rows: int = ROWS) -> Path:
    """The .npz: features from a seeded normal, a label that depends on two of them."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((rows, FEATURES), dtype=np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(0, 0.5, rows) > 0).astype(np.int64)
    path = folder / "case.npz"
    np.savez(path, x=x, y=y)
    return path


def bare(data: str, steps: tuple[int, ...] = STEPS, epochs: int = EPOCHS) -> None:
    """The bare loop, run in its own process (`python -c`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    with np.load(data) as arrays:
        x, y = arrays["x"], arrays["y"]
    order = np.random.default_rng(SEED).permutation(len(x))
    x, y = x[order], y[order]
    n_hold = round(len(x) * 0.2)
    x_hold, y_hold, x_pool, y_pool = x[:n_hold], y[:n_hold], x[n_hold:], y[n_hold:]
    del x, y
    n_train = len(x_pool) - int(np.ceil(len(x_pool) * SPLIT))
    for trial, steps_per_epoch in enumerate(steps):
        x_train, y_train = x_pool[:n_train], y_pool[:n_train]
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        scaled = (x_train - mean) / std
        keras.utils.set_random_seed(trial)
        model = keras.Sequential([keras.Input((FEATURES,)),
                                  keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        batch = -(-n_train // steps_per_epoch)
        model.fit(scaled, y_train, batch_size=batch, epochs=epochs,
                  validation_data=((x_pool[n_train:] - mean) / std, y_pool[n_train:]),
                  verbose=0)
        model.evaluate((x_hold - mean) / std, y_hold, batch_size=batch, verbose=0)
        del scaled, model
        keras.backend.clear_session()


@dataclass(frozen=True)
class TreeMemory:
    """What a set of processes holds, in MiB: every resident set added up, the proportional
    set sizes added up (the footprint), and the private part of that (`Pss_Anon`: what no
    file backs: heaps, TensorFlow's own data; the rest is mapped files, the data store's
    pages among them)."""

    rss_sum: float
    footprint: float
    private: float


def tree_memory(pids: list[int]) -> TreeMemory:
    rss_sum = pss_sum = anon_sum = 0
    for pid in pids:
        try:
            rss_sum += _kib(Path(f"/proc/{pid}/status").read_text(), "VmRSS:")
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # exited between listing and reading
        pss_sum += _kib(rollup, "Pss:")
        anon_sum += _kib(rollup, "Pss_Anon:")
    return TreeMemory(rss_sum / 1024, pss_sum / 1024, anon_sum / 1024)


def footprint(pids: list[int]) -> tuple[float, float]:
    """(rss_sum, footprint) in MiB for these processes; see the module's docstring."""
    memory = tree_memory(pids)
    return memory.rss_sum, memory.footprint


def _kib(text: str, key: str) -> int:
    for line in text.splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    return 0


def measure(command: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run `command`; its wall time and the peaks of the memory measures of its tree."""
    import psutil

    peaks = {"rss_sum_mb": 0.0, "footprint_mb": 0.0, "private_mb": 0.0}
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(child.pid)
        while not done.is_set():
            try:
                pids = [child.pid, *(p.pid for p in root.children(recursive=True))]
            except psutil.NoSuchProcess:
                return
            memory = tree_memory(pids)
            peaks["rss_sum_mb"] = max(peaks["rss_sum_mb"], memory.rss_sum)
            peaks["footprint_mb"] = max(peaks["footprint_mb"], memory.footprint)
            peaks["private_mb"] = max(peaks["private_mb"], memory.private)
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = child.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"{command[:4]} exited {child.returncode}:\n{stderr[-2000:]}")
    return {"wall_s": wall, **peaks}


def run(rows: int = ROWS, workers: tuple[int, ...] = (1, 2), repeats: int = 3,
        folder: Path | None = None, results: Path | None = None) -> list[dict[str, Any]]:
    """`repeats` rounds, each search between two bare loops and its ratios against their
    mean (see the module's docstring); writes data.csv and prints the rounds, then each
    contender's worst round: the goal holds only if every round meets it."""
    work = Path(folder or tempfile.mkdtemp(prefix="bench-data-"))
    work.mkdir(parents=True, exist_ok=True)
    data = write_case(work, rows)
    spec = work / "data.toml"
    spec.write_text(to_toml({
        "experiment": {"name": "data-bench", "seed": SEED},
        "data": {"source": f"npz:{data}", "holdout": 0.2, "test": 0},
        "budget": {"semantics": "partition", "epochs": EPOCHS},
        "search": {"tuner": "grid", "confirm_runs": 0,
                   "space": {"steps_per_epoch": list(STEPS), "validation_split": [SPLIT]}},
        "resources": {"device": "cpu"},
    }))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    bare_command = [sys.executable, "-c", f"from bench.data import bare; bare({str(data)!r})"]
    order: list[tuple[str, list[str]]] = [("bare_fit_1", bare_command)]
    for n in workers:
        order.append((f"steps_tuner_w{n}", [
            sys.executable, "-m", "tuning", "run", str(spec), "--out", str(work / f"run{n}"),
            "--fresh", "--workers", str(n)]))
        order.append((f"bare_fit_{len(order) // 2 + 1}", bare_command))
    rows_out = []
    for round_ in range(1, repeats + 1):
        measured = []
        for name, command in order:
            print(f"data: round {round_}/{repeats}: {name} ...", flush=True)
            measured.append({"round": round_, "contender": name, "rows": rows,
                             "trials": len(STEPS), **measure(command, env)})
        rows_out += bracketed(measured)
    write_csv("data", rows_out, *([results] if results else []))
    title = (f"A {rows:,} x {FEATURES} float32 search, {len(STEPS)} trials, against the mean "
             "of the bare Keras loops run just before and after it (goal: footprint <= 1.3x, "
             "wall <= 1.10x)")
    print_table(title, rows_out)
    print_table("Worst round of each contender", worst(rows_out))
    return rows_out


def bracketed(measured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ratios of each run of a round (bare, search, bare, search, ..., bare) against the
    mean of its references: a search's are the bare runs beside it; a bare run's are the
    bare runs before and after it (one, at either end)."""
    for i, row in enumerate(measured):
        step = 2 if row["contender"].startswith("bare_fit") else 1
        refs = [measured[j] for j in (i - step, i + step) if 0 <= j < len(measured)]
        for key in ("wall_s", "rss_sum_mb", "footprint_mb"):
            reference = sum(r[key] for r in refs) / len(refs)
            if key == "wall_s":
                row["reference_s"] = reference
            row[f"{key.removesuffix('_mb').removesuffix('_s')}_ratio"] = row[key] / reference
    return measured


def worst(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each contender's largest ratio of each kind over the rounds, and its median wall
    ratio."""
    out: dict[str, dict[str, Any]] = {}
    walls: dict[str, list[float]] = {}
    for row in rows:
        top = out.setdefault(row["contender"], {"contender": row["contender"], "rounds": 0})
        top["rounds"] += 1
        walls.setdefault(row["contender"], []).append(row["wall_ratio"])
        for key in ("wall_ratio", "rss_sum_ratio", "footprint_ratio"):
            top[key] = max(top.get(key, 0.0), row[key])
    for name, top in out.items():
        top["wall_ratio_median"] = float(np.median(walls[name]))
    return list(out.values())

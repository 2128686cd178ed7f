"""The search's data, prepared once and shared: one copy on disk that every process maps.

The search process reads the source, checks it, shuffles and cuts the holdout once, writes
the result here (`<run dir>/data/`) and keeps no rows of its own; each worker opens the same
files memory-mapped instead of loading, checking and shuffling its own copy. Pages of a
mapped file are shared by the processes that read them, and the operating system can drop
them under pressure, since they are already on disk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import mmap
import shutil
from pathlib import Path

import numpy as np

from tuning.data.dataset import Dataset

FOLDER = "data"
_META = "meta.json"
_HASH_CHUNK = 16 * 2**20


def write(dataset: Dataset, folder: Path) -> Path:
    """Save every field of `dataset`: arrays as .npy files, the rest in meta.json."""
    staging = folder.with_name(f".{folder.name}.writing")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    meta = {}
    for field in dataclasses.fields(dataset):
        value = getattr(dataset, field.name)
        if isinstance(value, np.ndarray):
            np.save(staging / f"{field.name}.npy", value, allow_pickle=False)
        else:
            meta[field.name] = list(value) if isinstance(value, tuple) else value
    (staging / _META).write_text(json.dumps(meta, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder


def fingerprint(dataset: Dataset) -> str:
    """A content hash of the prepared rows (every array: its dtype, shape and bytes, in
    field order): what a run was made from. Read a chunk at a time, so a memory-mapped or
    large dataset is never copied whole."""
    digest = hashlib.blake2b(digest_size=16)
    for field in dataclasses.fields(dataset):
        value = getattr(dataset, field.name)
        if not isinstance(value, np.ndarray):
            continue
        digest.update(f"{field.name}:{value.dtype.str}:{value.shape};".encode())
        rows = max(1, _HASH_CHUNK // max(1, value[:1].nbytes))
        for start in range(0, len(value), rows):
            digest.update(np.ascontiguousarray(value[start:start + rows]).data)
    return digest.hexdigest()


def open_prepared(folder: Path) -> Dataset:
    """The dataset written by `write`, its arrays memory-mapped read-only, their pages read
    in now when they fit easily in memory: a page first touched inside a trial would count
    in that trial's peak memory, as if the first trial needed the data's size more."""
    meta = json.loads((folder / _META).read_text())
    values = {}
    for field in dataclasses.fields(Dataset):
        if field.name in meta:
            value = meta[field.name]
            values[field.name] = tuple(value) if isinstance(value, list) else value
        else:
            values[field.name] = np.load(folder / f"{field.name}.npy", mmap_mode="r")
    arrays = [v for v in values.values() if isinstance(v, np.ndarray)]
    if sum(a.nbytes for a in arrays) < _available() / 4:
        for array in arrays:
            _touch(array)
    return Dataset(**values)


def _touch(array: np.ndarray) -> None:
    """Read one value on each page, which brings the page in."""
    flat = array.reshape(-1)
    if flat.size:
        flat[:: max(1, mmap.PAGESIZE // array.itemsize)].copy()
        flat[-1:].copy()


def _available() -> int:
    """Memory the system can give without swapping (MemAvailable), 0 where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0

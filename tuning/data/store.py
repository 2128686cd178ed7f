"""The search's data on disk, written once and shared: one copy that every process maps.

Preparation writes each chunk of rows as it arrives (`RowWriter`), in the dtype the source
holds them (images stay uint8), so the search process never holds the data whole; the labels,
the index sets that say which rows are pool, holdout and test, and what preparation applied
(meta.json) follow once the source is read. Each worker maps the same files read-only; pages
of a mapped file are shared by the processes that read them and the operating system can
drop them under pressure, since they are already on disk. Of features larger than
`KEEP_MAPPED_BYTES`, a process keeps mapped only the rows it is reading (`RowSource`).

A folder holds `x.npy` (every row, in the source's order), `y.npy` (labels, encoded),
`pool.npy`, `holdout.npy`, `test.npy` (row indices into both) and `meta.json`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import mmap
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from tuning.spec.machine import usable_cores

FOLDER = "data"
X_FILE = "x.npy"
META = "meta.json"
#: The arrays besides x: labels, then the index sets.
ARRAYS = ("y", "pool", "holdout", "test")
#: Bytes kept for the .npy header of x, written once the row count is known; a multiple of
#: 64 so the rows start aligned.
_HEADER_BYTES = 512
_HASH_CHUNK = 16 * 2**20
#: Bytes of an array hashed as one block by `fingerprint`.
_HASH_BLOCK = 64 * 2**20
#: Marks a hash made by `fingerprint` (hashes without it are `serial_fingerprint`'s).
FINGERPRINT_FORM = "b2blocks"
#: Features up to this size are read in at start-up and stay mapped; of larger ones a
#: process keeps mapped only the rows it is reading (`RowSource`).
KEEP_MAPPED_BYTES = 256 * 2**20


class RowSource:
    """Reads rows of x by index through the mapping. A small x (`KEEP_MAPPED_BYTES`) is read
    in at start-up and stays mapped; a larger one's pages are released from this process
    (`madvise(MADV_DONTNEED)`) after every read, so that a process holds the pages of the
    rows it is reading and no more, whatever the data's size. (The kernel maps whole blocks
    of the file around each row read, up to megabytes, so the pages cannot be counted by
    rows.) A page read again is mapped from the page cache, not read from disk: the page
    cache holds the store as it holds the image files a bare Keras loop reads."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        mapping = getattr(x, "_mmap", None) if x.nbytes > KEEP_MAPPED_BYTES else None
        self._mapping = mapping if hasattr(mmap, "MADV_DONTNEED") else None

    def take(self, rows: np.ndarray) -> np.ndarray:
        """x[rows], as an array of its own."""
        taken = np.asarray(self.x[np.asarray(rows)])
        self._release()
        return taken

    def digest(self, start: int, stop: int) -> bytes:
        """The blake2b digest of the bytes of rows start to stop, read in place."""
        block = np.ascontiguousarray(self.x[start:stop])
        digest = hashlib.blake2b(block.data, digest_size=16).digest()
        self._release()
        return digest

    def _release(self) -> None:
        """Drop this process's pages of a large x (another thread's reads fault them back
        in from the page cache)."""
        if self._mapping is not None:
            with contextlib.suppress(OSError, ValueError):  # closed meanwhile: nothing mapped
                self._mapping.madvise(mmap.MADV_DONTNEED)


class RowWriter:
    """Appends chunks of rows to an .npy file, then writes its header once the number of rows
    is known: memory held is one chunk, whatever the data's size."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self.dtype: np.dtype | None = None
        self.row_shape: tuple[int, ...] | None = None
        self._handle = path.open("wb")
        self._handle.write(b"\0" * _HEADER_BYTES)

    def append(self, x: np.ndarray) -> None:
        """Write `x` (rows of the first chunk's dtype and row shape; ValueError otherwise)."""
        if self.dtype is None:
            self.dtype, self.row_shape = x.dtype, tuple(x.shape[1:])
        elif x.shape[1:] != self.row_shape:
            raise ValueError(f"rows of shape {x.shape[1:]} after rows of shape {self.row_shape}")
        elif x.dtype != self.dtype:
            raise ValueError(f"rows of dtype {x.dtype} after rows of dtype {self.dtype}")
        np.ascontiguousarray(x).tofile(self._handle)
        self.rows += len(x)

    def close(self) -> None:
        """Write the header over the reserved bytes and close the file."""
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype or np.dtype(np.float32)),
                  "fortran_order": False, "shape": (self.rows, *(self.row_shape or (0,)))}
        text = repr(header).encode("latin1")
        room = _HEADER_BYTES - 10  # magic (6), version (2), header length (2)
        if len(text) + 1 > room:
            raise ValueError(f"an .npy header of {len(text)} bytes does not fit")
        self._handle.seek(0)
        self._handle.write(b"\x93NUMPY\x01\x00" + room.to_bytes(2, "little")
                           + text.ljust(room - 1) + b"\n")
        self._handle.close()

    def abandon(self) -> None:
        self._handle.close()

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        """Closed with its header when the block ends normally, abandoned otherwise."""
        if kind is None:
            self.close()
        else:
            self.abandon()


def finish(folder: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write the labels and index sets (`ARRAYS`) and meta.json beside x.npy."""
    for name in ARRAYS:
        np.save(folder / f"{name}.npy", arrays[name], allow_pickle=False)
    (folder / META).write_text(json.dumps(meta, indent=1))


def open_arrays(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """x memory-mapped read-only, the small arrays loaded, and meta.json. x's pages are read
    in now when they are small (`KEEP_MAPPED_BYTES`) and fit easily in memory: a page first
    touched inside a trial would count in that trial's peak memory, as if the first trial
    needed the data's size more."""
    meta = json.loads((folder / META).read_text())
    arrays = {"x": np.load(folder / X_FILE, mmap_mode="r")}
    for name in ARRAYS:
        arrays[name] = np.load(folder / f"{name}.npy")
    if arrays["x"].nbytes <= min(KEEP_MAPPED_BYTES, _available() / 4):
        _touch(arrays["x"])
    return arrays, meta


def move(source: Path, folder: Path) -> Path:
    """Put a store written elsewhere at `folder`, replacing what was there."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(folder))
    return folder


def disk_bytes(folder: Path) -> int:
    """What the store takes on disk."""
    return sum(path.stat().st_size for path in folder.iterdir() if path.is_file())


def fingerprint(dataset) -> str:
    """A content hash of the prepared rows (every array of the dataset: its dtype, shape and
    bytes, in field order): what a run was made from. Each array is hashed in blocks of
    `_HASH_BLOCK` bytes on every core at once, read in place from the mapping, and the
    blocks' digests in order make the hash: the same on any machine, and a large store is
    never copied. Marked with `FINGERPRINT_FORM`; `serial_fingerprint` is the earlier form."""
    digest = hashlib.blake2b(digest_size=16)
    with ThreadPoolExecutor(usable_cores()) as pool:  # hashlib lets go of the interpreter lock
        for name, value in _arrays(dataset):
            digest.update(f"{name}:{value.dtype.str}:{value.shape};".encode())
            source = RowSource(value)
            rows = max(1, _HASH_BLOCK // max(1, value[:1].nbytes))
            starts = range(0, len(value), rows)
            for block in pool.map(source.digest, starts, [start + rows for start in starts]):
                digest.update(block)
    return f"{FINGERPRINT_FORM}:{digest.hexdigest()}"


def serial_fingerprint(dataset) -> str:
    """The content hash recorded by runs made before `fingerprint`'s form: the arrays'
    bytes in one stream. Computed only to resume such a run."""
    digest = hashlib.blake2b(digest_size=16)
    for name, value in _arrays(dataset):
        digest.update(f"{name}:{value.dtype.str}:{value.shape};".encode())
        rows = max(1, _HASH_CHUNK // max(1, value[:1].nbytes))
        source = RowSource(value)
        for start in range(0, len(value), rows):
            chunk = source.take(np.arange(start, min(start + rows, len(value))))
            digest.update(np.ascontiguousarray(chunk).data)
    return digest.hexdigest()


def _arrays(dataset) -> Iterator[tuple[str, np.ndarray]]:
    for field in dataclasses.fields(dataset):
        value = getattr(dataset, field.name)
        if isinstance(value, np.ndarray):
            yield field.name, value


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

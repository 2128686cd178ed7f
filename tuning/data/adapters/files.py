"""What the file-based adapters share: the source's path and a cheap content key."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from tuning.spec.errors import UserError
from tuning.spec.schema import Spec


def source_path(spec: Spec) -> Path:
    """The path after the kind, relative to the spec file's folder unless absolute."""
    path = Path(spec.data.source.partition(":")[2])
    return path if path.is_absolute() else spec.base_dir / path


def source_file(spec: Spec) -> Path:
    """The source's one file, refused naming where it was looked for when it is missing."""
    path = source_path(spec)
    if not path.is_file():
        raise UserError("data.source", f"{spec.data.source.partition(':')[2]}: no such file "
                                       f"(looked in {path.parent})")
    return path


def files_key(paths: Iterable[str | Path]) -> str:
    """Absolute paths, sizes and modification times: a file rewritten is another content.
    (Absolute, not resolved: resolving every link of every path took seconds for a folder
    of 60,000 images, and a folder reached through another link is only a cache miss.)"""
    digest = hashlib.blake2b(digest_size=16)
    for path in paths:
        stat = os.stat(path)
        digest.update(f"{os.path.abspath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def sliced(x: np.ndarray, y: np.ndarray, chunk_rows: int):
    """Rows of arrays (mapped or not) in chunks; a mapped array is read only here."""
    from tuning.data.adapters.chunk import Chunk

    for start in range(0, len(y), chunk_rows):
        yield Chunk(np.array(x[start:start + chunk_rows]), np.array(y[start:start + chunk_rows]))

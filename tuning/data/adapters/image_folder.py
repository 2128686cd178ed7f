"""`images:<folder>` with `image_size = [h, w]`: one subfolder of image files per class.

Files are listed as Keras's `image_dataset_from_directory` lists them (classes in
alphabetical order, files sorted within each folder, subfolders followed), decoded with
Pillow a chunk at a time, converted to RGB, resized to `image_size`
(bilinear) and kept as uint8: 4 times smaller than float32, and the model gets the pixels as
they are. A large folder is decoded by one process per core (60,000 PNGs of 96 x 96 in about
10 s on 2 cores, against 20 s on threads). A file that cannot be decoded is skipped, and named
in one warning at the end."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tuning.data.adapters.checks import warn
from tuning.data.adapters.chunk import Chunk, rows_per_chunk
from tuning.data.adapters.files import files_key, source_path
from tuning.data.adapters.kind import Adapter
from tuning.spec.errors import UserError
from tuning.spec.schema import Spec

#: Image files Keras's directory loader reads.
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
#: Decoding threads, for a small folder.
THREADS = min(8, os.cpu_count() or 1)
#: Decoding processes at most, for a folder of at least PROCESS_FROM files.
MAX_PROCESSES = 8
PROCESS_FROM = 2000
#: Files decoded in one go by one thread or process.
PIECE = 256
#: Unreadable files named in the warning; the rest are counted.
NAMED = 5


class ImageFolder(Adapter):
    kind = "images"
    keys = frozenset({"image_size"})

    def check(self, spec: Spec) -> None:
        image_classes(source_path(spec))

    def rows(self, spec: Spec) -> int | None:
        return len(image_files(source_path(spec))[0])

    def content_key(self, spec: Spec) -> str | None:
        return files_key(image_files(source_path(spec))[0])

    def chunks(self, spec: Spec, chunk_rows: int) -> Iterator[Chunk]:
        folder = source_path(spec)
        files, labels = image_files(folder)
        size = tuple(spec.data.image_size)
        rows = rows_per_chunk(chunk_rows, size[0] * size[1] * 3)
        starts = range(0, len(files), rows)
        pieces = [[files[i:min(i + PIECE, start + rows)] for i in range(start, start + rows, PIECE)
                   if i < len(files)] for start in starts]
        skipped: list[Path] = []
        pool, decoders = _decoder(len(files))
        with pool:  # a chunk's pieces and two more for each decoder: about two chunks
            decoded = _decoded(pool, [p for chunk in pieces for p in chunk], size,
                               window=-(-rows // PIECE) + 2 * decoders)
            for start, chunk_pieces in zip(starts, pieces):
                parts = [next(decoded) for _ in chunk_pieces]
                x = np.concatenate([part_x for part_x, _ in parts])
                read = np.concatenate([ok for _, ok in parts])
                skipped += [f for f, ok in zip(files[start:start + rows], read) if not ok]
                if read.all():
                    yield Chunk(x, labels[start:start + rows])
                elif read.any():
                    yield Chunk(x[read], labels[start:start + rows][read])
        if skipped:
            names = ", ".join(str(f.relative_to(folder)) for f in skipped[:NAMED])
            more = f" and {len(skipped) - NAMED} more" if len(skipped) > NAMED else ""
            warn(str(folder), f"skipped {len(skipped)} unreadable image file(s): {names}{more}")


def _decoded(pool: Executor, pieces: list[list[Path]], size: tuple[int, int],
             window: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each piece of files decoded, in order; at most `window` pieces are decoded ahead of
    the one asked for, so the decoders keep working while a chunk is written, and memory
    stays bounded by the window."""
    ahead = iter(pieces)
    pending: deque[Future] = deque()
    while True:
        while len(pending) < window and (piece := next(ahead, None)) is not None:
            pending.append(pool.submit(decode_files, piece, size))
        if not pending:
            return
        yield pending.popleft().result()


def _decoder(files: int) -> tuple[Executor, int]:
    """Processes, one per usable core, for a folder large enough to repay starting them
    (Pillow holds the interpreter lock for much of a small PNG's decoding, so threads
    decoded no faster than one); else threads, in this process. With how many decode."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    processes = min(MAX_PROCESSES, cores or 1)
    if processes > 1 and files >= PROCESS_FROM:
        spawn = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(processes, mp_context=spawn), processes
    return ThreadPoolExecutor(THREADS), THREADS


def decode_files(paths: list[Path], size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The images at `paths` as (n, h, w, 3) uint8, and which of them could be read (a row
    that could not is left as zeros)."""
    x = np.zeros((len(paths), *size, 3), dtype=np.uint8)
    read = np.fromiter((_decode_into(path, out) for path, out in zip(paths, x)), dtype=bool,
                       count=len(paths))
    return x, read


def _decode_into(path: Path, out: np.ndarray) -> bool:
    """Decode the image into `out` ((h, w, 3) uint8); False when the file cannot be read."""
    from PIL import Image, UnidentifiedImageError

    height, width = out.shape[:2]
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode != "RGB":
                image = image.convert("RGB")
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR)
            out[...] = np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError):
        return False
    return True


def image_classes(folder: Path) -> list[str]:
    """The class subfolders that hold at least one image; checked without TensorFlow."""
    if not folder.is_dir():
        raise UserError("data.source", f"{folder}: no such folder")
    classes = sorted(
        d.name for d in folder.iterdir()
        if d.is_dir() and any(f.suffix.lower() in IMAGE_SUFFIXES for f in d.rglob("*"))
    )
    if len(classes) < 2:
        raise UserError(
            str(folder),
            f"needs one subfolder of images per class, two classes or more; found {len(classes)}",
        )
    return classes


def image_files(folder: Path) -> tuple[list[Path], np.ndarray]:
    """Every image file and its class index, in the order Keras's loader reads them."""
    files: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(image_classes(folder)):
        walk = sorted(os.walk(folder / name, followlinks=True), key=lambda entry: entry[0])
        for root, _, names in walk:
            found = [Path(root) / n for n in sorted(names) if n.lower().endswith(IMAGE_SUFFIXES)]
            files += found
            labels += [index] * len(found)
    return files, np.asarray(labels, dtype=np.int32)

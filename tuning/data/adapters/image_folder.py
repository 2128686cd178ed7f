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
import tempfile
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
from tuning.spec.machine import usable_cores
from tuning.spec.schema import Spec
from tuning.spec.sizes import format_size

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
        skipped: list[str] = []
        pool = _decoder(len(files))
        with pool, tempfile.TemporaryDirectory(prefix="steps-tuner-decoded-") as scratch:
            for start, x, read in _decoded(pool, files, size, rows, Path(scratch)):
                stop = start + len(read)
                skipped += [f for f, ok in zip(files[start:stop], read) if not ok]
                if read.all():
                    yield Chunk(x, labels[start:stop])
                elif read.any():
                    yield Chunk(x[read], labels[start:stop][read])
        if skipped:
            names = ", ".join(os.path.relpath(f, folder) for f in skipped[:NAMED])
            more = f" and {len(skipped) - NAMED} more" if len(skipped) > NAMED else ""
            warn(str(folder), f"skipped {len(skipped)} unreadable image file(s): {names}{more}")


def _decoded(pool: Executor, files: list[str], size: tuple[int, int], rows: int,
             scratch: Path) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Each chunk of `rows` files decoded, in order, as (its first row, its pixels, which
    files could be read). The decoders write the pixels into a file of the chunk's own in
    `scratch`, mapped here once they are done: the pixels cross from process to process
    without being pickled or copied (that cost this process a core's worth of copying for
    a large folder). The next chunk is decoded while this one is written, so the decoders
    keep working, and two chunks' files exist at most."""
    starts = iter(range(0, len(files), rows))
    pending: deque[tuple[int, Path, list[Future]]] = deque()
    while True:
        while len(pending) < 2 and (start := next(starts, None)) is not None:
            stop = min(start + rows, len(files))
            buffer = scratch / f"{start}.pixels"
            _claim(buffer, (stop - start) * size[0] * size[1] * 3)
            pending.append((start, buffer, [
                pool.submit(decode_files, files[i:min(i + PIECE, stop)], size, str(buffer),
                            i - start) for i in range(start, stop, PIECE)]))
        if not pending:
            return
        start, buffer, pieces = pending.popleft()
        read = np.concatenate([piece.result() for piece in pieces])
        x = np.memmap(buffer, dtype=np.uint8, mode="r", shape=(len(read), *size, 3))
        buffer.unlink()  # the mapping keeps the pages for as long as the rows are used
        yield start, x, read


def _claim(path: Path, size: int) -> None:
    """A file of `size` zero bytes with its disk blocks claimed now: a full disk is one
    line here, not a crash in a decoder writing to a mapped page."""
    try:
        with path.open("wb") as handle:
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(handle.fileno(), 0, size)
            else:
                handle.truncate(size)
    except OSError as exc:
        raise UserError(str(path.parent.parent), f"no room for a chunk of decoded images "
                        f"({format_size(size)}): {exc.strerror or exc}; set TMPDIR to a "
                        "folder with room") from None


def _decoder(files: int) -> Executor:
    """Processes, one per usable core, for a folder large enough to repay starting them
    (Pillow holds the interpreter lock for much of a small PNG's decoding, so threads
    decoded no faster than one); else threads, in this process."""
    processes = min(MAX_PROCESSES, usable_cores())
    if processes > 1 and files >= PROCESS_FROM:
        return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
    return ThreadPoolExecutor(THREADS)


def decode_files(paths: list[str], size: tuple[int, int], buffer: str,
                 first_row: int) -> np.ndarray:
    """Decode the images at `paths` into rows `first_row` on of the (rows, h, w, 3) uint8
    file `buffer`; returns which of them could be read (a row that could not stays zeros)."""
    row_bytes = size[0] * size[1] * 3
    x = np.memmap(buffer, dtype=np.uint8, mode="r+", offset=first_row * row_bytes,
                  shape=(len(paths), *size, 3))
    read = np.fromiter((_decode_into(path, out) for path, out in zip(paths, x)), dtype=bool,
                       count=len(paths))
    del x  # unmapped: the pages are in the file
    return read


def _decode_into(path: str, out: np.ndarray) -> bool:
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


def image_files(folder: Path) -> tuple[list[str], np.ndarray]:
    """Every image file (its path, as text: 60,000 `Path` objects took a second to make)
    and its class index, in the order Keras's loader reads them."""
    files: list[str] = []
    labels: list[int] = []
    for index, name in enumerate(image_classes(folder)):
        walk = sorted(os.walk(folder / name, followlinks=True), key=lambda entry: entry[0])
        for root, _, names in walk:
            found = [os.path.join(root, n) for n in sorted(names)
                     if n.lower().endswith(IMAGE_SUFFIXES)]
            files += found
            labels += [index] * len(found)
    return files, np.asarray(labels, dtype=np.int32)

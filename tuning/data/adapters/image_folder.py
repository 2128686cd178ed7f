"""`images:<folder>` with `image_size = [h, w]`: one subfolder of image files per class.

Files are listed as Keras's `image_dataset_from_directory` lists them (classes in
alphabetical order, files sorted within each folder, subfolders followed), decoded with
Pillow on a pool of threads a chunk at a time, converted to RGB, resized to `image_size`
(bilinear) and kept as uint8: 4 times smaller than float32, and the model gets the pixels as
they are. A file that cannot be decoded is skipped, and named in one warning at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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
#: Decoding threads: Pillow releases the interpreter lock while it decodes.
THREADS = min(8, os.cpu_count() or 1)
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
        height, width = spec.data.image_size
        rows = rows_per_chunk(chunk_rows, height * width * 3)
        skipped: list[Path] = []
        with ThreadPoolExecutor(THREADS) as pool:
            for start in range(0, len(files), rows):
                part = files[start:start + rows]
                x = np.empty((len(part), height, width, 3), dtype=np.uint8)  # decoded in place
                read = np.fromiter(pool.map(_decode_into, part, x), dtype=bool, count=len(part))
                skipped += [f for f, ok in zip(part, read) if not ok]
                if read.all():
                    yield Chunk(x, labels[start:start + rows])
                elif read.any():
                    yield Chunk(x[read], labels[start:start + rows][read])
        if skipped:
            names = ", ".join(str(f.relative_to(folder)) for f in skipped[:NAMED])
            more = f" and {len(skipped) - NAMED} more" if len(skipped) > NAMED else ""
            warn(str(folder), f"skipped {len(skipped)} unreadable image file(s): {names}{more}")


def _decode_into(path: Path, out: np.ndarray) -> bool:
    """Decode the image into `out` ((h, w, 3) uint8); False when the file cannot be read."""
    from PIL import Image, UnidentifiedImageError

    height, width = out.shape[:2]
    try:
        with Image.open(path) as image:
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
